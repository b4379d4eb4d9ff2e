import { readFileSync } from 'fs';
import { join } from 'path';
import { AppConfig, loadConfig } from './app-config';
import { ConfigError } from './config-error';
import { AppEnv } from './env.dto';

type Read = (config: AppConfig) => unknown;

/** The one line a bad value gets, as main.ts prints it. */
const line = (name: string, expected: string, got: string): string =>
  `Invalid configuration: ${name} must be ${expected} (got "${got}")`;

function failure(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error(`accepted ${JSON.stringify(env)}`);
}

/** [variable, where it lands, default, min, max] */
const INTEGERS: [string, Read, number, number, number][] = [
  ['PORT', (c) => c.http.port, 3050, 0, 65535],
  ['DB_POOL_SIZE', (c) => c.database.poolSize, 10, 1, 1000],
  ['DB_STATEMENT_TIMEOUT_MS', (c) => c.database.statementTimeoutMs, 30_000, 0, 3_600_000],
  ['DB_IDLE_IN_TX_TIMEOUT_MS', (c) => c.database.idleInTransactionTimeoutMs, 60_000, 0, 3_600_000],
  ['DB_CONNECT_TIMEOUT_MS', (c) => c.database.connectTimeoutMs, 5_000, 0, 600_000],
  ['JWKS_REFRESH_COOLDOWN_MS', (c) => c.auth.jwksCooldownMs, 5_000, 0, 3_600_000],
  ['EMBEDDED_PG_PORT', (c) => c.database.embedded.port, 54329, 1, 65535],
  ['SSE_HEARTBEAT_MS', (c) => c.sync.sseHeartbeatMs, 30_000, 10, 3_600_000],
  ['SYNC_PAGE_SIZE', (c) => c.sync.pageSize, 1000, 1, 10_000],
  ['SYNC_PAGE_MAX_BYTES', (c) => c.sync.pageMaxBytes, 4_194_304, 1, 1_073_741_824],
  ['SYNC_MAX_SCHEMA_VERSION', (c) => c.sync.maxSchemaVersion, 1, 1, 1000],
  ['INTERNAL_HTTP_TIMEOUT_MS', (c) => c.internalHttp.timeoutMs, 3_000, 1, 120_000],
  ['MEMBERSHIP_CACHE_TTL_MS', (c) => c.spaces.membershipCacheTtlMs, 300_000, 0, 86_400_000],
  ['BILLING_CACHE_TTL_MS', (c) => c.billing.cacheTtlMs, 300_000, 0, 86_400_000],
  ['SHUTDOWN_TIMEOUT_MS', (c) => c.http.shutdownTimeoutMs, 10_000, 0, 600_000],
  [
    'BACKUP_IMPORT_MAX_BYTES',
    (c) => c.backup.importMaxBytes,
    536_870_912,
    1,
    Number.MAX_SAFE_INTEGER,
  ],
  ['BACKUP_IMPORT_MAX_INFLATE_RATIO', (c) => c.backup.importMaxInflateRatio, 100, 0, 100_000],
  ['WS_AUTH_TIMEOUT_MS', (c) => c.realtime.authTimeoutMs, 10_000, 10, 600_000],
  ['WS_PING_INTERVAL_MS', (c) => c.realtime.pingIntervalMs, 30_000, 10, 3_600_000],
  ['WS_MAX_BUFFERED_BYTES', (c) => c.realtime.maxBufferedBytes, 1_048_576, 1024, 1_073_741_824],
  ['WS_MEMBERSHIP_REFRESH_MS', (c) => c.realtime.membershipRefreshMs, 60_000, 10, 86_400_000],
  ['HINT_COALESCE_MS', (c) => c.realtime.hintCoalesceMs, 5, 0, 600_000],
  ['HINT_SWEEP_INTERVAL_MS', (c) => c.realtime.hintSweepIntervalMs, 1_000, 100, 600_000],
  ['RATE_LIMIT_PUSH_PER_MINUTE', (c) => c.limits.pushPerMinute, 600, 0, 1_000_000],
  ['RATE_LIMIT_PULL_PER_MINUTE', (c) => c.limits.pullPerMinute, 1200, 0, 1_000_000],
  ['REQUEST_TIMEOUT_MS', (c) => c.http.requestTimeoutMs, 30_000, 0, 3_600_000],
  ['REQUEST_BODY_TIMEOUT_MS', (c) => c.http.requestBodyTimeoutMs, 30_000, 100, 3_600_000],
  ['COMPACTION_INTERVAL_MS', (c) => c.compaction.intervalMs, 3_600_000, 0, 604_800_000],
  ['COMPACTION_MIN_AGE_HOURS', (c) => c.compaction.minAgeHours, 72, 0, 87_600],
  ['COMPACTION_BATCH_RECORDS', (c) => c.compaction.batchRecords, 200, 1, 100_000],
  ['COMPACTION_BATCH_TIMEOUT_MS', (c) => c.compaction.batchTimeoutMs, 5_000, 100, 600_000],
  ['COMPACTION_PASS_MAX_MS', (c) => c.compaction.passMaxMs, 600_000, 1_000, 86_400_000],
];

