import { execFile } from 'child_process';
import { mkdtemp, readFile, rm, writeFile } from 'fs/promises';
import { tmpdir } from 'os';
import { join, resolve } from 'path';
import { promisify } from 'util';
import { useService } from '../support/service-fixture';

const run = promisify(execFile);
const ROOT = resolve(__dirname, '../..');
const CLIENT = join(ROOT, 'packages/client');
const NODE = process.execPath;
/** npm's own script when the tests run under npm or npx. */
const NPM = process.env.npm_execpath?.replace(/npx-cli\.js$/, 'npm-cli.js');

/** npm through the Node that runs the tests (its own `npm` may be another Node's). */
function npm(args: string[], cwd: string) {
  return NPM && /\.js$/.test(NPM)
    ? run(NODE, [NPM, ...args], { cwd, maxBuffer: 16 << 20 })
    : run('npm', args, { cwd, maxBuffer: 16 << 20 });
}

describe('the client package', () => {
  const t = useService({}, { membershipApi: false });

  it('has types that match the document the service serves (else: npm run build --workspace @sync-server/client)', async () => {
    const result = await run(
      NODE,
      ['scripts/generate-types.mjs', '--check', '--from', `${t.service.url}/docs/openapi.json`],
      { cwd: CLIENT },
    ).catch((error: { stdout: string; stderr: string; code: number }) => error);
    expect({ code: 'code' in result ? result.code : 0, stderr: result.stderr }).toEqual({
      code: 0,
      stderr: '',
    });
    expect(result.stdout).toContain('matches the document');
  });

  describe('packed with npm pack and installed into a new project', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'client-package-'));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('installs offline, type-checks as an app uses it, and syncs against the service', async () => {
      await run(NODE, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], {
        cwd: CLIENT,
      });
      const { stdout: packed } = await npm(
        ['pack', '--ignore-scripts', '--json', '--pack-destination', dir],
        CLIENT,
      );
      const [{ filename, files }] = JSON.parse(packed);
      const paths: string[] = files.map((f: { path: string }) => f.path);
      expect(paths).toEqual(
        expect.arrayContaining(['package.json', 'README.md', 'dist/index.js', 'dist/index.d.ts']),
      );
      expect(paths.filter((p) => !/^(dist\/|package\.json$|README\.md$)/.test(p))).toEqual([]);

      const app = join(dir, 'app');
      await run('mkdir', ['-p', app]);
      await writeFile(
        join(app, 'package.json'),
        JSON.stringify({ name: 'scratch-app', private: true, type: 'module' }),
      );
      await npm(
        [
          'install',
          join(dir, filename),
          '--offline',
          '--no-audit',
          '--no-fund',
          '--ignore-scripts',
        ],
        app,
      );
      const installed = JSON.parse(
        await readFile(join(app, 'node_modules/@sync-server/client/package.json'), 'utf8'),
      );
      expect(installed.dependencies ?? {}).toEqual({});

      // The types, as an app with TypeScript's Node ESM resolution sees them.
      await writeFile(
        join(app, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            module: 'nodenext',
            moduleResolution: 'nodenext',
            target: 'es2022',
            lib: ['es2022', 'dom'],
            types: [],
            strict: true,
            noEmit: true,
          },
          include: ['check.ts', 'readme-example.ts'],
        }),
      );
      await writeFile(
        join(app, 'check.ts'),
        `import { SyncClient, UnauthorizedError, type Change, type ChangePage } from '@sync-server/client';
const client = new SyncClient({ baseUrl: 'http://localhost:3050', appId: 'todo', clientId: 'c' });
const change: Change = { table: 'tasks', id: '1', op: 'update', fields: { done: { value: true, at: new Date().toISOString() } } };
export async function use(): Promise<string> {
  const { syncedUntil } = await client.push([change]);
  for await (const page of client.pullAll('tasks', syncedUntil)) page.changes[0]?.eventId.toUpperCase();
  client.live(['tasks'], (page: ChangePage) => void page.hasMore, { mode: 'websocket' }).close();
  return new UnauthorizedError(401, 'no').status === 401 ? syncedUntil : '';
}
// @ts-expect-error: op is one of insert, update, delete
export const wrong: Change = { table: 'tasks', id: '1', op: 'upsert' };
`,
      );
      // The README's example, as written.
      const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
      const example = /```ts\n([\s\S]*?)```/.exec(
        readme.slice(readme.indexOf('<!-- client example')),
      );
      await writeFile(join(app, 'readme-example.ts'), example![1]);
      await run(NODE, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], {
        cwd: app,
      }).catch((error: { stdout: string }) => {
        throw new Error(`tsc in the new project:\n${error.stdout}`);
      });

      // And at run time, on this Node: a laptop pushes, a phone sees it live and pulls it.
      await writeFile(
        join(app, 'sync.mjs'),
        `import { SyncClient } from '@sync-server/client';
const [baseUrl, token] = process.argv.slice(2);
const laptop = new SyncClient({ baseUrl, appId: 'todo', clientId: 'laptop', token });
const phone = new SyncClient({ baseUrl, appId: 'todo', clientId: 'phone', token });
const seen = [];
let live;
await new Promise((resolve) => {
  live = phone.live(['tasks'], (page) => seen.push(...page.changes.map((c) => c.id)), {
    onStatus: (s) => s === 'live' && resolve(),
  });
});
await laptop.push([{ table: 'tasks', id: 'task-1', op: 'insert', data: { title: 'Buy milk' } }]);
while (seen.length === 0) await new Promise((r) => setTimeout(r, 20));
live.close();
const pulled = [];
for await (const page of phone.pullAll('tasks')) pulled.push(...page.changes.map((c) => c.id));
console.log(JSON.stringify({ seen, pulled }));
`,
      );
      const token = await t.auth.token('pat');
      const { stdout } = await run(NODE, ['sync.mjs', t.service.url, token], { cwd: app });
      expect(JSON.parse(stdout)).toEqual({ seen: ['task-1'], pulled: ['task-1'] });
    }, 120_000);
  });
});
