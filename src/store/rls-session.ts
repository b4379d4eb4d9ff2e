import { escapeLiteral, type PoolClient, type QueryResult } from 'pg';
import type { DataSource, EntityManager } from 'typeorm';
import type { PostgresQueryRunner } from 'typeorm/driver/postgres/PostgresQueryRunner';
import { DatabaseUnavailableError } from '../common/errors/http-errors';
import { releasePostgresConnection } from './driver-internals';

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

/** The scope statement with bound parameters ($1 role, $2 user id, $3 space ids). */
export const RLS_SCOPE_SQL = scopeSettings('$1', '$2', '$3');

/** The scope statement with its values as escaped literals, to travel with BEGIN in one message. */
export function scopeStatement(role: string, userId: string, spaceIds: string): string {
  return scopeSettings(escapeLiteral(role), escapeLiteral(userId), escapeLiteral(spaceIds));
}

/**
 * One RLS transaction whose connection is taken from the pool only when the first
 * statement needs it. Parsing, validation and every other piece of JavaScript that runs
 * before that holds no connection and no open transaction. BEGIN and the scope statement
 * travel in one round trip (one simple-protocol message; the scope values are escaped
 * literals), and a parameterless first statement rides along with them.
 *
 * Errors are classified by where they happened: failing to get a connection, or the
 * connection dying under the transaction, is an outage (503), whatever its SQLSTATE.
 */
export class RlsSession {
  readonly queryRunner: PostgresQueryRunner;
  /** TypeORM's own connect: takes a connection from the pool. */
  private readonly acquire: () => Promise<PoolClient>;
  private client?: PoolClient;
  private opening?: Promise<PoolClient>;
  private riderRows?: unknown[];
  /** The connection died (error or end event, or a FATAL from the server). */
  private lost?: Error;

  constructor(
    dataSource: DataSource,
    private readonly beginSql: string,
  ) {
    this.queryRunner = dataSource.createQueryRunner() as PostgresQueryRunner;
    this.acquire = this.queryRunner.connect.bind(this.queryRunner) as () => Promise<PoolClient>;
    // TypeORM code (manager.query, a QueryStream on the connection) gets it through connect().
    this.queryRunner.connect = () => this.begin();
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
   * `name`: a prepared statement of the connection (parsed and planned once per connection).
   */
  async query<T>(sql: string, params?: unknown[], name?: string): Promise<T[]> {
    if (!this.opening && !name && (params === undefined || params.length === 0)) {
      await this.begin(sql);
      const rows = this.riderRows as T[];
      this.riderRows = undefined;
      return rows;
    }
    const client = await this.begin();
    return (await this.send(client, sql, params, name)).rows as T[];
  }

  /** Ends the transaction: COMMIT when `commit`, else ROLLBACK; nothing when it never began. */
  async end(commit: boolean): Promise<void> {
    if (!this.opening) return;
    const client = await this.opening;
    await this.send(client, commit ? 'COMMIT' : 'ROLLBACK');
    this.queryRunner.isTransactionActive = false;
  }

  /** Back to the pool; a connection that failed (or may still be in a transaction) is destroyed. */
  async release(broken?: Error): Promise<void> {
    this.client?.off('error', this.onLost).off('end', this.onLost);
    await releasePostgresConnection(this.queryRunner, broken ?? this.lost);
  }

  private readonly onLost = (error?: Error): void => {
    this.lost ??= error ?? new Error('connection ended');
  };

  private begin(rider?: string): Promise<PoolClient> {
    this.opening ??= this.open(rider);
    return this.opening;
  }

  private async open(rider?: string): Promise<PoolClient> {
    let client: PoolClient;
    try {
      client = await this.acquire();
    } catch (error) {
      throw new DatabaseUnavailableError({ cause: error });
    }
    this.client = client;
    client.on('error', this.onLost);
    client.on('end', this.onLost);
    const sql = rider ? `BEGIN; ${this.beginSql}; ${rider}` : `BEGIN; ${this.beginSql}`;
    const results = (await this.send(client, sql)) as unknown as QueryResult[];
    this.queryRunner.isTransactionActive = true;
    if (rider) this.riderRows = results[results.length - 1].rows;
    return client;
  }

  private async send(
    client: PoolClient,
    sql: string,
    params?: unknown[],
    name?: string,
  ): Promise<QueryResult> {
    try {
      return await (name
        ? client.query({ name, text: sql, values: params })
        : client.query(sql, params));
    } catch (error) {
      // pg reports a dead socket through the client's error event before it rejects the query.
      if (this.lost || endsSession(error)) {
        this.lost ??= error as Error;
        throw new DatabaseUnavailableError({ cause: error });
      }
      throw error;
    }
  }
}

/** A server report of severity FATAL or PANIC: the server ends the session (shutdown, terminated backend). */
function endsSession(error: unknown): boolean {
  const severity = (error as { severity?: unknown } | null)?.severity;
  return severity === 'FATAL' || severity === 'PANIC';
}