/** [variable, where it lands, default, a value and what it becomes, a bad value and its line] */
const OTHERS: [string, Read, unknown, [string, unknown], [string, string] | undefined][] = [
  [
    'MANA_AUTH_URL',
    (c) => c.auth.manaAuthUrl,
    'http://localhost:3001',
    ['https://auth.example//', 'https://auth.example'],
    ['ftp://auth', line('MANA_AUTH_URL', 'a URL (http:, https:)', 'ftp://auth')],
  ],
  [
    'DATABASE_URL',
    (c) => c.database.url,
    undefined,
    ['postgresql://sync@db.internal:5432/sync/', 'postgresql://sync@db.internal:5432/sync'],
    ['localhost:5432', line('DATABASE_URL', 'a URL (postgres:, postgresql:)', 'localhost:5432')],
  ],
  [
    'JWKS_URL',
    (c) => c.auth.jwksUrl,
    'http://localhost:3001/api/auth/jwks',
    ['http://mana_auth:3001/keys/', 'http://mana_auth:3001/keys'],
    ['not a url', line('JWKS_URL', 'a URL (http:, https:)', 'not a url')],
  ],
  [
    'MANA_CREDITS_URL',
    (c) => c.billing.manaCreditsUrl,
    undefined,
    ['http://credits:3060/', 'http://credits:3060'],
    ['gopher://credits', line('MANA_CREDITS_URL', 'a URL (http:, https:)', 'gopher://credits')],
  ],
  [
    'DB_MIGRATE_ON_START',
    (c) => c.database.runMigrations,
    true,
    ['No', false],
    ['later', line('DB_MIGRATE_ON_START', 'true or false', 'later')],
  ],
  [
    'BILLING_ENABLED',
    (c) => c.billing.enabled,
    false,
    ['YES', true],
    ['on', line('BILLING_ENABLED', 'true or false', 'on')],
  ],
  [
    'LOCAL_AUTH',
    (c) => c.auth.localAuth?.reason,
    'no DATABASE_URL, JWKS_URL or MANA_AUTH_URL',
    ['0', undefined],
    ['maybe', line('LOCAL_AUTH', 'true or false', 'maybe')],
  ],
  [
    'LOG_LEVEL',
    (c) => c.logging.level,
    'info',
    [' DEBUG ', 'debug'],
    ['Loud', line('LOG_LEVEL', 'one of fatal, error, warn, info, debug, trace, silent', 'loud')],
  ],
  [
    'SYNC_HORIZON',
    (c) => c.sync.horizon,
    'scope',
    [' Global ', 'global'],
    ['everyone', line('SYNC_HORIZON', 'one of scope, global', 'everyone')],
  ],
  [
    'DB_RLS_ROLE',
    (c) => c.database.rlsRole,
    'sync_app',
    ['tenant_app', 'tenant_app'],
    ['Robert; DROP', line('DB_RLS_ROLE', 'a lower-case SQL identifier', 'Robert; DROP')],
  ],
  [
    'DB_COMPACTION_ROLE',
    (c) => c.compaction.role,
    'sync_compactor',
    ['tenant_compactor', 'tenant_compactor'],
    ['Bad-Role', line('DB_COMPACTION_ROLE', 'a lower-case SQL identifier', 'Bad-Role')],
  ],
  [
    'DB_OBSERVER_ROLE',
    (c) => c.database.observerRole,
    'sync_observer',
    ['tenant_observer', 'tenant_observer'],
    ['Bad-Role', line('DB_OBSERVER_ROLE', 'a lower-case SQL identifier', 'Bad-Role')],
  ],
  [
    'CORS_ORIGINS',
    (c) => c.http.corsOrigins,
    [],
    [' https://a, https://b ,, ', ['https://a', 'https://b']],
    undefined,
  ],
  [
    'BILLING_EXEMPT_APPS',
    (c) => c.billing.exemptApps,
    [],
    ['todo,notes', ['todo', 'notes']],
    undefined,
  ],
  ['MANA_SERVICE_KEY', (c) => c.internalHttp.serviceKey, '', [' s3cret ', 's3cret'], undefined],
  [
    'EMBEDDED_PG_DIR',
    (c) => c.database.embedded.dir,
    '.data/postgres',
    ['/var/pg', '/var/pg'],
    undefined,
  ],
  ['METRICS_TOKEN', (c) => c.metrics.token, undefined, ['t0ken', 't0ken'], undefined],
  [
    'LOCAL_AUTH_KEY_FILE',
    (c) => c.auth.localAuth?.keyFile,
    '.data/local-auth-key.json',
    ['/tmp/key.json', '/tmp/key.json'],
    undefined,
  ],
  [
    'LOCAL_MEMBERSHIPS_FILE',
    (c) => c.auth.localAuth?.membershipsFile,
    undefined,
    ['members.json', 'members.json'],
    undefined,
  ],
  [
    'NODE_ENV',
    (c) => c.auth.localAuth?.reason,
    'no DATABASE_URL, JWKS_URL or MANA_AUTH_URL',
    ['production', undefined],
    undefined,
  ],
];

