import { execFile } from 'child_process';
import { resolve } from 'path';
import { promisify } from 'util';
import { MIGRATIONS } from '../../migrations';
import { createEmptyDatabase, TestDatabase } from '../support/test-database';

const run = promisify(execFile);
const ROOT = resolve(__dirname, '../..');

/** `npm run migration:run|revert|show` (the TypeORM CLI on ormconfig.ts), as an operator runs them. */
describe('migration CLI', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createEmptyDatabase();
  });

  afterAll(async () => {
    await db.drop();
  });

  const npm = (script: string) =>
    run('npm', ['run', '--silent', script], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: db.url },
      maxBuffer: 16 * 1024 * 1024,
    });

  async function applied(): Promise<number> {
    const { rows } = await db.pool.query(`SELECT count(*)::int AS n FROM sync_migrations`);
    return rows[0].n;
  }

  it('runs every migration, reverts the last one and runs it again', async () => {
    await npm('migration:run');
    expect(await applied()).toBe(MIGRATIONS.length);
    await npm('migration:revert');
    expect(await applied()).toBe(MIGRATIONS.length - 1);
    const { stdout } = await npm('migration:show');
    expect(stdout).toMatch(new RegExp(`\\[ \\] ${MIGRATIONS[MIGRATIONS.length - 1].name}`));
    await npm('migration:run');
    expect(await applied()).toBe(MIGRATIONS.length);
  }, 120_000);
});
