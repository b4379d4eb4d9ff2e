import { mkdtemp, rm, writeFile } from 'fs/promises';
import { tmpdir } from 'os';
import { join } from 'path';
import { Writable } from 'stream';
import { loadOrCreateLocalSigningKey } from '../../src/auth/local-signing-key';
import { useService } from '../support/service-fixture';
import { SyncClient } from '../support/sync-client';
import { runTokenCommand } from '../support/token-command';
import { WsTestClient } from '../support/ws-client';
import { CLOSE_POLICY_VIOLATION } from '../../src/realtime/socket-sessions.service';

/** Keeps every log line the service writes. */
class LogSink extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    done();
  }
}

const task = (id: string, spaceId?: string) => ({
  table: 'tasks',
  id,
  op: 'insert',
  data: { title: id, ...(spaceId ? { spaceId } : {}) },
});

describe('local development auth (LOCAL_AUTH=true)', () => {
  let dir: string;
  const sink = new LogSink();
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'local-auth-'));
    await writeFile(
      join(dir, 'members.json'),
      JSON.stringify({ alice: ['team-1'], bob: ['team-1'] }),
    );
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));
  const env = () => ({
    LOCAL_AUTH: 'true',
    JWKS_URL: '',
    LOCAL_AUTH_KEY_FILE: join(dir, 'key.json'),
    LOCAL_MEMBERSHIPS_FILE: join(dir, 'members.json'),
  });
  let aliceToken: string;
  const t = useService(env, {
    // Before the service runs: the command creates the key, and the service then adopts it.
    beforeStart: async ({ db }) => {
      const { stdout } = await runTokenCommand(['alice', '--ttl', '10m'], {
        ...env(),
        DATABASE_URL: db.url,
      });
      const lines = stdout.trimEnd().split('\n');
      aliceToken = lines[lines.length - 1];
    },
    membershipApi: false,
    logger: ['log', 'warn', 'error'],
    logDestination: sink,
  });

  it('says so in one start-up line that tells how to get a token', () => {
    const lines = sink.lines.filter((line) => line.includes('Local auth is on'));
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]).msg).toBe(
      'Local auth is on (LOCAL_AUTH=true): get a token with "npm run token -- <userId>"; for development only, set JWKS_URL in production',
    );
  });

  it('serves a token that `npm run token` made before the service started, with memberships from the local file', async () => {
    expect(aliceToken).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);

    const key = await loadOrCreateLocalSigningKey(join(dir, 'key.json'));
    const alice = new SyncClient(t.service.url, aliceToken, 'alice-laptop');
    const bob = new SyncClient(t.service.url, await key.sign('bob', '5m'), 'bob-phone');
    const carol = new SyncClient(t.service.url, await key.sign('carol', '5m'), 'carol-phone');

    expect((await alice.push([task('own'), task('shared', 'team-1')])).status).toBe(200);
    // bob shares team-1 with alice (the file says so) and reads its rows; carol is in no space.
    expect((await bob.pullAll('tasks')).changes.map((c: { id: string }) => c.id)).toEqual([
      'shared',
    ]);
    expect((await carol.pullAll('tasks')).changes).toEqual([]);
    const refused = await carol.push([task('intrusion', 'team-1')]);
    expect(refused.status).toBe(403);
    expect(refused.body.message).toBe('changes[0].spaceId: not a member of space "team-1"');
  });

  it('refuses tokens of the identity service it is not configured for', async () => {
    const response = await new SyncClient(
      t.service.url,
      await t.auth.token('alice'),
      'alice-laptop',
    ).pull('tasks');
    expect(response.status).toBe(401);
    expect(response.body.message).toBe('Token signed by an unknown key');
  });

  it('logs no membership warnings: there is no membership service to fail', () => {
    expect(sink.lines.filter((line) => /membership/i.test(line))).toEqual([]);
  });
});

describe('local auth off (JWKS_URL configured)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'local-auth-off-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));
  const t = useService({ LOCAL_AUTH_KEY_FILE: '/nonexistent/never-read.json' });

  it('refuses a locally minted token, over HTTP and WebSocket alike', async () => {
    expect(t.service.config.auth.localAuth).toBeUndefined();
    const key = await loadOrCreateLocalSigningKey(join(dir, 'key.json'));
    const token = await key.sign('alice', '5m');
    const response = await new SyncClient(t.service.url, token, 'alice-laptop').push([task('x')]);
    expect(response.status).toBe(401);
    expect(response.body).toEqual({
      statusCode: 401,
      error: 'Unauthorized',
      message: 'Token signed by an unknown key',
    });
    const socket = await WsTestClient.open(t.service.url, '/ws');
    socket.send({ type: 'auth', token });
    expect((await socket.closed).code).toBe(CLOSE_POLICY_VIOLATION);
    expect(socket.of('auth-ok')).toEqual([]);
  });

  it('makes `npm run token` refuse too, saying why', async () => {
    await expect(
      runTokenCommand(['alice'], { DATABASE_URL: t.db.url, LOCAL_AUTH_KEY_FILE: join(dir, 'k') }),
    ).rejects.toMatchObject({
      code: 1,
      stdout: '',
      stderr: expect.stringContaining('token: local auth is off here (DATABASE_URL is set)'),
    });
  });
});