const ALL_NAMES = [...INTEGERS.map(([name]) => name), ...OTHERS.map(([name]) => name)];

describe('loadConfig: every variable', () => {
  it('has a row here for every variable the service reads', () => {
    const read = [
      ...Object.keys(new AppEnv()),
      'DB_RLS_ROLE',
      'DB_COMPACTION_ROLE',
      'DB_OBSERVER_ROLE',
    ];
    expect([...ALL_NAMES].sort()).toEqual(read.sort());
  });

  describe.each(INTEGERS)('%s', (name, read, fallback, min, max) => {
    const expected = `an integer between ${min} and ${max}`;

    it(`defaults to ${fallback}`, () => {
      expect(read(loadConfig({}))).toBe(fallback);
    });

    it(`takes ${min} and ${max}, written in digits (blanks around are ignored)`, () => {
      expect(read(loadConfig({ [name]: String(min) }))).toBe(min);
      expect(read(loadConfig({ [name]: ` ${max} ` }))).toBe(max);
    });

    it('refuses a value out of range, quoted as written', () => {
      expect(failure({ [name]: `0${max + 1}` })).toBe(line(name, expected, `0${max + 1}`));
      if (min > 0)
        expect(failure({ [name]: String(min - 1) })).toBe(line(name, expected, String(min - 1)));
    });

    it.each(['-1', '1.5', '1e3', '0x10', 'ten'])('refuses %s', (bad) => {
      expect(failure({ [name]: bad })).toBe(line(name, expected, bad));
    });
  });

  describe.each(OTHERS)('%s', (name, read, fallback, [value, parsed], bad) => {
    it(`defaults to ${JSON.stringify(fallback)}`, () => {
      expect(read(loadConfig({}))).toEqual(fallback);
      expect(read(loadConfig({ [name]: '  ' }))).toEqual(fallback);
    });

    it(`reads ${JSON.stringify(value)} as ${JSON.stringify(parsed)}`, () => {
      expect(read(loadConfig({ [name]: value }))).toEqual(parsed);
    });

    if (bad) {
      it(`refuses ${JSON.stringify(bad[0])}`, () => {
        expect(failure({ [name]: bad[0] })).toBe(bad[1]);
      });
    }
  });
});

