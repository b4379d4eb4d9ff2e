/** "Something changed": what a committed push tells listeners (SSE streams, WebSockets). */
export interface ChangeEvent {
  appId: string;
  userId: string;
  /** The pushing client, so its own streams are not woken by its own push. */
  clientId: string;
  /**
   * Tables the push wrote. Empty means "something changed in this app": a push
   * touching too many tables to name within a NOTIFY payload; treat it as every table.
   */
  tables: string[];
  /** Spaces the pushed rows belong to; their members are told too. */
  spaceIds: string[];
  /** Transaction that wrote the rows: a reader sees them once its horizon has passed it. */
  txId: string;
}

export type ChangeListener = (event: ChangeEvent) => void;

/**
 * Delivers change events to every listener once the push has committed.
 * Swappable through DI: InProcessChangeBus (one instance) or PostgresChangeBus
 * (LISTEN/NOTIFY, every instance on the database; the default).
 */
export abstract class ChangeBus {
  /** Called inside the push transaction: the event goes out only if it commits. */
  abstract publishOnCommit(event: ChangeEvent): Promise<void>;

  abstract subscribe(listener: ChangeListener): () => void;
}
