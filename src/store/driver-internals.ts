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

/**
 * A text-format bind parameter given as pieces of UTF-8 bytes: the statement is sent with
 * them written to the socket as they are (PiecedParamQuery), where pg would copy a string
 * or Buffer parameter into its Bind message. For parameters of megabytes (a push's rows).
 */
export class TextPieces {
  readonly length: number;

  constructor(readonly pieces: readonly Buffer[]) {
    this.length = pieces.reduce((sum, piece) => sum + piece.length, 0);
  }
}

interface BindConfig {
  portal?: string;
  statement?: string;
  values?: unknown[];
  binary?: boolean;
  valueMapper?: (value: unknown, index: number) => unknown;
}

interface PgConnection {
  stream: Writable;
  bind(config: BindConfig): void;
}

/**
 * pg's Query, but its Bind message is written by writeBind, so TextPieces parameters go to
 * the socket without a copy. Everything else (Parse once per connection for a named
 * statement, Describe, Execute, Sync, the answers) is pg's own.
 */
export class PiecedParamQuery extends Query {
  prepare(connection: unknown): void {
    const pgConnection = connection as PgConnection;
    const own = pgConnection as Partial<PgConnection>;
    own.bind = (config: BindConfig) => writeBind(pgConnection.stream, config);
    try {
      (Query.prototype as unknown as { prepare(c: unknown): void }).prepare.call(this, connection);
    } finally {
      // pg's own bind again (the prototype's).
      delete own.bind;
    }
  }
}

/**
 * PostgreSQL's Bind message ('B', length, portal, statement, the parameters' format codes,
 * the parameters, the results' format code), as pg-protocol's serializer writes it, in
 * pieces: TextPieces go out as they are. pg corks the socket around a statement's messages,
 * so the pieces still leave in one write.
 */
function writeBind(stream: Writable, config: BindConfig): void {
  if (!stream.writable) return;
  const values = config.values ?? [];
  const mapped = values.map((value, i) =>
    value instanceof TextPieces || !config.valueMapper ? value : config.valueMapper(value, i),
  );
  const portal = Buffer.from(`${config.portal ?? ''}\0`);
  const statement = Buffer.from(`${config.statement ?? ''}\0`);
  const params: Buffer[] = [];
  const formats = Buffer.alloc(2 + 2 * mapped.length + 2);
  formats.writeInt16BE(mapped.length, 0);
  formats.writeInt16BE(mapped.length, 2 + 2 * mapped.length);
  let length = 4 + portal.length + statement.length + formats.length + 4;
  mapped.forEach((value, i) => {
    const size = Buffer.alloc(4);
    if (value === null || value === undefined) {
      size.writeInt32BE(-1, 0);
      params.push(size);
    } else if (value instanceof TextPieces) {
      size.writeInt32BE(value.length, 0);
      params.push(size, ...value.pieces);
      length += value.length;
    } else {
      const bytes = Buffer.isBuffer(value) ? value : Buffer.from(String(value));
      // pg sends a Buffer in binary format, anything else as text.
      if (Buffer.isBuffer(value)) formats.writeInt16BE(1, 2 + 2 * i);
      size.writeInt32BE(bytes.length, 0);
      params.push(size, bytes);
      length += bytes.length;
    }
    length += 4;
  });
  const head = Buffer.alloc(5);
  head[0] = 0x42;
  head.writeInt32BE(length, 1);
  const results = Buffer.alloc(4);
  results.writeInt16BE(1, 0);
  results.writeInt16BE(config.binary ? 1 : 0, 2);
  for (const part of [head, portal, statement, formats, ...params, results]) stream.write(part);
}
