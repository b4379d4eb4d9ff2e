import { Query, type Pool, type PoolClient } from 'pg';
import type { Writable } from 'stream';
import type QueryStream from 'pg-query-stream';
import type { DataSource } from 'typeorm';
import type { PostgresQueryRunner } from 'typeorm/driver/postgres/PostgresQueryRunner';

/**
 * Every place the store reaches past TypeORM's or pg's public API, so an
 * upgrade of either has one file to check.
 */

/** TypeORM's PostgresDriver keeps the pg Pool as `master`; undefined once the DataSource is closed. */
export function poolOf(dataSource: DataSource): Pool | undefined {
  if (!dataSource.isInitialized) return undefined;
  return (dataSource.driver as { master?: Pool }).master;
}

/**
 * TypeORM keeps private the pg-pool release overload that destroys a
 * connection (`release(error)`): a broken connection must not go back to the pool.
 */
export function releasePostgresConnection(
  queryRunner: PostgresQueryRunner,
  broken?: Error,
): Promise<void> {
  return queryRunner['releasePostgresConnection'](broken);
}

/**
 * pg-cursor's close() never calls back on a connection the server dropped (node-postgres
 * #2588), so the stream would never emit its error and its reader would wait forever. A
 * cursor that failed has nothing left to close: end the stream with the error at once.
 */
export function endOnFailedCursor(stream: QueryStream): QueryStream {
  const closeCursor = stream._destroy.bind(stream);
  stream._destroy = (error: Error, callback: (error?: Error | null) => void) =>
    stream.cursor.state === 'error' ? callback(error) : closeCursor(error, callback);
  return stream;
}

/**
 * node-postgres' pipeline mode (`pipeline: true` in a Client's config) is read on every
 * submit, so it can be switched per transaction. Our RLS sessions switch it on while they
 * hold a connection and off before it goes back to the pool: pg-query-stream (export)
 * refuses a pipelined connection. Only while no statement of the client is in flight.
 */
export function setPipelined(client: PoolClient, on: boolean): void {
  (client as unknown as { pipeline: boolean }).pipeline = on;
}

/**
 * Holds back the writes to the connection's socket until the current run of callbacks and
 * promise continuations is over, so statements issued together leave in one system call
 * (node-postgres writes each simple query, and each extended one, on its own). pg keeps
 * its socket as `connection.stream`.
 */
export function corkUntilNextTick(client: PoolClient): void {
  const socket = (client as unknown as { connection?: { stream?: Writable } }).connection?.stream;
  if (!socket || typeof socket.cork !== 'function') return;
  socket.cork();
  process.nextTick(() => socket.uncork());
}

/**
 * A `COPY … TO STDOUT` whose CopyData payloads go to `onData` as pg's parser reads them,
 * in the connection's order like any other statement, so it can be pipelined behind the
 * statements before it. pg-copy-streams cannot be: it takes the socket over when the
 * statement is written, while the answers to the statements before it are still to come.
 * This subclasses pg's Query (whose handleCopyData is a no-op) so that pg's own protocol
 * parser and dispatch are kept, and pipeline mode accepts it. `onData` gets a view of pg's
 * receive buffer, which pg reuses: it must copy what it keeps before it returns. A throw
 * from it fails the statement once PostgreSQL has finished it (the connection stays usable).
 */
export class CopyOutQuery extends Query {
  private failed?: unknown;

  constructor(
    text: string,
    private readonly onData: (chunk: Buffer) => void,
    done: (error?: unknown) => void,
  ) {
    super({ text, callback: (error: unknown) => done(error ?? undefined) } as never);
  }

  handleCopyData(message: { chunk: Buffer }): void {
    if (this.failed !== undefined) return;
    try {
      this.onData(message.chunk);
    } catch (error) {
      this.failed = error;
    }
  }

  handleReadyForQuery(connection: unknown): void {
    if (this.failed !== undefined) {
      (this as unknown as { handleError(e: unknown, c: unknown): void }).handleError(
        this.failed,
        connection,
      );
      return;
    }
    (
      Query.prototype as unknown as { handleReadyForQuery(c: unknown): void }
    ).handleReadyForQuery.call(this, connection);
  }
}
