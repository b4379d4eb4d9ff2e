import { escapeLiteral, type PoolClient, type QueryResult } from 'pg';
import type { DataSource, EntityManager } from 'typeorm';
import type { PostgresQueryRunner } from 'typeorm/driver/postgres/PostgresQueryRunner';
import { DatabaseUnavailableError } from '../common/errors/http-errors';
import {
  CopyOutQuery,
  corkUntilNextTick,
  PiecedParamQuery,
  poolOf,
  setPipelined,
  TextPieces,
} from './driver-internals';

/**
 * Settings of every user-data transaction, transaction-local: the unprivileged role and the
 * caller's scope (user id, comma-separated space ids), given as SQL expressions.
 *
 * RLS ANDs an OR of two policies into every query, which the planner cannot estimate: it
 * then reads all of a user's rows (bitmap or sequential scan) and sorts them, where a page
 * needs an ordered index scan that stops after LIMIT rows. These transactions only run such
 * index-shaped statements, so the three plan types are discouraged for them alone. That
 * inflates plan costs past jit_above_cost, and JIT compiling a millisecond query costs
 * hundreds of milliseconds: it is off too.
 */
function scopeSettings(role: string, userId: string, spaceIds: string): string {
  return `SELECT set_config('role', ${role}, true),
       set_config('app.current_user_id', ${userId}, true),
       set_config('app.current_user_space_ids', ${spaceIds}, true),
       set_config('enable_bitmapscan', 'off', true),
       set_config('enable_seqscan', 'off', true),
       set_config('enable_sort', 'off', true),
       set_config('jit', 'off', true)`;
}

/**
 * Claims a writer's scopes (migration ScopeClaims, docs/cursor.md): before the transaction has
 * an id, so readers of those scopes, and only they, wait for it.
 */
export function claimStatement(userId: string, spaceIds: readonly string[]): string {
  return `SELECT sync_claim_scopes(${escapeLiteral(userId)}, ARRAY[${spaceIds
    .map((id) => escapeLiteral(id))
    .join(', ')}]::text[])`;
}

/** The scope statement with bound parameters ($1 role, $2 user id, $3 space ids). */
export const RLS_SCOPE_SQL = scopeSettings('$1', '$2', '$3');

/** The scope statement with its values as escaped literals, to travel with BEGIN in one message. */
export function scopeStatement(role: string, userId: string, spaceIds: string): string {
  return scopeSettings(escapeLiteral(role), escapeLiteral(userId), escapeLiteral(spaceIds));
}

/**
 * One RLS transaction whose connection is taken from the pool only when the first
 * statement needs it. Parsing, validation and every other piece of JavaScript that runs
 * before that holds no connection and no open transaction.
 *
 * Statements are pipelined: BEGIN with the scope statement (one simple-protocol message;
 * the scope values are escaped literals) goes out at once, and every statement issued
 * after it is written behind it without waiting for the answers before. Statements issued
 * together (a push's insert and its answer page) share one network round trip; PostgreSQL
 * runs them in order. In a pipeline a failed statement aborts the transaction, and the
 * statements behind it answer "transaction aborted": each of them reports the first
 * failure instead, and a COMMIT that PostgreSQL answers with ROLLBACK is an error, never
 * a success.
 *
 * Errors are classified by where they happened: failing to get a connection, or the
 * connection dying under the transaction, is an outage (503), whatever its SQLSTATE.
 */
export class RlsSession {
  /** TypeORM's view of the transaction, made only for code that asks for it (export, CLI). */
  private runner?: PostgresQueryRunner;
  private client?: PoolClient;
  private released = false;
  private opening?: Promise<PoolClient>;
  /** The last statement sent, settled either way: once it is answered, so is every earlier one. */
  private last: Promise<unknown> = Promise.resolve();
  /** The first statement of the transaction that failed: the cause of every later failure. */
  private firstFailure?: unknown;
  private pipelined = false;
  /** COMMIT or ROLLBACK, once sent. */
  private ending?: Promise<QueryResult>;
  private endedWith?: 'COMMIT' | 'ROLLBACK';
  /** The connection died (error or end event, or a FATAL from the server). */
  private lost?: Error;
  /** Scopes claimed (`u:<id>`, `s:<id>`), and claims still to travel with BEGIN. */
  private readonly claimed = new Set<string>();
  private claimsWithBegin = '';

