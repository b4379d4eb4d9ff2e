import type { LevelWithSilent } from 'pino';
import { compactionRoleFromEnv } from './compaction-role';
import { AppEnv, HorizonMode } from './env.dto';
import { Env, invalid, readEnv, withoutTrailingSlashes } from './env-rules';
import { LocalAuthConfig, localAuthOf } from './local-auth';
import { observerRoleFromEnv } from './observer-role';
import { rlsRoleFromEnv } from './rls-role';

/**
 * The configuration, one class per concern. ConfigModule provides each group
 * under its class, so a consumer asks for the narrowest one by type:
 * `constructor(private readonly sync: SyncConfig)`.
 */

/** The HTTP server: where it listens, who may call it, how long requests and shutdown may take. */
export class HttpConfig {
  readonly port: number;
  /** Empty, or containing `*`: any origin. */
  readonly corsOrigins: string[];
  /** A handler that has not answered by then gets a 503 (not streams or backups); 0: no limit. */
  readonly requestTimeoutMs: number;
  /**
   * A request's headers and body must have arrived by then (Node's requestTimeout); else 408
   * and the connection is closed. Streams, sockets and downloads are not cut: their requests
   * are complete once their headers are in.
   */
  readonly requestBodyTimeoutMs: number;
  /** On SIGTERM/SIGINT, how long in-flight requests may take before connections are cut. */
  readonly shutdownTimeoutMs: number;

  constructor(env: AppEnv) {
    this.port = env.PORT;
    this.corsOrigins = env.CORS_ORIGINS;
    this.requestTimeoutMs = env.REQUEST_TIMEOUT_MS;
    this.requestBodyTimeoutMs = env.REQUEST_BODY_TIMEOUT_MS;
    this.shutdownTimeoutMs = env.SHUTDOWN_TIMEOUT_MS;
  }
}

export class DatabaseConfig {
  /** Undefined means: run an embedded PostgreSQL under `embedded.dir`. */
  readonly url?: string;
  readonly poolSize: number;
  readonly statementTimeoutMs: number;
  readonly idleInTransactionTimeoutMs: number;
  readonly connectTimeoutMs: number;
  /** The role every user-data transaction switches to; it must not bypass RLS. */
  readonly rlsRole: string;
  /** The role the log sweep reads change metadata as (no record data). */
  readonly observerRole: string;
  readonly runMigrations: boolean;
  readonly embedded: { dir: string; port: number };

  constructor(env: AppEnv, rlsRole: string, observerRole: string) {
    this.url = env.DATABASE_URL && withoutTrailingSlashes(env.DATABASE_URL);
    this.poolSize = env.DB_POOL_SIZE;
    this.statementTimeoutMs = env.DB_STATEMENT_TIMEOUT_MS;
    this.idleInTransactionTimeoutMs = env.DB_IDLE_IN_TX_TIMEOUT_MS;
    this.connectTimeoutMs = env.DB_CONNECT_TIMEOUT_MS;
    this.rlsRole = rlsRole;
    this.observerRole = observerRole;
    this.runMigrations = env.DB_MIGRATE_ON_START;
    this.embedded = { dir: env.EMBEDDED_PG_DIR, port: env.EMBEDDED_PG_PORT };
  }
}

/** Where token keys come from: mana-auth's JWKS, or local development auth. */
export class AuthConfig {
  /** mana-auth, also asked for space memberships. */
  readonly manaAuthUrl: string;
  readonly jwksUrl: string;
  /** Minimum time between two JWKS fetches triggered by unknown key ids. */
  readonly jwksCooldownMs: number;
  /** Undefined: off (every production configuration). */
  readonly localAuth?: LocalAuthConfig;

  constructor(env: AppEnv) {
    this.manaAuthUrl = withoutTrailingSlashes(env.MANA_AUTH_URL ?? 'http://localhost:3001');
    this.jwksUrl = withoutTrailingSlashes(env.JWKS_URL ?? `${this.manaAuthUrl}/api/auth/jwks`);
    this.jwksCooldownMs = env.JWKS_REFRESH_COOLDOWN_MS;
    this.localAuth = localAuthOf(env);
  }
}