describe('loadConfig: URLs', () => {
  it.each([
    ['DATABASE_URL', 'mysql://x@y/z', 'a URL (postgres:, postgresql:)'],
    ['MANA_AUTH_URL', 'http://', 'a URL (http:, https:)'],
    ['JWKS_URL', 'file:///etc/keys', 'a URL (http:, https:)'],
  ])('%s refuses %s', (name, bad, expected) => {
    expect(failure({ [name]: bad })).toBe(line(name, expected, bad));
  });
});

describe('loadConfig: values read from more than one variable', () => {
  it('takes JWKS_URL from MANA_AUTH_URL unless set', () => {
    expect(loadConfig({ MANA_AUTH_URL: 'http://auth:3001/' }).auth.jwksUrl).toBe(
      'http://auth:3001/api/auth/jwks',
    );
    expect(
      loadConfig({ MANA_AUTH_URL: 'http://auth:3001', JWKS_URL: 'https://keys.example/jwks' }).auth
        .jwksUrl,
    ).toBe('https://keys.example/jwks');
  });

  it('turns billing on with MANA_CREDITS_URL, unless BILLING_ENABLED says otherwise', () => {
    expect(loadConfig({ MANA_CREDITS_URL: 'http://credits' }).billing.enabled).toBe(true);
    expect(
      loadConfig({ MANA_CREDITS_URL: 'http://credits', BILLING_ENABLED: 'false' }).billing.enabled,
    ).toBe(false);
    expect(loadConfig({ BILLING_ENABLED: 'true' }).billing.enabled).toBe(true);
  });

  it('refuses one role for compaction and requests', () => {
    expect(failure({ DB_COMPACTION_ROLE: 'sync_app' })).toBe(
      line('DB_COMPACTION_ROLE', 'a role other than DB_RLS_ROLE', 'sync_app'),
    );
    expect(failure({ DB_COMPACTION_ROLE: 'shared', DB_RLS_ROLE: ' shared ' })).toBe(
      line('DB_COMPACTION_ROLE', 'a role other than DB_RLS_ROLE', 'shared'),
    );
  });

  it('refuses the observer role as one of the two others', () => {
    const other = 'a role other than DB_RLS_ROLE and DB_COMPACTION_ROLE';
    expect(failure({ DB_OBSERVER_ROLE: 'sync_app' })).toBe(
      line('DB_OBSERVER_ROLE', other, 'sync_app'),
    );
    expect(failure({ DB_OBSERVER_ROLE: 'sync_compactor' })).toBe(
      line('DB_OBSERVER_ROLE', other, 'sync_compactor'),
    );
  });
});

describe('loadConfig: several bad values', () => {
  it.each([
    // The roles come first, then their clash, then the rest in the order of env.dto.ts.
    [{ DB_RLS_ROLE: 'X', DB_COMPACTION_ROLE: 'Y' }, 'DB_COMPACTION_ROLE'],
    [{ DB_RLS_ROLE: 'X', MANA_AUTH_URL: 'ftp://a' }, 'DB_RLS_ROLE'],
    [{ DB_COMPACTION_ROLE: 'sync_app', MANA_AUTH_URL: 'ftp://a' }, 'DB_COMPACTION_ROLE'],
    [{ PORT: 'x', MANA_AUTH_URL: 'ftp://a' }, 'MANA_AUTH_URL'],
    [{ COMPACTION_PASS_MAX_MS: '1', PORT: 'x' }, 'PORT'],
    [{ LOCAL_AUTH: 'maybe', COMPACTION_PASS_MAX_MS: '1' }, 'COMPACTION_PASS_MAX_MS'],
    [{ LOCAL_AUTH: 'true', NODE_ENV: 'production', LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
  ])('%j: only the first, %s, in one line', (env, name) => {
    const message = failure(env);
    expect(message).toMatch(new RegExp(`^Invalid configuration: ${name} must be `));
    expect(message).not.toContain('\n');
  });
});

describe('the configuration docs', () => {
  const root = join(__dirname, '../..');

  it.each(ALL_NAMES)('%s is in .env.example and in the README table', (name) => {
    expect(readFileSync(join(root, '.env.example'), 'utf8')).toMatch(
      new RegExp(`^(# )?${name}=`, 'm'),
    );
    expect(readFileSync(join(root, 'README.md'), 'utf8')).toMatch(
      new RegExp(`^\\|.*\`${name}\``, 'm'),
    );
  });
});
