import { createServer, Server } from 'net';
import { freePort, ServiceProcess, spawnService } from '../support/service-process';
import { createTestDatabase, TestDatabase } from '../support/test-database';

/**
 * What `npm start` prints, read as a person would: a start-up failure is one
 * line on what to do (no stack trace, no Nest progress lines), and a start
 * with an unreachable JWKS says so at once.
 */

const START_MS = 60_000;

function lines(output: string): string[] {
  return output.split('\n').filter((line) => line.trim() !== '');
}

async function failedStart(env: Record<string, string | undefined>): Promise<string[]> {
  const service = await spawnService({ LOG_LEVEL: 'info', ...env });
  const exit = await service.exited;
  expect(exit).toEqual({ code: 1, signal: null });
  return lines(service.output());
}

describe('start-up output', () => {
  let db: TestDatabase;
  let blocker: Server;
  let takenPort: number;
  const started: ServiceProcess[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    takenPort = await freePort();
    blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(takenPort, resolve));
  });
  afterAll(async () => {
    for (const service of started)
      if (service.child.exitCode === null) service.child.kill('SIGKILL');
    await new Promise((resolve) => blocker.close(resolve));
    await db.drop();
  });

  it(
    'says each misconfiguration in one line, without a stack trace',
    async () => {
      const deadPort = await freePort();
      // Other database failures (a missing database, a refused login) are unit cases of startupFailureLine.
      const [badUrl, notRunning, portTaken] = await Promise.all([
        failedStart({ DATABASE_URL: 'localhost:5432/sync' }),
        failedStart({ DATABASE_URL: `postgres://postgres@127.0.0.1:${deadPort}/sync` }),
        failedStart({
          DATABASE_URL: db.url,
          PORT: String(takenPort),
          JWKS_URL: 'http://127.0.0.1:9/jwks',
        }),
      ]);
      expect(badUrl).toEqual([
        'sync-server failed to start: Invalid configuration: DATABASE_URL must be a URL (postgres:, postgresql:) (got "localhost:5432/sync"); see .env.example',
      ]);
      expect(notRunning).toEqual([
        `sync-server failed to start: PostgreSQL is not running at 127.0.0.1:${deadPort} (DATABASE_URL): start it, correct DATABASE_URL, or unset DATABASE_URL to use the embedded PostgreSQL`,
      ]);
      // It got as far as listening: the lines before are the start-up's own, and the last says what to do.
      expect(portTaken[portTaken.length - 1]).toBe(
        `sync-server failed to start: port ${takenPort} is already in use (another sync-server?): stop that process or set PORT to a free port`,
      );
      for (const output of [badUrl, notRunning, portTaken]) {
        expect(output.filter((line) => /^\s+at |"stack"|"level":"error"/.test(line))).toEqual([]);
      }
    },
    START_MS,
  );

  it(
    'starts without Nest progress lines, and says at once that the JWKS is unreachable',
    async () => {
      const service = await spawnService({
        LOG_LEVEL: 'info',
        DATABASE_URL: db.url,
        JWKS_URL: 'http://127.0.0.1:9/jwks',
      });
      started.push(service);
      await service.ready(START_MS);
      const warning = () =>
        lines(service.output()).find((line) => line.includes('Cannot fetch token keys'));
      while (!warning()) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(JSON.parse(warning()!)).toMatchObject({
        level: 'warn',
        context: 'Auth',
        msg: expect.stringMatching(
          /^Cannot fetch token keys from http:\/\/127\.0\.0\.1:9\/jwks \(.+\): requests answer 503 until it answers; check JWKS_URL/,
        ),
      });
      const output = lines(service.output());
      expect(
        output.filter((line) =>
          /InstanceLoader|RoutesResolver|RouterExplorer|Mapped \{/.test(line),
        ),
      ).toEqual([]);
      expect(output.some((line) => line.includes(`sync-server listening on port`))).toBe(true);
      expect(output.some((line) => line.includes('Local auth is on'))).toBe(false);
      service.child.kill('SIGTERM');
      expect(await service.exited).toEqual({ code: 0, signal: null });
    },
    START_MS,
  );
});
