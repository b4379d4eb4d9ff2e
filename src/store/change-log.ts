import { Injectable, Logger } from '@nestjs/common';
import { callEach } from '../common/call-each';
import { ChangeRepository, InsertedBatch, NewChange } from './change.repository';
import { TransactionHost } from './transaction-host';

/**
 * What one committed transaction appended for one app and writer: the facts a live hint
 * carries, never record data.
 */
export interface CommittedChange {
  appId: string;
  userId: string;
  /** The writing client: its own streams and sockets are not woken by it. */
  clientId: string;
  /**
   * Tables written. Empty means "something changed in this app": a hint trimmed to fit a
   * notification; receivers treat it as every table.
   */
  tables: string[];
  /** Spaces of the rows; their members are told too. */
  spaceIds: string[];
  /** The writing transaction: a reader sees its rows once the horizon has passed it. */
  txId: string;
  /** When it committed (ms since the epoch, the writer's clock); unknown for rows found by reading the log. */
  committedAt?: number;
}

export type CommitListener = (changes: readonly CommittedChange[]) => void;

/**
 * The one way changes are appended to the log (pushes and restores), and the report of
 * what each transaction appended, made once it has committed: a rolled-back transaction
 * reports nothing. Who turns reports into hints registers with `onCommit`.
 */
@Injectable()
export class ChangeLog {
  private readonly logger = new Logger('ChangeLog');
  private readonly listeners = new Set<CommitListener>();

  constructor(
    private readonly changes: ChangeRepository,
    private readonly tx: TransactionHost,
  ) {}

  onCommit(listener: CommitListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Appends `rows` in the current transaction, in one statement sent at once (a statement
   * issued right after this call shares its round trip). Rows whose event id is stored
   * already are skipped; when none is new, nothing is reported. `writer`: the client id
   * the report names instead of the rows' own (a restore, which no connected client wrote).
   */
  async append(rows: readonly NewChange[], writer?: string): Promise<InsertedBatch> {
    this.claim(rows);
    const stored = await this.changes.insertBatch(rows);
    if (stored.inserted > 0) {
      const committed = summarize(rows, this.tx.scope.userId, stored.txId.toString(), writer);
      this.tx.afterCommit(() => this.report(committed));
    }
    return stored;
  }

  /**
   * Claims the scopes of `rows` (their user's, their spaces) for the current transaction; a
   * caller whose transaction writes something else first (an idempotency key) claims before
   * that. append claims too.
   */
  claim(rows: readonly NewChange[]): void {
    const spaces = new Set<string>();
    for (const row of rows) if (row.spaceId !== null) spaces.add(row.spaceId);
    this.tx.claimScopes([...spaces]);
  }

  private report(committed: CommittedChange[]): void {
    const committedAt = Date.now();
    for (const change of committed) change.committedAt = committedAt;
    callEach(this.listeners, (listener) => listener(committed), this.logger, 'commit listener');
  }
}

/** One report per app and writer, with the tables and spaces its rows touched. */
function summarize(
  rows: readonly NewChange[],
  userId: string,
  txId: string,
  writer: string | undefined,
): CommittedChange[] {
  const byWriter = new Map<
    string,
    { tables: Set<string>; spaceIds: Set<string>; row: NewChange }
  >();
  for (const row of rows) {
    const clientId = writer ?? row.clientId;
    const key = `${row.appId}\u0000${clientId}`;
    let group = byWriter.get(key);
    if (!group) byWriter.set(key, (group = { tables: new Set(), spaceIds: new Set(), row }));
    group.tables.add(row.tableName);
    if (row.spaceId !== null) group.spaceIds.add(row.spaceId);
  }
  return [...byWriter.values()].map(({ tables, spaceIds, row }) => ({
    appId: row.appId,
    userId,
    clientId: writer ?? row.clientId,
    tables: [...tables],
    spaceIds: [...spaceIds],
    txId,
  }));
}