  /**
   * `commitEarly`: the owner of the transaction lets its handler send COMMIT with its last
   * statements (commitNow); otherwise commitNow does nothing and COMMIT follows the handler.
   */
  constructor(
    private readonly dataSource: DataSource,
    private readonly beginSql: string,
    private readonly commitEarly = false,
  ) {}

  /**
   * A TypeORM QueryRunner on this transaction's connection. Made on first use only: the
   * request path never needs one, and making one (its EntityManager and all) is most of
   * what TypeORM would cost a request.
   */
  get queryRunner(): PostgresQueryRunner {
    if (!this.runner) {
      this.runner = this.dataSource.createQueryRunner() as PostgresQueryRunner;
      // TypeORM code (manager.query, a QueryStream on the connection) gets it through
      // connect(), unpipelined: a cursor keeps a portal open across round trips.
      this.runner.connect = () => this.unpipelined();
      this.runner.isTransactionActive = this.begun && this.endedWith === undefined;
    }
    return this.runner;
  }

  get manager(): EntityManager {
    return this.queryRunner.manager;
  }

  get begun(): boolean {
    return this.client !== undefined;
  }

  /** Why the connection is gone, if it is. */
  get connectionLost(): Error | undefined {
    return this.lost;
  }

  /**
   * One statement in the transaction (begun first if it is not yet); returns its rows.
   * Statements are sent in the order of the calls, each without waiting for the one before.
   * `name`: a prepared statement of the connection (parsed and planned once per connection).
   */
  async query<T>(sql: string, params?: unknown[], name?: string): Promise<T[]> {
    // After COMMIT a statement would run outside the transaction and its RLS settings.
    if (this.endedWith)
      throw new Error(`statement after ${this.endedWith}: the transaction has ended`);
    const client = await this.begin();
    return (await this.send(client, sql, params, name)).rows as T[];
  }

  /**
   * A `COPY … TO STDOUT` in the transaction, pipelined like any statement; `onData` gets
   * each CopyData payload as it is read (a view of pg's buffer: see CopyOutQuery). Resolves
   * once PostgreSQL has finished the statement.
   */
  async copyOut(sql: string, onData: (chunk: Buffer) => void): Promise<void> {
    if (this.endedWith)
      throw new Error(`statement after ${this.endedWith}: the transaction has ended`);
    const client = await this.begin();
    const before = this.last;
    const sent = new Promise<void>((resolve, reject) => {
      void client.query(
        new CopyOutQuery(sql, onData, (error) => (error === undefined ? resolve() : reject(error))),
      );
    }).catch(async (error: unknown) => {
      // pg settles its own queries a few promise steps later than this one: the statement
      // before must have reported its failure first, so that "transaction aborted" names it.
      await before;
      throw this.failure(error);
    });
    this.last = sent.catch(() => undefined);
    return sent;
  }

  /**
   * Claims the scopes of rows this transaction is about to write: with BEGIN when it has not
   * begun, else as the next statement (refused by the database once the transaction has an
   * id: the claim must precede the first write). Scopes claimed already are skipped.
   */
  claimScopes(userId: string, spaceIds: readonly string[]): void {
    const user = this.claimed.has(`u:${userId}`) ? [] : [userId];
    const spaces = [...new Set(spaceIds)].filter((id) => !this.claimed.has(`s:${id}`));
    if (user.length === 0 && spaces.length === 0) return;
    this.claimed.add(`u:${userId}`);
    for (const id of spaces) this.claimed.add(`s:${id}`);
    const statement = claimStatement(userId, spaces);
    if (!this.opening) this.claimsWithBegin += `; ${statement}`;
    else this.query(statement).catch(() => undefined);
  }

  /** COMMIT right behind the statements issued so far (see TransactionHost.commitNow). */
  commitNow(): void {
    if (!this.commitEarly || this.endedWith || !this.opening) return;
    this.endedWith = 'COMMIT';
    this.ending = this.opening.then((client) => this.send(client, 'COMMIT'));
    this.ending.catch(() => undefined);
  }

  /** Whether COMMIT was sent already (commitNow): the transaction can no longer roll back. */
  get committing(): boolean {
    return this.endedWith === 'COMMIT';
  }

  /**
   * Ends the transaction: COMMIT when `commit`, else ROLLBACK; nothing when it never began.
   * Throws when COMMIT rolled back (a statement of the transaction had failed). Once
   * commitNow sent COMMIT, its answer is what counts, whatever `commit` says.
   */
  async end(commit: boolean): Promise<void> {
    if (!this.opening) return;
    const client = await this.opening;
    if (!this.ending) {
      this.endedWith = commit ? 'COMMIT' : 'ROLLBACK';
      this.ending = this.send(client, this.endedWith);
    }
    const result = await this.ending;
    if (this.runner) this.runner.isTransactionActive = false;
    if (this.endedWith === 'COMMIT' && result.command !== 'COMMIT') {
      throw this.firstFailure ?? new TransactionRolledBackError(result.command);
    }
  }

