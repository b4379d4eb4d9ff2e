import {
  BeforeApplicationShutdown,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { DatabaseConfig } from '../config/app-config';
import { databaseUrlOf } from '../store/database';
import { HINT_CHANNEL } from './change-event-codec';
import { callEach } from '../common/call-each';
import { errorMessage } from '../common/error-message';

/** The LISTEN connection's name in pg_stat_activity, so operators (and tests) can find it. */
export const LISTENER_APPLICATION_NAME = 'sync-server-listener';

const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 5_000;
/** A silently dead TCP connection would otherwise only show up when the OS gives up on it. */
const PROBE_INTERVAL_MS = 30_000;
const QUERY_TIMEOUT_MS = 10_000;

export type PayloadHandler = (payload: string) => void;

/**
 * The one dedicated connection per instance that LISTENs for hints of other
 * instances, and sends this instance's (`notify`). Not from the pool: a pooled
 * connection is handed to other work and would lose the LISTEN, and a NOTIFY
 * there would wait behind requests. When it breaks (database restart,
 * pg_terminate_backend, network) it is re-opened with backoff and LISTEN is
 * re-issued. Notifications sent while it is down are not replayed: SSE
 * streams read again once it is back (onConnect), and the log sweep finds
 * what they were about.
 */
@Injectable()
export class NotificationListener implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('NotificationListener');
  private readonly handlers = new Set<PayloadHandler>();
  private readonly connectHandlers = new Set<() => void>();
  private readonly closeHandlers = new Set<() => Promise<void>>();
  private turn: Promise<void> = Promise.resolve();
  /** Clients already given up on: their late 'error'/'end' events must not schedule another retry. */
  private readonly dropped = new WeakSet<Client>();
  private client?: Client;
  private connecting?: Promise<void>;
  private retryTimer?: NodeJS.Timeout;
  private probeTimer?: NodeJS.Timeout;
  private failures = 0;
  private stopped = false;

  constructor(
    private readonly dataSource: DataSource,
    private readonly database: DatabaseConfig,
  ) {}

  /** True while the connection is up and LISTENing. */
  get listening(): boolean {
    return this.client !== undefined;
  }

  onPayload(handler: PayloadHandler): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  /**
   * Called each time LISTEN is (re-)established: what was notified while the
   * connection was down is gone, so listeners that follow notifications read again.
   */
  onConnect(handler: () => void): () => void {
    this.connectHandlers.add(handler);
    return () => this.connectHandlers.delete(handler);
  }

  /**
   * Sends each payload on the channel, in one statement: one transaction, so one commit
   * (and one pass of PostgreSQL's notify lock) for all of them. Throws while the
   * connection is down.
   */
  async notify(payloads: readonly string[]): Promise<void> {
    const client = this.client;
    if (!client) throw new Error('the notification connection is down');
    await this.inTurn(() =>
      client.query('SELECT pg_notify($1, p) FROM unnest($2::text[]) p', [HINT_CHANNEL, payloads]),
    );
  }

  /**
   * How many other listening connections (other instances, `npm run backup`) this database
   * has: with none, hints have nobody to go to. Throws while the connection is down.
   */
  async otherListeners(): Promise<number> {
    const client = this.client;
    if (!client) throw new Error('the notification connection is down');
    const { rows } = await this.inTurn(() =>
      client.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND application_name = $1 AND pid <> pg_backend_pid()`,
        [LISTENER_APPLICATION_NAME],
      ),
    );
    return rows[0].n;
  }

  /** One statement at a time on the connection: pg would queue them, and it deprecates that. */
  private inTurn<T>(statement: () => Promise<T>): Promise<T> {
    const run = this.turn.then(statement, statement);
    this.turn = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /** Awaited at shutdown while the connection is still open (to send what is pending). */
  beforeClose(handler: () => Promise<void>): void {
    this.closeHandlers.add(handler);
  }

  /** The first attempt is awaited so an instance hears pushes from the moment it serves. */
  async onApplicationBootstrap(): Promise<void> {
    await this.connect();
    this.probeTimer = setInterval(() => void this.probe(), PROBE_INTERVAL_MS).unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    for (const handler of this.closeHandlers) await handler().catch(() => undefined);
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.probeTimer);
    await this.connecting;
    const client = this.client;
    this.client = undefined;
    if (client) {
      this.dropped.add(client);
      await client.end().catch(() => undefined);
    }
  }

  private connect(): Promise<void> {
    this.connecting = this.open().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private async open(): Promise<void> {
    const client = new Client({
      connectionString: databaseUrlOf(this.dataSource),
      application_name: LISTENER_APPLICATION_NAME,
      connectionTimeoutMillis: this.database.connectTimeoutMs,
      query_timeout: QUERY_TIMEOUT_MS,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
    });
    client.on('notification', ({ channel, payload }) => {
      if (channel === HINT_CHANNEL && payload !== undefined) this.deliver(payload);
    });
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client, new Error('connection ended')));
    try {
      await client.connect();
      await client.query(`LISTEN ${HINT_CHANNEL}`);
    } catch (error) {
      this.lost(client, error);
      return;
    }
    if (this.stopped || this.dropped.has(client)) {
      this.dropped.add(client);
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    if (this.failures > 0) {
      this.logger.log(`LISTEN "${HINT_CHANNEL}" re-established after ${this.failures} attempt(s)`);
    }
    this.failures = 0;
    callEach(this.connectHandlers, (handler) => handler(), this.logger, 'connect handler');
  }

  private lost(client: Client, error: unknown): void {
    if (this.dropped.has(client)) return;
    this.dropped.add(client);
    if (this.client === client) this.client = undefined;
    client.removeAllListeners('notification');
    void client.end().catch(() => undefined);
    if (this.stopped) return;
    const delay = backoff(this.failures++);
    // Told once per loss, not a warning: readiness warns of it (changeListener down) and of its end.
    const level = this.failures === 1 ? 'log' : 'debug';
    this.logger[level](`LISTEN connection lost (${errorMessage(error)}); retrying in ${delay} ms`);
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => void this.connect(), delay);
  }

  private async probe(): Promise<void> {
    const client = this.client;
    if (!client) return;
    try {
      await this.inTurn(() => client.query('SELECT 1'));
    } catch (error) {
      this.lost(client, error);
    }
  }

  private deliver(payload: string): void {
    callEach(this.handlers, (handler) => handler(payload), this.logger, 'notification handler');
  }
}

/** Exponential from 100 ms to 5 s, with jitter so instances do not reconnect in lockstep. */
function backoff(failures: number): number {
  const base = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** Math.min(failures, 16));
  return Math.round(base * (0.8 + Math.random() * 0.4));
}
