import { Injectable } from '@nestjs/common';
import { AsyncLocalStorage } from 'async_hooks';
import type { EntityManager } from 'typeorm';

/** Who the current transaction acts for; set once per transaction, read by repositories. */
export interface RlsScope {
  userId: string;
  spaceIds: readonly string[];
}

/** The connection side of a transaction: begun (BEGIN and the scope statement) on its first statement. */
export interface TransactionSession {
  /** TypeORM's view of the transaction; its first query begins it too. */
  readonly manager: EntityManager;
  query<T>(sql: string, params?: unknown[], name?: string): Promise<T[]>;
  /** A `COPY … TO STDOUT`, its data handed to `onData` as it arrives. */
  copyOut(sql: string, onData: (chunk: Buffer) => void): Promise<void>;
  /** Sends COMMIT behind the statements issued so far, without waiting; no statement may follow. */
  commitNow(): void;
  /** Claims the scopes of rows about to be written (with BEGIN when not begun yet). */
  claimScopes(userId: string, spaceIds: readonly string[]): void;
}

interface ActiveTransaction {
  session: TransactionSession;
  scope: RlsScope;
  afterCommit: (() => void)[];
}

/**
 * Carries the current RLS-scoped transaction through async calls, from the
 * interceptor (or an SSE read, backup export and import) down to the
 * repositories. The WebSocket gateway opens none: it reads no user data.
 */
@Injectable()
export class TransactionHost {
  private readonly storage = new AsyncLocalStorage<ActiveTransaction>();

  /** The request's transaction. Throws when called outside one, so no query can escape RLS. */
  get manager(): EntityManager {
    return this.current().session.manager;
  }

  /**
   * One statement in the request's transaction; returns its rows. The transaction
   * takes its connection and begins on the first statement, so no connection is held
   * while the request runs JavaScript before it. A first statement without parameters
   * travels in the same round trip as BEGIN and the scope settings. `name` makes it a
   * prepared statement of the connection: only for constant SQL text.
   */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[], name?: string): Promise<T[]> {
    return this.current().session.query<T>(sql, params, name);
  }

  /**
   * A `COPY (…) TO STDOUT` in the request's transaction, sent at once behind the statements
   * issued before it (one round trip with them). COPY takes no parameters: the SQL must be
   * built with sqlLiteral (binary-copy.ts). `onData` gets each payload as a view of the
   * driver's buffer, valid only until it returns.
   */
  copyOut(sql: string, onData: (chunk: Buffer) => void): Promise<void> {
    return this.current().session.copyOut(sql, onData);
  }

  /**
   * Ends the transaction with the statements issued so far: COMMIT leaves in their write,
   * so the answer arrives with theirs (one round trip). It is still awaited (and must
   * succeed) before the response; a statement issued after it is refused, never run
   * outside the transaction. For handlers whose last statements are issued together; it
   * does nothing unless the transaction's owner allows it (runAsUser's `commitEarly`: the
   * request interceptor does), so a caller around the handler can still roll back.
   */
  commitNow(): void {
    this.current().session.commitNow();
  }

  /**
   * Claims the scopes of rows the transaction will write, the user's and `spaceIds`
   * (docs/cursor.md): readers of those scopes wait for it, nobody else does. Must come
   * before the transaction's first write; before its first statement, it travels with BEGIN.
   */
  claimScopes(spaceIds: readonly string[]): void {
    const tx = this.current();
    tx.session.claimScopes(tx.scope.userId, spaceIds);
  }

  get scope(): RlsScope {
    return this.current().scope;
  }

  get active(): boolean {
    return this.storage.getStore() !== undefined;
  }

  /** Runs `callback` once the current transaction has committed; never if it rolls back. */
  afterCommit(callback: () => void): void {
    this.current().afterCommit.push(callback);
  }

  /** Runs `fn` in the transaction; `afterCommit` collects the callbacks due after COMMIT. */
  run<T>(
    session: TransactionSession,
    scope: RlsScope,
    afterCommit: (() => void)[],
    fn: () => Promise<T>,
  ): Promise<T> {
    return this.storage.run({ session, scope, afterCommit }, fn);
  }

  private current(): ActiveTransaction {
    const tx = this.storage.getStore();
    if (!tx)
      throw new Error(
        'No RLS transaction is active: wrap the call in RlsTransactionRunner.runAsUser',
      );
    return tx;
  }
}