  /** Back to the pool; a connection that failed (or may still be in a transaction) is destroyed. */
  async release(broken?: Error): Promise<void> {
    const client = this.client;
    if (!client || this.released) return;
    this.released = true;
    client.off('error', this.onLost).off('end', this.onLost);
    // Every statement was answered (the transaction ended), or the connection is destroyed.
    if (this.pipelined) setPipelined(client, false);
    if (this.runner) this.runner.isReleased = true;
    // pg-pool destroys a connection released with an error instead of pooling it.
    client.release(broken ?? this.lost);
  }

  private readonly onLost = (error?: Error): void => {
    this.lost ??= error ?? new Error('connection ended');
  };

  private begin(): Promise<PoolClient> {
    this.opening ??= this.open();
    return this.opening;
  }

  /** The connection for code that is not pipelined, once the statements sent so far are answered. */
  private async unpipelined(): Promise<PoolClient> {
    const client = await this.begin();
    await this.last;
    if (this.pipelined) {
      setPipelined(client, false);
      this.pipelined = false;
    }
    return client;
  }

  private async open(): Promise<PoolClient> {
    let client: PoolClient;
    try {
      const pool = poolOf(this.dataSource);
      if (!pool) throw new Error('the connection pool is closed');
      client = await pool.connect();
    } catch (error) {
      throw new DatabaseUnavailableError({ cause: error });
    }
    this.client = client;
    client.on('error', this.onLost);
    client.on('end', this.onLost);
    setPipelined(client, true);
    this.pipelined = true;
    // BEGIN and the statements issued with the first one leave in one write.
    corkUntilNextTick(client);
    // Not awaited: a failure aborts the transaction, so the statements behind it report it.
    void this.send(client, `BEGIN; ${this.beginSql}${this.claimsWithBegin}`).catch(() => undefined);
    if (this.runner) this.runner.isTransactionActive = true;
    return client;
  }

  private send(
    client: PoolClient,
    sql: string,
    params?: unknown[],
    name?: string,
  ): Promise<QueryResult> {
    const sent = (
      params?.some((p) => p instanceof TextPieces)
        ? piecedQuery(client, sql, params, name)
        : name
          ? client.query({ name, text: sql, values: params })
          : client.query(sql, params)
    ).catch((error: unknown) => {
      throw this.failure(error);
    });
    this.last = sent.catch(() => undefined);
    return sent;
  }

  private failure(error: unknown): unknown {
    // pg reports a dead socket through the client's error event before it rejects the query.
    if (this.lost || endsSession(error)) {
      this.lost ??= error as Error;
      return new DatabaseUnavailableError({ cause: error });
    }
    if (this.firstFailure !== undefined && sqlState(error) === IN_FAILED_TRANSACTION) {
      return this.firstFailure;
    }
    this.firstFailure ??= error;
    return error;
  }
}

/** A statement with a TextPieces parameter: pg's own query() would copy it into its Bind message. */
function piecedQuery(
  client: PoolClient,
  text: string,
  values: unknown[],
  name?: string,
): Promise<QueryResult> {
  return new Promise((resolve, reject) => {
    void client.query(
      new PiecedParamQuery({
        name,
        text,
        values,
        callback: (error: Error | null, result: QueryResult) =>
          error ? reject(error) : resolve(result),
      } as never),
    );
  });
}

/** SQLSTATE of a statement sent after an earlier one of the transaction failed. */
const IN_FAILED_TRANSACTION = '25P02';

/** COMMIT answered ROLLBACK, though no statement's failure was seen (it was sent before it). */
export class TransactionRolledBackError extends Error {
  constructor(command: string) {
    super(`COMMIT was answered with ${command}: the transaction was rolled back`);
  }
}

function sqlState(error: unknown): unknown {
  return (error as { code?: unknown } | null)?.code;
}

/** A server report of severity FATAL or PANIC: the server ends the session (shutdown, terminated backend). */
function endsSession(error: unknown): boolean {
  const severity = (error as { severity?: unknown } | null)?.severity;
  return severity === 'FATAL' || severity === 'PANIC';
}
