import type { LevelWithSilent } from 'pino';
import { EnvBool, EnvInt, EnvList, EnvOneOf, EnvText, EnvUrl } from './env-rules';

/** Per-scope horizons (docs/cursor.md), or the one global horizon of earlier versions. */
export const HORIZON_MODES = ['scope', 'global'] as const;
export type HorizonMode = (typeof HORIZON_MODES)[number];

export const LOG_LEVELS: readonly LevelWithSilent[] = [
  'fatal',
  'error',
  'warn',
  'info',
  'debug',
  'trace',
  'silent',
];

const HTTP = ['http:', 'https:'];

/**
 * Every variable the service reads (mana-sync's names) but DB_RLS_ROLE and
 * DB_COMPACTION_ROLE, which migrations read alone (rls-role.ts,
 * compaction-role.ts). The first bad value is the one reported, in this
 * order; the initializer is the default. app-config.ts groups the values.
 */
export class AppEnv {
  /** No default here: set or not decides local auth; AuthConfig applies http://localhost:3001. */
  @EnvUrl(HTTP) MANA_AUTH_URL?: string;
  @EnvInt(0, 65535) PORT = 3050;
  @EnvUrl(['postgres:', 'postgresql:']) DATABASE_URL?: string;
  @EnvInt(1, 1000) DB_POOL_SIZE = 10;
  @EnvInt(0, 3_600_000) DB_STATEMENT_TIMEOUT_MS = 30_000;
  @EnvInt(0, 3_600_000) DB_IDLE_IN_TX_TIMEOUT_MS = 60_000;
  @EnvInt(0, 600_000) DB_CONNECT_TIMEOUT_MS = 5_000;
  @EnvBool() DB_MIGRATE_ON_START = true;
  /** Unset: MANA_AUTH_URL's /api/auth/jwks. */
  @EnvUrl(HTTP) JWKS_URL?: string;
  @EnvInt(0, 3_600_000) JWKS_REFRESH_COOLDOWN_MS = 5_000;
  @EnvUrl(HTTP) MANA_CREDITS_URL?: string;
  @EnvText() MANA_SERVICE_KEY = '';
  @EnvList() CORS_ORIGINS: string[] = [];
  @EnvList() BILLING_EXEMPT_APPS: string[] = [];
  @EnvText() EMBEDDED_PG_DIR = '.data/postgres';
  @EnvInt(1, 65535) EMBEDDED_PG_PORT = 54329;
  @EnvInt(10, 3_600_000) SSE_HEARTBEAT_MS = 30_000;
  @EnvInt(1, 10_000) SYNC_PAGE_SIZE = 1000;
  @EnvInt(1, 1024 * 1024 * 1024) SYNC_PAGE_MAX_BYTES = 4 * 1024 * 1024;
  @EnvInt(1, 1000) SYNC_MAX_SCHEMA_VERSION = 1;
  @EnvOneOf(HORIZON_MODES) SYNC_HORIZON: HorizonMode = 'scope';
  @EnvInt(1, 120_000) INTERNAL_HTTP_TIMEOUT_MS = 3_000;
  @EnvInt(0, 86_400_000) MEMBERSHIP_CACHE_TTL_MS = 300_000;
  @EnvInt(0, 86_400_000) BILLING_CACHE_TTL_MS = 300_000;
  /** Unset: on exactly when MANA_CREDITS_URL is set. */
  @EnvBool() BILLING_ENABLED?: boolean;
  @EnvInt(0, 600_000) SHUTDOWN_TIMEOUT_MS = 10_000;
  @EnvInt(1, Number.MAX_SAFE_INTEGER) BACKUP_IMPORT_MAX_BYTES = 512 * 1024 * 1024;
  @EnvInt(0, 100_000) BACKUP_IMPORT_MAX_INFLATE_RATIO = 100;
  @EnvInt(10, 600_000) WS_AUTH_TIMEOUT_MS = 10_000;
  @EnvInt(10, 3_600_000) WS_PING_INTERVAL_MS = 30_000;
  @EnvInt(1_024, 1_073_741_824) WS_MAX_BUFFERED_BYTES = 1_048_576;
  @EnvInt(10, 86_400_000) WS_MEMBERSHIP_REFRESH_MS = 60_000;
  @EnvInt(0, 600_000) HINT_COALESCE_MS = 5;
  @EnvInt(100, 600_000) HINT_SWEEP_INTERVAL_MS = 1_000;
  @EnvOneOf(LOG_LEVELS) LOG_LEVEL: LevelWithSilent = 'info';
  @EnvText() METRICS_TOKEN?: string;
  @EnvInt(0, 1_000_000) RATE_LIMIT_PUSH_PER_MINUTE = 600;
  @EnvInt(0, 1_000_000) RATE_LIMIT_PULL_PER_MINUTE = 1200;
  @EnvInt(0, 3_600_000) REQUEST_TIMEOUT_MS = 30_000;
  @EnvInt(100, 3_600_000) REQUEST_BODY_TIMEOUT_MS = 30_000;
  @EnvInt(0, 604_800_000) COMPACTION_INTERVAL_MS = 3_600_000;
  @EnvInt(0, 87_600) COMPACTION_MIN_AGE_HOURS = 72;
  @EnvInt(1, 100_000) COMPACTION_BATCH_RECORDS = 200;
  @EnvInt(100, 600_000) COMPACTION_BATCH_TIMEOUT_MS = 5_000;
  @EnvInt(1_000, 86_400_000) COMPACTION_PASS_MAX_MS = 600_000;
  /** Unset: on only on a bare development machine (local-auth.ts). */
  @EnvBool() LOCAL_AUTH?: boolean;
  @EnvText() NODE_ENV?: string;
  @EnvText() LOCAL_AUTH_KEY_FILE = '.data/local-auth-key.json';
  @EnvText() LOCAL_MEMBERSHIPS_FILE?: string;
}
