import 'reflect-metadata';
import { HttpException } from '@nestjs/common';
import { AuthenticatedUser } from '../../src/auth/authenticated-user';
import { UnavailableError } from '../../src/common/errors/domain-errors';
import { SpaceWriteRefusedError } from '../../src/spaces/space-write.policy';
import { PushChangeset, toChangeset } from '../../src/sync/change-mapper';
import { PushDto } from '../../src/sync/dto/push.dto';
import { EPOCH_CURSOR, parseSince } from '../../src/sync/sync-cursor';
import { IdempotencyKeyReusedError, SyncService } from '../../src/sync/sync.service';
import { ChangeRepository } from '../../src/store/change.repository';
import { createStoreContext, StoreContext } from '../support/store-context';
import { createTestDatabase, TestDatabase } from '../support/test-database';

interface Answer {
  serverChanges: { id: string; table: string; op: string; data?: unknown }[];
  conflicts: unknown[];
  syncedUntil: string;
  hasMore: boolean;
}

const PAGE_SIZE = 3;

/**
 * SyncService as the routes and streams use it, on a real PostgreSQL with the real store
 * (RLS role, pipelined transactions), without HTTP: its rules, its answers and its errors,
 * which are domain errors whoever calls it.
 */
describe('SyncService on PostgreSQL', () => {
  let db: TestDatabase;
  let store: StoreContext;
  let sync: SyncService;

  const alice: AuthenticatedUser = { userId: 'alice', spaceIds: ['team'] };
  const bob: AuthenticatedUser = { userId: 'bob', spaceIds: ['team'] };

  function changeset(changes: object[], since = EPOCH_CURSOR): PushChangeset {
    return toChangeset({ changes, since } as unknown as PushDto, 1);
  }

  /** A push in its own RLS transaction, as the route's interceptor runs it. */
  async function push(
    user: AuthenticatedUser,
    clientId: string,
    set: PushChangeset,
    key?: string,
  ): Promise<Answer> {
    const answer = await store.runner.runAsUser(
      user,
      () => sync.push('todo', clientId, set, user, key),
      { commitEarly: true },
    );
    return JSON.parse(answer.toString()) as Answer;
  }

  async function pull(user: AuthenticatedUser, clientId: string, since: string): Promise<Answer> {
    const answer = await store.runner.runAsUser(
      user,
      () => sync.pull('todo', 'tasks', parseSince(since), clientId),
      { commitEarly: true },
    );
    return JSON.parse(answer.toString()) as Answer;
  }

  async function rows(userId: string): Promise<string[]> {
    const { rows } = await db.pool.query(
      'SELECT record_id FROM sync_changes WHERE user_id = $1 ORDER BY tx_id, seq',
      [userId],
    );
    return rows.map((r: { record_id: string }) => r.record_id);
  }

  async function failure(run: () => Promise<unknown>): Promise<unknown> {
    try {
      await run();
    } catch (error) {
      return error;
    }
    throw new Error('expected a refusal');
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    store = await createStoreContext(db.url, { SYNC_PAGE_SIZE: String(PAGE_SIZE) });
    sync = store.context.get(SyncService);
  });

  afterAll(async () => {
    await store?.close();
    await db?.drop();
  });

  it("stores a push and answers with other clients' changes, never the pusher's own", async () => {
    const first = await push(
      alice,
      'laptop',
      changeset([{ table: 'tasks', id: 'a1', op: 'insert', data: { title: 'milk' } }]),
    );
    expect(first.serverChanges).toEqual([]);
    const second = await push(
      alice,
      'phone',
      changeset([{ table: 'tasks', id: 'a2', op: 'insert', data: { title: 'eggs' } }]),
    );
    expect(second.serverChanges).toEqual([
      expect.objectContaining({ id: 'a1', table: 'tasks', op: 'insert', data: { title: 'milk' } }),
    ]);
    expect(await rows('alice')).toEqual(['a1', 'a2']);
  });

  it("pulls page by page in log order, and another user's personal rows never", async () => {
    const ids = ['p1', 'p2', 'p3', 'p4', 'p5'];
    await push(
      alice,
      'laptop',
      changeset(ids.map((id) => ({ table: 'tasks', id, op: 'insert', data: {} }))),
    );
    const seen: string[] = [];
    let since = EPOCH_CURSOR;
    let pages = 0;
    for (;;) {
      const page = await pull(alice, 'tablet', since);
      pages++;
      seen.push(...page.serverChanges.map((c) => c.id));
      expect(page.serverChanges.length).toBeLessThanOrEqual(PAGE_SIZE);
      expect(page.syncedUntil > since).toBe(true);
      since = page.syncedUntil;
      if (!page.hasMore) break;
    }
    expect(seen).toEqual(['a1', 'a2', ...ids]);
    expect(pages).toBe(3);
    expect((await pull(alice, 'tablet', since)).serverChanges).toEqual([]);
    expect((await pull(bob, 'tablet', EPOCH_CURSOR)).serverChanges).toEqual([]);
  });

  it("reads a catch-up's pages by COPY and a live device's next pull by the prepared statement", async () => {
    const changes = store.context.get(ChangeRepository);
    const original = changes.changesSince.bind(changes);
    const byCopy: boolean[] = [];
    const spy = jest.spyOn(changes, 'changesSince').mockImplementation((q) => {
      byCopy.push(q.copy === true);
      return original(q);
    });
    try {
      let since = EPOCH_CURSOR;
      let pages = 0;
      for (;;) {
        const page = await pull(alice, 'watch', since);
        pages++;
        since = page.syncedUntil;
        if (!page.hasMore) break;
      }
      expect(pages).toBeGreaterThan(1);
      // From the epoch, and every page behind one that had more: by COPY.
      expect(byCopy.splice(0)).toEqual(Array.from({ length: pages }, () => true));
      await push(
        alice,
        'laptop',
        changeset([{ table: 'tasks', id: 'live', op: 'insert', data: {} }]),
      );
      const live = await pull(alice, 'watch', since);
      expect(live.serverChanges.map((c) => c.id)).toEqual(['live']);
      // The push's answer, and the live device's pull after a page with nothing behind it.
      expect(byCopy).toEqual([false, false]);
    } finally {
      spy.mockRestore();
    }
  });

  it('shares rows of a space with its members, and refuses a space the writer is not in', async () => {
    await push(
      alice,
      'laptop',
      changeset([{ table: 'tasks', id: 's1', op: 'insert', data: {}, spaceId: 'team' }]),
    );
    expect((await pull(bob, 'desk', EPOCH_CURSOR)).serverChanges.map((c) => c.id)).toEqual(['s1']);
    const error = await failure(() =>
      push(
        alice,
        'laptop',
        changeset([
          { table: 'tasks', id: 's2', op: 'insert', data: {} },
          { table: 'tasks', id: 's3', op: 'insert', data: {}, spaceId: 'other-team' },
        ]),
      ),
    );
    expect(error).toBeInstanceOf(SpaceWriteRefusedError);
    expect(error).not.toBeInstanceOf(HttpException);
    expect((error as Error).message).toBe('changes[1].spaceId: not a member of space "other-team"');
    const unknown = { userId: 'alice', spaceIds: [], membershipsAvailable: false };
    expect(
      await failure(() =>
        push(
          unknown,
          'laptop',
          changeset([{ table: 'tasks', id: 's4', op: 'insert', data: {}, spaceId: 'team' }]),
        ),
      ),
    ).toBeInstanceOf(UnavailableError);
    expect(await rows('alice')).not.toContain('s2');
    expect(await rows('alice')).not.toContain('s4');
  });

  it('replays the answer of a key verbatim, stores once, and refuses the key for another body', async () => {
    const set = changeset([{ table: 'tasks', id: 'k1', op: 'insert', data: { n: 1 } }]);
    const original = await push(bob, 'desk', set, 'key-1');
    const retried = await push(bob, 'desk', set, 'key-1');
    expect(retried).toEqual(original);
    expect(await rows('bob')).toEqual(['k1']);
    const other = changeset([{ table: 'tasks', id: 'k2', op: 'insert', data: { n: 2 } }]);
    const error = await failure(() => push(bob, 'desk', other, 'key-1'));
    expect(error).toBeInstanceOf(IdempotencyKeyReusedError);
    expect(error).not.toBeInstanceOf(HttpException);
    expect(await rows('bob')).toEqual(['k1']);
  });

  it('stores nothing of a push whose transaction rolls back after it', async () => {
    const error = await failure(() =>
      store.runner.runAsUser(bob, async () => {
        await sync.push(
          'todo',
          'desk',
          changeset([{ table: 'tasks', id: 'r1', op: 'insert', data: {} }]),
          bob,
        );
        throw new Error('the caller failed after the push');
      }),
    );
    expect((error as Error).message).toBe('the caller failed after the push');
    expect(await rows('bob')).toEqual(['k1']);
  });
});
