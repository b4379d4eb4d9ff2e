import { execFile } from 'child_process';
import { resolve } from 'path';
import { promisify } from 'util';
import { createTestDatabase, TestDatabase } from '../support/test-database';

const run = promisify(execFile);
const ROOT = resolve(__dirname, '../..');

/** `npm run compact -- ...` as an operator runs it. */
describe('npm run compact', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
    for (const [title, at, age] of [
      ['a', '2026-01-01T00:00:00Z', 200],
      ['b', '2026-01-02T00:00:00Z', 10],
      ['c', '2026-01-03T00:00:00Z', 1],
    ] as const) {
      await db.pool.query(
        `INSERT INTO sync_changes (app_id, table_name, record_id, user_id, op, data, field_meta, client_id, created_at)
         VALUES ('app', 'notes', 'n1', 'cli-user', 'update', $1, $2, 'c', now() - make_interval(hours => $3))`,
        [{ title }, { title: at }, age],
      );
    }
  });

  afterAll(async () => {
    await db.drop();
  });

  const compact = (...args: string[]) =>
    run('npm', ['run', '--silent', 'compact', '--', ...args], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: db.url, DB_MIGRATE_ON_START: 'false' },
    });
  const titles = async () =>
    (await db.pool.query(`SELECT data->>'title' AS t FROM sync_changes ORDER BY seq`)).rows.map(
      (r) => r.t,
    );

  it('prints what it did and exits 0; --dry-run changes nothing; --min-age-hours overrides', async () => {
    const dry = await compact('--dry-run', '--min-age-hours', '0');
    expect(dry.stdout).toMatch(
      /^compaction pass complete: scanned 3 rows of 1 records in 1 batches, would remove 2 rows, would strip 0 fields, \d+ ms\n$/,
    );
    expect(await titles()).toEqual(['a', 'b', 'c']);

    // Default minimum age (72 h): only the 200 h old row may go.
    const once = await compact('--user', 'cli-user');
    expect(once.stdout).toMatch(/removed 1 rows/);
    expect(await titles()).toEqual(['b', 'c']);

    const other = await compact('--user', 'someone-else', '--min-age-hours', '0');
    expect(other.stdout).toMatch(/scanned 0 rows of 0 records in 0 batches, removed 0 rows/);
    expect(await titles()).toEqual(['b', 'c']);
  }, 120_000);

  it('refuses unknown arguments with its usage (exit 2)', async () => {
    await expect(compact('--users', 'x')).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('usage: npm run compact'),
    });
  }, 60_000);
});