/** Calls to the auth and credits services. */
export class InternalHttpConfig {
  readonly serviceKey: string;
  readonly timeoutMs: number;

  constructor(env: AppEnv) {
    this.serviceKey = env.MANA_SERVICE_KEY;
    this.timeoutMs = env.INTERNAL_HTTP_TIMEOUT_MS;
  }
}

export class SpacesConfig {
  /** How long a user's memberships, looked up at mana-auth, are kept. */
  readonly membershipCacheTtlMs: number;

  constructor(env: AppEnv) {
    this.membershipCacheTtlMs = env.MEMBERSHIP_CACHE_TTL_MS;
  }
}

export class BillingConfig {
  readonly manaCreditsUrl?: string;
  /** The gate runs when MANA_CREDITS_URL is set, or when a custom BillingCheck forces it. */
  readonly enabled: boolean;
  readonly exemptApps: string[];
  readonly cacheTtlMs: number;

  constructor(env: AppEnv) {
    this.manaCreditsUrl = env.MANA_CREDITS_URL && withoutTrailingSlashes(env.MANA_CREDITS_URL);
    this.enabled = env.BILLING_ENABLED ?? this.manaCreditsUrl !== undefined;
    this.exemptApps = env.BILLING_EXEMPT_APPS;
    this.cacheTtlMs = env.BILLING_CACHE_TTL_MS;
  }
}

export class SyncConfig {
  /** Rows per pull page and per push response. */
  readonly pageSize: number;
  /** A page also ends once its rows hold this many bytes of record data (at least one row). */
  readonly pageMaxBytes: number;
  /** Highest Change wire schema version this server understands. */
  readonly maxSchemaVersion: number;
  readonly sseHeartbeatMs: number;
  /**
   * `scope`: a read waits only for open writers of its own scopes; `global`: for every
   * transaction of the database that has an id (the behaviour before per-scope horizons).
   */
  readonly horizon: HorizonMode;

  constructor(env: AppEnv) {
    this.horizon = env.SYNC_HORIZON;
    this.pageSize = env.SYNC_PAGE_SIZE;
    this.pageMaxBytes = env.SYNC_PAGE_MAX_BYTES;
    this.maxSchemaVersion = env.SYNC_MAX_SCHEMA_VERSION;
    this.sseHeartbeatMs = env.SSE_HEARTBEAT_MS;
  }
}

/** The WebSocket; `membershipRefreshMs` also paces SSE streams. */
export class RealtimeConfig {
  /** A WebSocket that has not sent `{type:'auth'}` by then is closed (1008). */
  readonly authTimeoutMs: number;
  /** Server ping period; a socket that has not answered the previous ping is terminated. */
  readonly pingIntervalMs: number;
  /** A socket whose unsent output exceeds this is a slow consumer and is terminated. */
  readonly maxBufferedBytes: number;
  /** How often the space memberships of connected users are looked up again. */
  readonly membershipRefreshMs: number;
  /** Hints of this instance's commits gathered this long leave in one NOTIFY to the others. */
  readonly hintCoalesceMs: number;
  /** While clients listen, the log is read this often for commits no hint told of. */
  readonly hintSweepIntervalMs: number;

  constructor(env: AppEnv) {
    this.authTimeoutMs = env.WS_AUTH_TIMEOUT_MS;
    this.pingIntervalMs = env.WS_PING_INTERVAL_MS;
    this.maxBufferedBytes = env.WS_MAX_BUFFERED_BYTES;
    this.membershipRefreshMs = env.WS_MEMBERSHIP_REFRESH_MS;
    this.hintCoalesceMs = env.HINT_COALESCE_MS;
    this.hintSweepIntervalMs = env.HINT_SWEEP_INTERVAL_MS;
  }
}

export class BackupConfig {
  /** Largest archive `POST /backup/import` accepts (413 beyond). */
  readonly importMaxBytes: number;
  /** An imported entry may inflate to this many times its compressed size (413 beyond); 0: no bound. */
  readonly importMaxInflateRatio: number;

