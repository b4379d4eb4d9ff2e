/** "Something changed": what a committed push tells listeners (SSE streams, WebSockets). */
export interface ChangeEvent {
  appId: string;
  userId: string;
  /** The pushing client, so its own streams are not woken by its own push. */
  clientId: string;
  tables: string[];
  /** Spaces the pushed rows belong to; their members are told too. */
  spaceIds: string[];
  /** Transaction that wrote the rows: a reader sees them once its horizon has passed it. */
  txId: string;
}

export type ChangeListener = (event: ChangeEvent) => void;

/**
 * Delivers change events to every listener once the push has committed.
 * Swappable through DI (in-process for one instance, PostgreSQL NOTIFY across instances).
 */
export abstract class ChangeBus {
  /** Called inside the push transaction: the event goes out only if it commits. */
  abstract publishOnCommit(event: ChangeEvent): Promise<void>;

  abstract subscribe(listener: ChangeListener): () => void;
}
