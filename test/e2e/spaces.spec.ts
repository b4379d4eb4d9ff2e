import { useService } from '../support/service-fixture';
import { SyncClient } from '../support/sync-client';

const TTL_MS = 300;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('shared spaces', () => {
  const t = useService(
    { MEMBERSHIP_CACHE_TTL_MS: String(TTL_MS) },
    {
      beforeStart: ({ auth }) => {
        auth.memberships.set('owner', ['space-s']);
        auth.memberships.set('member', ['space-s']);
      },
    },
  );
  let owner: SyncClient;
  let member: SyncClient;
  let stranger: SyncClient;

  beforeAll(async () => {
    owner = await t.client('owner');
    member = await t.client('member');
    stranger = await t.client('stranger');
  });

  async function countRows(sql: string, params: unknown[] = []): Promise<number> {
    const { rows } = await t.db.pool.query(
      `SELECT count(*)::int AS n FROM sync_changes WHERE ${sql}`,
      params,
    );
    return rows[0].n;
  }

  it("lets a member read a co-member's space record via pull, push response and SSE; not a stranger", async () => {
    const stream = await member.stream(['lists']);
    await stream.waitFor((events) => events.some((e) => e.event === 'changes'));

    const push = await owner.push([
      {
        table: 'lists',
        id: 'shared-1',
        op: 'insert',
        data: { name: 'Groceries' },
        spaceId: 'space-s',
      },
      {
        table: 'lists',
        id: 'private-1',
        op: 'insert',
        data: { name: 'Mine' },
        spaceId: '_personal:owner',
      },
    ]);
    expect(push.status).toBe(200);

    const pulled = await member.pullAll('lists');
    expect(pulled.changes.map((c) => c.id)).toEqual(['shared-1']);
    const pushResponse = await member.push([]);
    expect(pushResponse.body.serverChanges.map((c: any) => c.id)).toEqual(['shared-1']);
    const live = await stream.waitFor((events) =>
      events.some(
        (e) => e.event === 'changes' && e.data.changes.some((c: any) => c.id === 'shared-1'),
      ),
    );
    expect(live.length).toBeGreaterThan(1);
    stream.close();

    expect((await stranger.pullAll('lists')).changes).toEqual([]);
  });

  it('stops showing a space once the membership is removed and the cache expired', async () => {
    await owner.push([{ table: 'boards', id: 'b1', op: 'insert', data: {}, spaceId: 'space-s' }]);
    expect((await member.pullAll('boards')).changes).toHaveLength(1);
    t.auth.memberships.set('member', []);
    await sleep(TTL_MS + 100);
    expect((await member.pullAll('boards')).changes).toEqual([]);
    t.auth.memberships.set('member', ['space-s']);
    await sleep(TTL_MS + 100);
  });

  it('refuses a write into a foreign space (403) and stores nothing of the push', async () => {
    for (const spaceId of ['space-s', '_personal:owner']) {
      const response = await stranger.push([
        { table: 'notes', id: 'ok', op: 'insert', data: {} },
        { table: 'notes', id: 'intrusion', op: 'insert', data: {}, spaceId },
      ]);
      expect(response.status).toBe(403);
      expect(response.body.message).toMatch(/changes\[1\]\.spaceId/);
    }
    expect(await countRows(`user_id = 'stranger'`)).toBe(0);
    expect(
      (
        await stranger.push([
          { table: 'notes', id: 'mine', op: 'insert', data: {}, spaceId: '_personal:stranger' },
        ])
      ).status,
    ).toBe(200);
  });

  it('the database itself refuses the same write made directly in SQL as the service role', async () => {
    const client = await t.db.pool.connect();
    const insertAs = async (userId: string, spaceIds: string, spaceId: string) => {
      await client.query('BEGIN');
      try {
        await client.query(
          `SELECT set_config('role', 'sync_app', true), set_config('app.current_user_id', $1, true),
                  set_config('app.current_user_space_ids', $2, true)`,
          [userId, spaceIds],
        );
        await client.query(
          `INSERT INTO sync_changes (app_id, table_name, record_id, user_id, op, data, client_id, space_id)
           VALUES ('todo', 'notes', 'direct', $1, 'insert', '{}', 'sql', $2)`,
          [userId, spaceId],
        );
        await client.query('COMMIT');
        return 'stored';
      } catch (error) {
        await client.query('ROLLBACK');
        return (error as { code?: string }).code;
      }
    };
    try {
      expect(await insertAs('stranger', '', 'space-s')).toBe('42501');
      expect(await insertAs('stranger', 'other-space', '_personal:owner')).toBe('42501');
      expect(await insertAs('owner', 'space-s', 'space-s')).toBe('stored');
    } finally {
      client.release();
    }
  });

  describe('when the auth service is down', () => {
    afterEach(async () => {
      t.auth.failMembershipsWith = undefined;
      await sleep(TTL_MS + 100);
    });

    it('still syncs own rows and personal-space writes, answers 503 + Retry-After for a real space, and succeeds once it is back', async () => {
      t.auth.failMembershipsWith = 500;
      await sleep(TTL_MS + 100);
      const own = await owner.push([
        { table: 'todo', id: 'p1', op: 'insert', data: {}, spaceId: '_personal:owner' },
        { table: 'todo', id: 'p2', op: 'insert', data: {} },
      ]);
      expect(own.status).toBe(200);
      expect((await owner.pull('todo')).status).toBe(200);

      const shared = [{ table: 'todo', id: 's1', op: 'insert', data: {}, spaceId: 'space-s' }];
      const refused = await owner.push(shared);
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(await countRows(`record_id = 's1'`)).toBe(0);

      t.auth.failMembershipsWith = undefined;
      await sleep(TTL_MS + 100);
      expect((await owner.push(shared)).status).toBe(200);
      expect(await countRows(`record_id = 's1'`)).toBe(1);
    });
  });

  it('makes one membership request for concurrent requests of one user', async () => {
    await sleep(TTL_MS + 100);
    const before = t.auth.membershipRequests;
    await Promise.all(Array.from({ length: 10 }, () => member.pull('lists')));
    expect(t.auth.membershipRequests - before).toBe(1);
  });
});
