import { ConfigError } from './config/config-error';
import { startupFailureDetail, startupFailureLine } from './startup-errors';

function errno(message: string, fields: Record<string, unknown>): Error {
  return Object.assign(new Error(message), fields);
}

function cannotConnect(url: string, cause: Error): Error {
  return new Error(`Cannot connect to PostgreSQL at ${url}: ${cause.message}`, { cause });
}

describe('startupFailureLine', () => {
  it.each([
    [
      'a bad value',
      new ConfigError(
        'Invalid configuration: PORT must be an integer between 0 and 65535 (got "x")',
      ),
      'Invalid configuration: PORT must be an integer between 0 and 65535 (got "x"); see .env.example',
    ],
    [
      'the port taken',
      errno('listen EADDRINUSE: address already in use :::3050', {
        code: 'EADDRINUSE',
        syscall: 'listen',
        port: 3050,
      }),
      'port 3050 is already in use (another sync-server?): stop that process or set PORT to a free port',
    ],
    [
      'PostgreSQL not running',
      cannotConnect(
        'postgres://sync:***@db:5433/sync',
        errno('connect ECONNREFUSED 10.0.0.5:5433', { code: 'ECONNREFUSED' }),
      ),
      'PostgreSQL is not running at db:5433 (DATABASE_URL): start it, correct DATABASE_URL, or unset DATABASE_URL to use the embedded PostgreSQL',
    ],
    [
      'an unknown host',
      cannotConnect(
        'postgres://sync@dbb/sync',
        errno('getaddrinfo ENOTFOUND dbb', { code: 'ENOTFOUND', hostname: 'dbb' }),
      ),
      'the host of DATABASE_URL (dbb) is not found: correct DATABASE_URL',
    ],
    [
      'a missing database',
      cannotConnect(
        'postgres://sync@db/nope',
        errno('database "nope" does not exist', { code: '3D000' }),
      ),
      'database "nope" does not exist at db:5432: create it (e.g. createdb), or correct the database name in DATABASE_URL',
    ],
    [
      'a wrong password',
      cannotConnect(
        'postgres://sync:***@db/sync',
        errno('password authentication failed for user "sync"', { code: '28P01' }),
      ),
      'PostgreSQL at db:5432 refused the login (password authentication failed for user "sync"): correct user and password in DATABASE_URL',
    ],
    [
      'the embedded PostgreSQL port taken',
      new Error(
        'Embedded PostgreSQL did not start in /app/.data/postgres on port 54329: LOG: could not bind IPv4 address "127.0.0.1": Address in use\nFATAL: could not create any TCP/IP sockets',
      ),
      'the embedded PostgreSQL cannot listen on port 54329 (in use, perhaps by another sync-server): stop that process or set EMBEDDED_PG_PORT to a free port',
    ],
    [
      'a check of our own that already says what to do',
      new Error('Refusing to serve: role "sync_app" has BYPASSRLS'),
      'Refusing to serve: role "sync_app" has BYPASSRLS',
    ],
  ])('%s', (_name, error, line) => {
    expect(startupFailureLine(error)).toBe(`sync-server failed to start: ${line}`);
  });

  it('is always one line', () => {
    expect(startupFailureLine(new Error('first\nsecond\n  third'))).toBe(
      'sync-server failed to start: first second third',
    );
    expect(startupFailureLine('a string')).toBe('sync-server failed to start: a string');
  });

  it('adds the stack only at LOG_LEVEL debug or trace', () => {
    const error = new Error('boom');
    expect(startupFailureDetail(error, undefined)).toBeUndefined();
    expect(startupFailureDetail(error, 'info')).toBeUndefined();
    expect(startupFailureDetail(error, 'DEBUG')).toBe(error.stack);
  });
});