  constructor(env: AppEnv) {
    this.importMaxBytes = env.BACKUP_IMPORT_MAX_BYTES;
    this.importMaxInflateRatio = env.BACKUP_IMPORT_MAX_INFLATE_RATIO;
  }
}

/** Per user and minute; 0 turns a limit off. */
export class LimitsConfig {
  readonly pushPerMinute: number;
  readonly pullPerMinute: number;

  constructor(env: AppEnv) {
    this.pushPerMinute = env.RATE_LIMIT_PUSH_PER_MINUTE;
    this.pullPerMinute = env.RATE_LIMIT_PULL_PER_MINUTE;
  }
}

export class LoggingConfig {
  /** pino level (LOG_LEVEL); createApp's `logger` option overrides it (tests pass ['error']). */
  readonly level: LevelWithSilent;

  constructor(env: AppEnv) {
    this.level = env.LOG_LEVEL;
  }
}

export class MetricsConfig {
  /** When set, `GET /metrics` wants `Authorization: Bearer <token>`. */
  readonly token?: string;

  constructor(env: AppEnv) {
    this.token = env.METRICS_TOKEN;
  }
}

/** Log compaction (docs/compaction.md): pass period (0: off), minimum row age, batch bounds, role. */
export class CompactionConfig {
  readonly intervalMs: number;
  readonly minAgeHours: number;
  readonly batchRecords: number;
  readonly batchTimeoutMs: number;
  readonly passMaxMs: number;
  readonly role: string;

  constructor(env: AppEnv, role: string) {
    this.intervalMs = env.COMPACTION_INTERVAL_MS;
    this.minAgeHours = env.COMPACTION_MIN_AGE_HOURS;
    this.batchRecords = env.COMPACTION_BATCH_RECORDS;
    this.batchTimeoutMs = env.COMPACTION_BATCH_TIMEOUT_MS;
    this.passMaxMs = env.COMPACTION_PASS_MAX_MS;
    this.role = role;
  }
}

/** Every group; ConfigModule provides this and each of its properties under its class. */
export class AppConfig {
  readonly http: HttpConfig;
  readonly database: DatabaseConfig;
  readonly auth: AuthConfig;
  readonly internalHttp: InternalHttpConfig;
  readonly spaces: SpacesConfig;
  readonly billing: BillingConfig;
  readonly sync: SyncConfig;
  readonly realtime: RealtimeConfig;
  readonly backup: BackupConfig;
  readonly limits: LimitsConfig;
  readonly logging: LoggingConfig;
  readonly metrics: MetricsConfig;
  readonly compaction: CompactionConfig;

  constructor(env: AppEnv, roles: { rls: string; compaction: string; observer: string }) {
    this.http = new HttpConfig(env);
    this.database = new DatabaseConfig(env, roles.rls, roles.observer);
    this.auth = new AuthConfig(env);
    this.internalHttp = new InternalHttpConfig(env);
    this.spaces = new SpacesConfig(env);
    this.billing = new BillingConfig(env);
    this.sync = new SyncConfig(env);
    this.realtime = new RealtimeConfig(env);
    this.backup = new BackupConfig(env);
    this.limits = new LimitsConfig(env);
    this.logging = new LoggingConfig(env);
    this.metrics = new MetricsConfig(env);
    this.compaction = new CompactionConfig(env, roles.compaction);
  }
}

/** Reads and validates the environment once, at start-up (tests and CLIs pass their own). */
export function loadConfig(env: Env = process.env): AppConfig {
  const roles = {
    compaction: compactionRoleFromEnv(env),
    rls: rlsRoleFromEnv(env),
    observer: observerRoleFromEnv(env),
  };
  // Across variables, so not class-validator rules; checked before the others, as always.
  if (roles.compaction === roles.rls) {
    invalid('DB_COMPACTION_ROLE', 'a role other than DB_RLS_ROLE', roles.compaction);
  }
  if (roles.observer === roles.rls || roles.observer === roles.compaction) {
    invalid(
      'DB_OBSERVER_ROLE',
      'a role other than DB_RLS_ROLE and DB_COMPACTION_ROLE',
      roles.observer,
    );
  }
  return new AppConfig(readEnv(AppEnv, env), roles);
}
