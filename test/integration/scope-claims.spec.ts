import { Client } from 'pg';
import { RLS_SCOPE_SQL } from '../../src/store/rls-transaction.runner';
import { createTestDatabase, TestDatabase } from '../support/test-database';

const INSERT = `INSERT INTO sync_changes (app_id, table_name, record_id, user_id, space_id, op, data, client_id)
  VALUES ('todo', 'tasks', $1, $2, $3, 'insert', '{}', 'direct')`;

/**
 * Migration ScopeClaims (docs/cursor.md): writers claim their rows' scopes before their
 * transaction has an id, the database refuses rows that were not claimed in time, and a
 * reader's horizon waits only for the claim holders of its own scopes.
 */
describe('scope claims', () => {
  let db: TestDatabase;
  const clients: Client[] = [];

  async function connect(): Promise<Client> {
    const client = new Client({ connectionString: db.url });
    await client.connect();
    clients.push(client);
    return client;
  }

  /** The horizon a reader of this user and these spaces reads now, in a transaction of its own. */
  async function horizonOf(reader: Client, userId: string, spaces: string[] = []): Promise<bigint> {
    await reader.query('BEGIN');
    await reader.query(RLS_SCOPE_SQL, ['sync_app', userId, spaces.join(',')]);
    const { rows } = await reader.query('SELECT sync_scope_horizon()::text AS h');
    await reader.query('COMMIT');
    return BigInt(rows[0].h);
  }

  /**
   * Commits a write of its own, so the next xid of later snapshots is past every id assigned
   * so far (other databases of the server share the ids: their transactions may be open).
   */
  async function tick(): Promise<bigint> {
    const { rows } = await db.pool.query(`SELECT pg_current_xact_id()::text AS x`);
    return BigInt(rows[0].x);
  }

  beforeAll(async () => {
    db = await createTestDatabase();
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.end()));
    await db.drop();
  });

  it('refuses a row whose scope was not claimed before the transaction had an id', async () => {
    const c = await connect();
    await c.query('BEGIN');
    await c.query('CREATE TEMP TABLE IF NOT EXISTS t (x int)');
    await c.query('INSERT INTO t VALUES (1)');
    await expect(c.query(INSERT, ['r1', 'user-a', null])).rejects.toMatchObject({
      code: '55000',
      message: expect.stringMatching(/without claiming its scope/),
    });
    await c.query('ROLLBACK');

    // Too late to claim once there is an id.
    await c.query('BEGIN');
    await c.query('SELECT pg_current_xact_id()');
    await expect(c.query(`SELECT sync_claim_scopes('user-a')`)).rejects.toMatchObject({
      code: '55000',
    });
    await c.query('ROLLBACK');

    // Claimed the user but not the space of the row; then another user's row.
    await c.query('BEGIN');
    await c.query(`SELECT sync_claim_scopes('user-a')`);
    await expect(c.query(INSERT, ['r2', 'user-a', 'space-1'])).rejects.toMatchObject({
      code: '55000',
    });
    await c.query('ROLLBACK');
    await c.query('BEGIN');
    await c.query(`SELECT sync_claim_scopes('user-a', '{space-1}')`);
    await c.query(INSERT, ['r3', 'user-a', 'space-1']);
    await expect(c.query(INSERT, ['r4', 'user-b', null])).rejects.toMatchObject({
      code: '55000',
    });
    await c.query('ROLLBACK');
  });

  it('a claim rolled back with its savepoint is gone, lock and record both; one before it stays', async () => {
    const c = await connect();
    await c.query('BEGIN');
    await c.query(`SELECT sync_claim_scopes('user-r')`);
    await c.query('SAVEPOINT s');
    await c.query(`SELECT sync_claim_scopes('user-s')`);
    await c.query('ROLLBACK TO SAVEPOINT s');
    const { rows } = await c.query(
      `SELECT count(*)::int AS n FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'advisory'`,
    );
    expect(rows[0].n).toBe(1);
    await c.query(INSERT, ['r1', 'user-r', null]);
    await expect(c.query(INSERT, ['s1', 'user-s', null])).rejects.toMatchObject({
      code: '55000',
    });
    await c.query('ROLLBACK');
  });

  it('a first insert without any claim holds every reader (the wildcard) until it ends', async () => {
    const writer = await connect();
    const reader = await connect();
    await writer.query('BEGIN');
    await writer.query(INSERT, ['w1', 'user-w', null]);
    const { rows } = await writer.query(`SELECT pg_current_xact_id()::text AS x`);
    const xid = BigInt(rows[0].x);
    await tick();
    expect(await horizonOf(reader, 'someone-else')).toBe(xid);
    await writer.query('COMMIT');
    await tick();
    expect(await horizonOf(reader, 'someone-else')).toBeGreaterThan(xid);
  });

  it('a reader waits for the claim holders of its own scopes only', async () => {
    const a = await connect();
    const spaceWriter = await connect();
    const unrelated = await connect();
    const reader = await connect();
    await unrelated.query('BEGIN');
    await unrelated.query('CREATE TEMP TABLE IF NOT EXISTS u (x int)');
    await unrelated.query('INSERT INTO u VALUES (1)');
    await a.query('BEGIN');
    await a.query(`SELECT sync_claim_scopes('user-a')`);
    await a.query(INSERT, ['a1', 'user-a', null]);
    const aXid = BigInt((await a.query(`SELECT pg_current_xact_id()::text AS x`)).rows[0].x);
    await spaceWriter.query('BEGIN');
    await spaceWriter.query(`SELECT sync_claim_scopes('user-c', '{space-1}')`);
    await spaceWriter.query(INSERT, ['c1', 'user-c', 'space-1']);
    const cXid = BigInt(
      (await spaceWriter.query(`SELECT pg_current_xact_id()::text AS x`)).rows[0].x,
    );
    // A claim without an id yet (a push between its BEGIN and its insert) bounds nobody.
    const early = await connect();
    await early.query('BEGIN');
    await early.query(`SELECT sync_claim_scopes('user-b')`);

    const ticked = await tick();
    expect(await horizonOf(reader, 'user-b')).toBeGreaterThan(ticked);
    expect(await horizonOf(reader, 'user-a')).toBe(aXid);
    expect(await horizonOf(reader, 'user-b', ['space-1'])).toBe(cXid);
    expect(await horizonOf(reader, 'user-a', ['space-1'])).toBe(aXid < cXid ? aXid : cXid);

    await a.query('COMMIT');
    await tick();
    expect(await horizonOf(reader, 'user-a')).toBeGreaterThan(aXid);
    await Promise.all([spaceWriter.query('ROLLBACK'), unrelated.query('ROLLBACK')]);
    await early.query('ROLLBACK');
  });

  it('leaves no lock behind on the reader: probes are released at once', async () => {
    const reader = await connect();
    await horizonOf(reader, 'user-p', ['x', 'y']);
    const { rows } = await reader.query(
      `SELECT count(*)::int AS n FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'advisory'`,
    );
    expect(rows[0].n).toBe(0);
  });
});
