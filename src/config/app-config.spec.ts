import { loadConfig } from './app-config';
import { ConfigError } from './config-error';
import { localAuthOffReason } from './local-auth';

const EXTERNAL = 'postgres://sync@db.internal:5432/sync';

describe('loadConfig: local development auth', () => {
  it('is on for a bare development machine: no DATABASE_URL, JWKS_URL or MANA_AUTH_URL', () => {
    expect(loadConfig({}).auth.localAuth).toEqual({
      reason: 'no DATABASE_URL, JWKS_URL or MANA_AUTH_URL',
      keyFile: '.data/local-auth-key.json',
      membershipsFile: undefined,
      localMemberships: true,
    });
  });

  it.each([
    ['DATABASE_URL', { DATABASE_URL: EXTERNAL }],
    ['JWKS_URL', { JWKS_URL: 'https://auth.example/jwks' }],
    ['MANA_AUTH_URL', { MANA_AUTH_URL: 'https://auth.example' }],
    ['NODE_ENV=production', { NODE_ENV: 'production' }],
    ['LOCAL_AUTH=false', { LOCAL_AUTH: 'false' }],
  ])('is off with %s', (_name, env) => {
    expect(loadConfig(env).auth.localAuth).toBeUndefined();
  });

  it('is on when asked for, also with a database of your own', () => {
    const config = loadConfig({
      DATABASE_URL: EXTERNAL,
      LOCAL_AUTH: 'true',
      LOCAL_AUTH_KEY_FILE: '/tmp/key.json',
      LOCAL_MEMBERSHIPS_FILE: 'members.json',
    });
    expect(config.auth.localAuth).toEqual({
      reason: 'LOCAL_AUTH=true',
      keyFile: '/tmp/key.json',
      membershipsFile: 'members.json',
      localMemberships: true,
    });
  });

  it('keeps the memberships of mana-auth when MANA_AUTH_URL is set', () => {
    const config = loadConfig({ LOCAL_AUTH: 'true', MANA_AUTH_URL: 'http://auth:3001' });
    expect(config.auth.localAuth?.localMemberships).toBe(false);
  });

  it('refuses LOCAL_AUTH=true in production, in one line naming both variables', () => {
    expect(() => loadConfig({ LOCAL_AUTH: 'true', NODE_ENV: 'production' })).toThrow(
      new ConfigError(
        'Invalid configuration: LOCAL_AUTH=true is not allowed with NODE_ENV=production (it signs tokens for anyone); unset one of them',
      ),
    );
  });

  it('refuses LOCAL_AUTH=true together with JWKS_URL', () => {
    expect(() => loadConfig({ LOCAL_AUTH: 'true', JWKS_URL: 'https://auth.example/jwks' })).toThrow(
      /LOCAL_AUTH=true and JWKS_URL/,
    );
  });

  it('refuses a LOCAL_AUTH that is not a boolean', () => {
    expect(() => loadConfig({ LOCAL_AUTH: 'maybe' })).toThrow(
      'Invalid configuration: LOCAL_AUTH must be true or false (got "maybe")',
    );
  });

  it('says why it is off', () => {
    expect(localAuthOffReason({ DATABASE_URL: EXTERNAL })).toBe('DATABASE_URL is set');
    expect(localAuthOffReason({ DATABASE_URL: EXTERNAL, JWKS_URL: 'http://a/j' })).toBe(
      'DATABASE_URL, JWKS_URL are set',
    );
    expect(localAuthOffReason({ NODE_ENV: 'production' })).toBe('NODE_ENV=production');
    expect(localAuthOffReason({ LOCAL_AUTH: '0' })).toBe('LOCAL_AUTH is off');
  });
});

describe('loadConfig: one-line errors naming the variable', () => {
  it.each([
    [
      'PORT',
      { PORT: '70000' },
      /^Invalid configuration: PORT must be an integer between 0 and 65535/,
    ],
    ['PORT', { PORT: 'abc' }, /PORT must be an integer/],
    [
      'DATABASE_URL',
      { DATABASE_URL: 'localhost:5432' },
      /DATABASE_URL must be a URL \(postgres:, postgresql:\)/,
    ],
    ['DATABASE_URL', { DATABASE_URL: 'mysql://x@y/z' }, /DATABASE_URL must be a URL/],
    ['JWKS_URL', { JWKS_URL: 'not a url' }, /JWKS_URL must be a URL \(http:, https:\)/],
    ['MANA_AUTH_URL', { MANA_AUTH_URL: 'ftp://auth' }, /MANA_AUTH_URL must be a URL/],
    ['LOG_LEVEL', { LOG_LEVEL: 'loud' }, /LOG_LEVEL must be one of fatal, error/],
    [
      'DB_RLS_ROLE',
      { DB_RLS_ROLE: 'Robert; DROP' },
      /DB_RLS_ROLE must be a lower-case SQL identifier/,
    ],
    [
      'EMBEDDED_PG_PORT',
      { EMBEDDED_PG_PORT: '0' },
      /EMBEDDED_PG_PORT must be an integer between 1/,
    ],
  ])('%s', (_name, env, message) => {
    let error: unknown;
    try {
      loadConfig(env);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain('\n');
  });

  it('takes the defaults of mana-sync when nothing is set', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      http: { port: 3050 },
      database: { url: undefined },
      auth: {
        manaAuthUrl: 'http://localhost:3001',
        jwksUrl: 'http://localhost:3001/api/auth/jwks',
      },
    });
  });
});
