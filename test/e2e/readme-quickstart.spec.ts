import { spawn } from 'child_process';
import { mkdtemp, readFile, rm, symlink } from 'fs/promises';
import { tmpdir } from 'os';
import { join, resolve } from 'path';
import { readZip } from '../support/backup-archive';
import { ServiceProcess, spawnService } from '../support/service-process';
import { createTestDatabase, TestDatabase } from '../support/test-database';

/**
 * The README's quickstart, run as written against a started service with local
 * auth on, so the README cannot drift from the code. Two things differ from a
 * person pasting it: the service's port, and `sleep 1` (a person's "give the
 * listeners a moment"), which here waits until both listeners are connected.
 */

const ROOT = resolve(__dirname, '../..');

function quickstartBlock(readme: string): string {
  const marker = readme.indexOf('<!-- quickstart');
  if (marker < 0) throw new Error('README.md has no <!-- quickstart --> marker');
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(marker));
  if (!block) throw new Error('no ```sh block after the quickstart marker');
  return block[1];
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs bash until it and everything it started in the background closed their output. */
function bash(script: string, cwd: string, env: Record<string, string>): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn('bash', ['-c', script], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.once('error', fail);
    child.once('close', (code) => done({ code, stdout, stderr }));
  });
}

describe('README quickstart', () => {
  let db: TestDatabase;
  let dir: string;
  let service: ServiceProcess | undefined;

  beforeAll(async () => {
    db = await createTestDatabase();
    // A working directory of its own (the backup lands there), with what the commands use.
    dir = await mkdtemp(join(tmpdir(), 'quickstart-'));
    for (const entry of ['package.json', 'tsconfig.json', 'node_modules', 'src']) {
      await symlink(join(ROOT, entry), join(dir, entry));
    }
  });
  afterAll(async () => {
    if (service && service.child.exitCode === null) service.child.kill('SIGKILL');
    await db.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('syncs a task from the laptop to the phone, live and by pull, and exports a backup', async () => {
    const env = {
      LOCAL_AUTH: 'true',
      LOCAL_AUTH_KEY_FILE: join(dir, 'local-auth-key.json'),
      DATABASE_URL: db.url,
    };
    // Frequent heartbeats: the stream's curl notices at once that `sed` stopped reading.
    service = await spawnService({ ...env, LOG_LEVEL: 'info', SSE_HEARTBEAT_MS: '100' });
    await service.ready();
    expect(service.output()).toContain(
      'Local auth is on (LOCAL_AUTH=true): get a token with \\"npm run token -- <userId>\\"',
    );

    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    const host = new URL(service.url).host;
    const script = quickstartBlock(readme).replaceAll('localhost:3050', host);
    const prelude = `set -eu
sleep() {
  until h=$(curl -s http://${host}/health) &&
    [[ $h == *'"authenticatedWebsockets":1'* && $h == *'"sseStreams":1'* ]]; do
    command sleep 0.05
  done
}
`;
    const childEnv: Record<string, string> = {};
    for (const [key, value] of Object.entries({ ...process.env, ...env })) {
      if (value !== undefined) childEnv[key] = value;
    }
    const run = await bash(prelude + script, dir, childEnv);
    const context = `stdout:\n${run.stdout}\nstderr:\n${run.stderr}`;
    expect({ code: run.code, context }).toEqual({ code: 0, context });
    const lines = run.stdout.split('\n');

    // The WebSocket: authenticated, then told of the laptop's push.
    expect(lines).toContain('websocket: {"type":"auth-ok"}');
    expect(lines).toContain(
      'websocket: {"type":"sync-available","appId":"todo","tables":["tasks"]}',
    );

    // The stream: a catch-up, then the task as it was pushed.
    const events = lines
      .filter((line) => line.startsWith('data: '))
      .map((line) => JSON.parse(line.slice('data: '.length)));
    expect(events[0]).toMatchObject({ table: 'tasks', changes: [] });
    expect(events[events.length - 1]).toMatchObject({
      table: 'tasks',
      changes: [{ table: 'tasks', id: 'task-1', op: 'insert', data: { title: 'Buy milk' } }],
    });

    // The laptop's push (its own change is not sent back), then the phone's pull.
    const answers = lines.filter((line) => line.startsWith('{')).map((line) => JSON.parse(line));
    expect(answers).toEqual([
      { serverChanges: [], conflicts: [], syncedUntil: expect.any(String), hasMore: false },
      {
        serverChanges: [
          expect.objectContaining({ id: 'task-1', op: 'insert', data: { title: 'Buy milk' } }),
        ],
        conflicts: [],
        syncedUntil: expect.any(String),
        hasMore: false,
      },
    ]);

    // The backup: alice's one event, with its manifest.
    const entries = await readZip(await readFile(join(dir, 'alice.mana')));
    const manifest = JSON.parse(entries.find((e) => e.name === 'manifest.json')!.data.toString());
    expect(manifest).toMatchObject({ eventCount: 1 });
    const archived = entries
      .find((e) => e.name === 'events.jsonl')!
      .data.toString()
      .trim();
    expect(archived.split('\n')).toHaveLength(1);
    expect(lines.some((line) => /alice\.mana$/.test(line))).toBe(true);
  });
});
