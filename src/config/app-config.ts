import type { LevelWithSilent } from 'pino';
import { compactionRoleFromEnv } from './compaction-role';
import { ConfigError } from './config-error';
import { rlsRoleFromEnv } from './rls-role';

export { ConfigError };

export interface AppConfig {
  port: number;
  /** Undefined means: run an embedded PostgreSQL under `embeddedPg.dir`. */
  databaseUrl?: string;
  dbPoolSize: number;
  dbStatementTimeoutMs: number;
  dbIdleInTransactionTimeoutMs: number;
  dbConnectTimeoutMs: number;
  /** The role every user-data transaction switches to; it must not bypass RLS. */
  rlsRole: string;
  runMigrations: boolean;
  jwksUrl: string;
  /** Minimum time between two JWKS fetches triggered by unknown key ids. */
  jwksCooldownMs: number;
  manaAuthUrl: string;
  manaCreditsUrl?: string;
  manaServiceKey: string;
  corsOrigins: string[];
  billingExemptApps: string[];
  embeddedPg: { dir: string; port: number };
  sseHeartbeatMs: number;
  /** Rows per pull page and per push response. */
  syncPageSize: number;
  /** A page also ends once its rows hold this many bytes of record data (at least one row). */
  syncPageMaxBytes: number;
  /** Highest Change wire schema version this server understands. */
  maxSchemaVersion: number;
  /** Timeout of calls to the auth and credits services. */
  internalHttpTimeoutMs: number;
  membershipCacheTtlMs: number;
  billingCacheTtlMs: number;
  /** The billing gate runs when MANA_CREDITS_URL is set, or when a custom BillingCheck forces it. */
  billingEnabled: boolean;
  /** On SIGTERM/SIGINT, how long in-flight requests may take before connections are cut. */
  shutdownTimeoutMs: number;
  /** Largest archive `POST /backup/import` accepts (413 beyond). */
  backupImportMaxBytes: number;
  /** An imported entry may inflate to this many times its compressed size (413 beyond); 0: no bound. */
  backupImportMaxInflateRatio: number;
  /** A WebSocket that has not sent `{type:'auth'}` by then is closed (1008). */
  wsAuthTimeoutMs: number;
  /** Server ping period; a socket that has not answered the previous ping is terminated. */
  wsPingIntervalMs: number;
  /** A socket whose unsent output exceeds this is a slow consumer and is terminated. */
  wsMaxBufferedBytes: number;
  /** How often the space memberships of connected WebSocket users are looked up again. */
  wsMembershipRefreshMs: number;
  /** pino level (LOG_LEVEL); createApp's `logger` option overrides it (tests pass ['error']). */
  logLevel: LevelWithSilent;
  /** When set, `GET /metrics` wants `Authorization: Bearer <token>`. */
  metricsToken?: string;
  /** Per user and minute; 0 turns the limit off. */
  rateLimitPushPerMinute: number;
  rateLimitPullPerMinute: number;
  /** A handler that has not answered by then gets a 503 (not streams or backups); 0: no limit. */
  requestTimeoutMs: number;
  /** Log compaction (docs/compaction.md): pass period (0: off), minimum row age, batch bounds. */
  compaction: {
    intervalMs: number;
    minAgeHours: number;
    batchRecords: number;
    batchTimeoutMs: number;
    passMaxMs: number;
    role: string;
  };
  /**
   * Local development auth: tokens signed by a key of the service's own (npm run token),
   * verified by the same AuthGuard. Undefined: off (every production configuration).
   */
  localAuth?: LocalAuthConfig;
}

export interface LocalAuthConfig {
  /** Why it is on, for the start-up line. */
  reason: string;
  /** The Ed25519 private key (JWK), created on first use, mode 0600. */
  keyFile: string;
  /** Optional JSON `{"<userId>": ["<spaceId>", ...]}`; unset: nobody is in a shared space. */
  membershipsFile?: string;
  /** False when MANA_AUTH_URL is set: memberships still come from mana-auth. */
  localMemberships: boolean;
}

type Env = Record<string, string | undefined>;

function invalid(name: string, expected: string, value: string): never {
  throw new ConfigError(`Invalid configuration: ${name} must be ${expected} (got "${value}")`);
}

function str(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === '' ? undefined : value;
}

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = str(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min || value > max) {
    invalid(name, `an integer between ${min} and ${max}`, raw);
  }
  return value;
}

