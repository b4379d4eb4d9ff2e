import type { InsertNotification } from '../store/change.repository';

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
  /**
   * Called inside the push transaction: the event goes out only if it commits.
   * `notified`: the insert statement already sent notificationFor's NOTIFY.
   */
  abstract publishOnCommit(event: ChangeEvent, notified?: boolean): Promise<void>;

  /**
   * The NOTIFY that tells other instances, for the push's insert statement to send
   * itself (no round trip of its own); undefined when this bus needs none.
   */
  notificationFor(event: Omit<ChangeEvent, 'txId'>): InsertNotification | undefined {
    void event;
    return undefined;
  }

  abstract subscribe(listener: ChangeListener): () => void;
}
