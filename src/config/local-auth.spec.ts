import { loadConfig } from './app-config';
import { ConfigError } from './config-error';
import { localAuthOffReason } from './local-auth';

const EXTERNAL = 'postgres://sync@db.internal:5432/sync';

describe('local development auth', () => {
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

  it('is refused with NODE_ENV=production only when forced; otherwise production turns it off', () => {
    expect(loadConfig({ NODE_ENV: ' production ' }).auth.localAuth).toBeUndefined();
    expect(loadConfig({ NODE_ENV: 'development' }).auth.localAuth?.reason).toBe(
      'no DATABASE_URL, JWKS_URL or MANA_AUTH_URL',
    );
  });

  it('says it is off because of several variables in one sentence', () => {
    expect(
      localAuthOffReason({
        DATABASE_URL: EXTERNAL,
        JWKS_URL: 'http://a/j',
        MANA_AUTH_URL: 'http://a',
      }),
    ).toBe('DATABASE_URL, JWKS_URL, MANA_AUTH_URL are set');
    expect(localAuthOffReason({ MANA_AUTH_URL: 'http://a' })).toBe('MANA_AUTH_URL is set');
  });
});