function url(env: Env, name: string, protocols: string[], fallback?: string): string | undefined {
  const raw = str(env, name) ?? fallback;
  if (raw === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    invalid(name, `a URL (${protocols.join(', ')})`, raw);
  }
  if (!protocols.includes(parsed.protocol)) invalid(name, `a URL (${protocols.join(', ')})`, raw);
  return raw.replace(/\/+$/, '');
}

function list(env: Env, name: string): string[] {
  return (str(env, name) ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = str(env, name);
  if (raw === undefined) return fallback;
  if (['1', 'true', 'yes'].includes(raw.toLowerCase())) return true;
  if (['0', 'false', 'no'].includes(raw.toLowerCase())) return false;
  return invalid(name, 'true or false', raw);
}

/** Reads and validates the environment once, at start-up. Same names as mana-sync. */
export function loadConfig(env: Env = process.env): AppConfig {
  if (compactionRoleFromEnv(env) === rlsRoleFromEnv(env)) {
    invalid('DB_COMPACTION_ROLE', 'a role other than DB_RLS_ROLE', compactionRoleFromEnv(env));
  }
  const manaAuthUrl = url(env, 'MANA_AUTH_URL', ['http:', 'https:'], 'http://localhost:3001')!;
  return {
    port: int(env, 'PORT', 3050, 0, 65535),
    databaseUrl: url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']),
    dbPoolSize: int(env, 'DB_POOL_SIZE', 10, 1, 1000),
    dbStatementTimeoutMs: int(env, 'DB_STATEMENT_TIMEOUT_MS', 30_000, 0, 3_600_000),
    dbIdleInTransactionTimeoutMs: int(env, 'DB_IDLE_IN_TX_TIMEOUT_MS', 60_000, 0, 3_600_000),
    dbConnectTimeoutMs: int(env, 'DB_CONNECT_TIMEOUT_MS', 5_000, 0, 600_000),
    rlsRole: rlsRoleFromEnv(env),
    runMigrations: bool(env, 'DB_MIGRATE_ON_START', true),
    jwksUrl: url(env, 'JWKS_URL', ['http:', 'https:'], `${manaAuthUrl}/api/auth/jwks`)!,
    jwksCooldownMs: int(env, 'JWKS_REFRESH_COOLDOWN_MS', 5_000, 0, 3_600_000),
    manaAuthUrl,
    manaCreditsUrl: url(env, 'MANA_CREDITS_URL', ['http:', 'https:']),
    manaServiceKey: str(env, 'MANA_SERVICE_KEY') ?? '',
    corsOrigins: list(env, 'CORS_ORIGINS'),
    billingExemptApps: list(env, 'BILLING_EXEMPT_APPS'),
    embeddedPg: {
      dir: str(env, 'EMBEDDED_PG_DIR') ?? '.data/postgres',
      port: int(env, 'EMBEDDED_PG_PORT', 54329, 1, 65535),
    },
    sseHeartbeatMs: int(env, 'SSE_HEARTBEAT_MS', 30_000, 10, 3_600_000),
    syncPageSize: int(env, 'SYNC_PAGE_SIZE', 1000, 1, 10_000),
    syncPageMaxBytes: int(env, 'SYNC_PAGE_MAX_BYTES', 4 * 1024 * 1024, 1, 1024 * 1024 * 1024),
    maxSchemaVersion: int(env, 'SYNC_MAX_SCHEMA_VERSION', 1, 1, 1000),
    internalHttpTimeoutMs: int(env, 'INTERNAL_HTTP_TIMEOUT_MS', 3_000, 1, 120_000),
    membershipCacheTtlMs: int(env, 'MEMBERSHIP_CACHE_TTL_MS', 300_000, 0, 86_400_000),
    billingCacheTtlMs: int(env, 'BILLING_CACHE_TTL_MS', 300_000, 0, 86_400_000),
    billingEnabled: bool(
      env,
      'BILLING_ENABLED',
      url(env, 'MANA_CREDITS_URL', ['http:', 'https:']) !== undefined,
    ),
    shutdownTimeoutMs: int(env, 'SHUTDOWN_TIMEOUT_MS', 10_000, 0, 600_000),
    backupImportMaxBytes: int(
      env,
      'BACKUP_IMPORT_MAX_BYTES',
      512 * 1024 * 1024,
      1,
      Number.MAX_SAFE_INTEGER,
    ),
    backupImportMaxInflateRatio: int(env, 'BACKUP_IMPORT_MAX_INFLATE_RATIO', 100, 0, 100_000),
    wsAuthTimeoutMs: int(env, 'WS_AUTH_TIMEOUT_MS', 10_000, 10, 600_000),
    wsPingIntervalMs: int(env, 'WS_PING_INTERVAL_MS', 30_000, 10, 3_600_000),
    wsMaxBufferedBytes: int(env, 'WS_MAX_BUFFERED_BYTES', 1_048_576, 1_024, 1_073_741_824),
    wsMembershipRefreshMs: int(env, 'WS_MEMBERSHIP_REFRESH_MS', 60_000, 10, 86_400_000),
    logLevel: logLevel(env, 'LOG_LEVEL', 'info'),
    metricsToken: str(env, 'METRICS_TOKEN'),
    rateLimitPushPerMinute: int(env, 'RATE_LIMIT_PUSH_PER_MINUTE', 600, 0, 1_000_000),
    rateLimitPullPerMinute: int(env, 'RATE_LIMIT_PULL_PER_MINUTE', 1200, 0, 1_000_000),
    requestTimeoutMs: int(env, 'REQUEST_TIMEOUT_MS', 30_000, 0, 3_600_000),
    compaction: {
      intervalMs: int(env, 'COMPACTION_INTERVAL_MS', 3_600_000, 0, 604_800_000),
      minAgeHours: int(env, 'COMPACTION_MIN_AGE_HOURS', 72, 0, 87_600),
      batchRecords: int(env, 'COMPACTION_BATCH_RECORDS', 200, 1, 100_000),
      batchTimeoutMs: int(env, 'COMPACTION_BATCH_TIMEOUT_MS', 5_000, 100, 600_000),
      passMaxMs: int(env, 'COMPACTION_PASS_MAX_MS', 600_000, 1_000, 86_400_000),
      role: compactionRoleFromEnv(env),
    },
    localAuth: localAuth(env),
  };
}

/** Set, any of them turns local auth off unless LOCAL_AUTH=true. */
const LOCAL_AUTH_OFF_WITH = ['DATABASE_URL', 'JWKS_URL', 'MANA_AUTH_URL'];

/** Why local auth is off in this environment (for `npm run token`). */
export function localAuthOffReason(env: Env = process.env): string {
  if (str(env, 'LOCAL_AUTH') !== undefined && !bool(env, 'LOCAL_AUTH', false))
    return 'LOCAL_AUTH is off';
  if (str(env, 'NODE_ENV') === 'production') return 'NODE_ENV=production';
  const set = LOCAL_AUTH_OFF_WITH.filter((name) => str(env, name) !== undefined);
  return `${set.join(', ')} ${set.length > 1 ? 'are' : 'is'} set`;
}

/**
 * On by itself only on a bare development machine: the embedded database and no
 * identity service configured, and never under NODE_ENV=production. LOCAL_AUTH
 * forces it on (not in production) or off.
 */
function localAuth(env: Env): LocalAuthConfig | undefined {
  const forced = str(env, 'LOCAL_AUTH') === undefined ? undefined : bool(env, 'LOCAL_AUTH', false);
  const production = str(env, 'NODE_ENV') === 'production';
  let reason: string;
  if (forced === false) return undefined;
  if (forced === true) {
    if (production) {
      throw new ConfigError(
        'Invalid configuration: LOCAL_AUTH=true is not allowed with NODE_ENV=production (it signs tokens for anyone); unset one of them',
      );
    }
    if (str(env, 'JWKS_URL') !== undefined) {
      throw new ConfigError(
        'Invalid configuration: LOCAL_AUTH=true and JWKS_URL both say where token keys come from; unset one of them',
      );
    }
    reason = 'LOCAL_AUTH=true';
  } else {
    const configured = LOCAL_AUTH_OFF_WITH.filter((name) => str(env, name) !== undefined);
    if (production || configured.length > 0) return undefined;
    reason = 'no DATABASE_URL, JWKS_URL or MANA_AUTH_URL';
  }
  return {
    reason,
    keyFile: str(env, 'LOCAL_AUTH_KEY_FILE') ?? '.data/local-auth-key.json',
    membershipsFile: str(env, 'LOCAL_MEMBERSHIPS_FILE'),
    localMemberships: str(env, 'MANA_AUTH_URL') === undefined,
  };
}

export const LOG_LEVELS: readonly LevelWithSilent[] = [
  'fatal',
  'error',
  'warn',
  'info',
  'debug',
  'trace',
  'silent',
];

function logLevel(env: Env, name: string, fallback: LevelWithSilent): LevelWithSilent {
  const raw = str(env, name)?.toLowerCase();
  if (raw === undefined) return fallback;
  const level = LOG_LEVELS.find((l) => l === raw);
  return level ?? invalid(name, `one of ${LOG_LEVELS.join(', ')}`, raw);
}
