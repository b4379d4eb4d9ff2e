import {
  BadRequestError,
  ChangePage,
  EPOCH,
  ForbiddenError,
  LiveMode,
  NetworkError,
  PayloadTooLargeError,
  RateLimitedError,
  ServiceUnavailableError,
  SyncClient,
  SyncInactiveError,
  UnauthorizedError,
} from '@sync-server/client';
import { FakeCreditsServer } from '../support/fake-credits';
import { HttpFaultProxy, TcpCutProxy } from '../support/fault-proxy';
import { useService } from '../support/service-fixture';
import { sleep, until } from '../support/ws-client';

/** The client package (packages/client) against the real service, over real sockets. */
describe('@sync-server/client', () => {
  const credits = new FakeCreditsServer();
  const t = useService(
    () => ({
      SYNC_PAGE_SIZE: '7',
      MANA_CREDITS_URL: credits.url,
      MANA_SERVICE_KEY: credits.serviceKey,
      RATE_LIMIT_PUSH_PER_MINUTE: '0',
      RATE_LIMIT_PULL_PER_MINUTE: '0',
    }),
    {
      beforeStart: async ({ auth }) => {
        await credits.start();
        credits.inactiveUsers.add('lapsed');
        auth.memberships.set('ann', ['team-a']);
      },
    },
  );
  afterAll(() => credits.stop());

  const client = async (
    userId: string,
    clientId: string,
    baseUrl = t.service.url,
    extra: Partial<ConstructorParameters<typeof SyncClient>[0]> = {},
  ): Promise<SyncClient> =>
    new SyncClient({
      baseUrl,
      appId: 'todo',
      clientId,
      token: await t.auth.token(userId),
      retry: { baseDelayMs: 20 },
      ...extra,
    });

  const insert = (table: string, id: string, data: Record<string, unknown> = {}) => ({
    table,
    id,
    op: 'insert' as const,
    data,
  });

  /** Everything of a collection by pulls, and the last cursor. */
  async function pullEverything(c: SyncClient, table: string, since = EPOCH) {
    const ids: string[] = [];
    let cursor = since;
    let pages = 0;
    for await (const page of c.pullAll(table, since)) {
      ids.push(...page.changes.map((change) => change.id));
      cursor = page.syncedUntil;
      pages++;
    }
    return { ids, cursor, pages };
  }

  it('gives every change an eventId, pages a pull by its cursors, and leaves out the own changes', async () => {
    const laptop = await client('kim', 'laptop');
    const phone = await client('kim', 'phone');
    const changes = Array.from({ length: 20 }, (_, i) => insert('tasks', `t${i}`, { i }));
    const pushed = await laptop.push(changes);
    expect(pushed.sent.map((c) => c.eventId)).toEqual(
      changes.map(() => expect.stringMatching(/^[0-9a-f-]{36}$/)),
    );
    expect(new Set(pushed.sent.map((c) => c.eventId)).size).toBe(20);
    expect(changes[0]).not.toHaveProperty('eventId');
    expect(pushed.serverChanges).toEqual([]);

    const all = await pullEverything(phone, 'tasks');
    expect(all.ids).toEqual(changes.map((c) => c.id));
    expect(all.pages).toBe(3);
    const stored = (await pullEverything(phone, 'tasks')).ids;
    expect(stored).toHaveLength(20);
    // The eventIds became the row ids.
    const first = await phone.pull('tasks');
    expect(first.changes[0].eventId).toBe(pushed.sent[0].eventId);

    await laptop.push([insert('tasks', 'later')]);
    expect((await pullEverything(phone, 'tasks', all.cursor)).ids).toEqual(['later']);
    expect((await pullEverything(laptop, 'tasks')).ids).toEqual([]);
  });

  describe('retries', () => {
    let proxy: HttpFaultProxy;
    beforeAll(async () => {
      proxy = await new HttpFaultProxy(t.service.url).start();
    });
    afterAll(() => proxy.stop());
    beforeEach(() => {
      proxy.faults.length = 0;
      proxy.requests.length = 0;
    });

    it('stores a push whose answer was lost once, retrying with the same eventIds', async () => {
      const writer = await client('lee', 'writer', proxy.url);
      proxy.faults.push('lose-answer', 'lose-answer');
      const result = await writer.push([insert('notes', 'n1'), insert('notes', 'n2')]);
      expect(proxy.requests).toHaveLength(3);
      const bodies = proxy.requests.map((r) => JSON.parse(r.body).changes);
      expect(bodies[1]).toEqual(bodies[0]);
      expect(bodies[2]).toEqual(bodies[0]);
      expect(bodies[0].map((c: any) => c.eventId)).toEqual(result.sent.map((c) => c.eventId));
      const reader = await client('lee', 'reader');
      expect((await pullEverything(reader, 'notes')).ids).toEqual(['n1', 'n2']);
    });

    it('waits as long as Retry-After says on 503 and 429', async () => {
      const writer = await client('lee', 'writer', proxy.url);
      proxy.faults.push({ status: 503, retryAfter: '1' }, { status: 429, retryAfter: '1' });
      await writer.push([insert('notes', 'n3')]);
      const [a, b, c] = proxy.requests;
      expect(proxy.requests.map((r) => r.fault)).toEqual([
        { status: 503, retryAfter: '1' },
        { status: 429, retryAfter: '1' },
        undefined,
      ]);
      expect(b.at - a.at).toBeGreaterThanOrEqual(990);
      expect(c.at - b.at).toBeGreaterThanOrEqual(990);
    });

    it('gives up after the attempts it was given, with the typed error', async () => {
      const writer = await client('lee', 'writer', proxy.url, {
        retry: { attempts: 3, baseDelayMs: 10 },
      });
      proxy.faults.push({ status: 503 }, { status: 503 }, { status: 503 }, { status: 503 });
      await expect(writer.push([insert('notes', 'never')])).rejects.toBeInstanceOf(
        ServiceUnavailableError,
      );
      expect(proxy.requests).toHaveLength(3);
      proxy.faults.length = 0;
      proxy.faults.push({ status: 429, retryAfter: '3600' });
      const error = await writer.push([insert('notes', 'never')]).catch((e) => e);
      expect(error).toBeInstanceOf(RateLimitedError);
      expect(error.retryAfterMs).toBe(3_600_000);
      expect(proxy.requests).toHaveLength(4);
      const reader = await client('lee', 'reader');
      expect((await pullEverything(reader, 'notes')).ids).not.toContain('never');
    });

    it('does not retry what a retry cannot cure', async () => {
      const writer = await client('lee', 'writer', proxy.url);
      const error = await writer
        .push([{ table: 'notes', id: 'x', op: 'upsert' as any }])
        .catch((e) => e);
      expect(error).toBeInstanceOf(BadRequestError);
      expect(error.status).toBe(400);
      expect(error.message).toMatch(/changes.*op/);
      expect(proxy.requests).toHaveLength(1);
    });

    it('reports a service it cannot reach as a NetworkError after its retries', async () => {
      const writer = new SyncClient({
        baseUrl: 'http://127.0.0.1:1',
        appId: 'todo',
        clientId: 'w',
        retry: { attempts: 2, baseDelayMs: 10 },
      });
      await expect(writer.pull('notes')).rejects.toBeInstanceOf(NetworkError);
    });
  });

  it('throws typed errors for 401, 402, 403 and 413', async () => {
    const stranger = new SyncClient({
      baseUrl: t.service.url,
      appId: 'todo',
      clientId: 'x',
      token: 'not-a-jwt',
    });
    const unauthorized = await stranger.pull('tasks').catch((e) => e);
    expect(unauthorized).toBeInstanceOf(UnauthorizedError);
    expect(unauthorized.body).toMatchObject({ statusCode: 401 });

    const lapsed = await client('lapsed', 'l');
    const inactive = await lapsed.push([insert('tasks', 'a')]).catch((e) => e);
    expect(inactive).toBeInstanceOf(SyncInactiveError);
    expect(inactive.code).toBe('sync_inactive');

    const ann = await client('ann', 'a');
    await ann.push([{ ...insert('tasks', 'shared'), spaceId: 'team-a' }]);
    const forbidden = await ann
      .push([{ ...insert('tasks', 'foreign'), spaceId: 'team-z' }])
      .catch((e) => e);
    expect(forbidden).toBeInstanceOf(ForbiddenError);
    expect(forbidden.message).toMatch(/team-z/);

    const big = await ann
      .push([insert('tasks', 'big', { text: 'x'.repeat(11 * 1024 * 1024) })])
      .catch((e) => e);
    expect(big).toBeInstanceOf(PayloadTooLargeError);
  });

  it("lets a browser on another origin send the client's headers and read Retry-After", async () => {
    const preflight = await fetch(`${t.service.url}/sync/todo`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://app.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type,idempotency-key,x-client-id',
      },
    });
    expect(preflight.status).toBeLessThan(300);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(preflight.headers.get('access-control-allow-headers')?.split(',').sort()).toEqual([
      'authorization',
      'content-type',
      'idempotency-key',
      'x-client-id',
    ]);
    const answer = await fetch(`${t.service.url}/sync/todo/pull?collection=tasks`, {
      headers: { origin: 'https://app.example' },
    });
    expect(answer.headers.get('access-control-expose-headers')).toMatch(/Retry-After/i);
  });

  it('exports a backup and imports it again (stored events are skipped)', async () => {
    const sam = await client('sam', 'laptop');
    await sam.push([insert('tasks', 's1'), insert('notes', 's2')]);
    const download = await sam.exportBackup();
    expect(download.fileName).toMatch(/\.mana$/);
    const archive = new Uint8Array(await new Response(download.body).arrayBuffer());
    expect([...archive.subarray(0, 2)]).toEqual([0x50, 0x4b]);
    const restored = { read: 2, inserted: 0, skipped: 2, complete: true };
    expect(await sam.importBackup(archive)).toEqual(restored);
    expect(await sam.importBackup(new Blob([archive]))).toEqual(restored);
    expect(await sam.importBackup(new Blob([archive]).stream())).toEqual(restored);
  });

  describe.each<LiveMode>(['sse', 'websocket'])('live (%s)', (mode) => {
    let proxy: TcpCutProxy;
    beforeAll(async () => {
      proxy = await new TcpCutProxy(Number(new URL(t.service.url).port)).start();
    });
    afterAll(() => proxy.stop());

    it('misses nothing and repeats nothing across lost connections', async () => {
      const user = `live-${mode}`;
      const writer = await client(user, 'writer');
      // Something before the subscription, in one collection only.
      await writer.push([insert('tasks', 'before-1'), insert('tasks', 'before-2')]);
      const received: ChangePage[] = [];
      const statuses: string[] = [];
      const errors: unknown[] = [];
      const reader = await client(user, 'reader', proxy.url);
      const live = reader.live(['tasks', 'notes'], (page) => void received.push(page), {
        mode,
        onStatus: (status) => statuses.push(status),
        onError: (error, willRetry) => errors.push({ error, willRetry }),
      });
      const ids = (): string[] => received.flatMap((page) => page.changes.map((c) => c.id));
      expect(await until(() => live.status === 'live', 10_000)).toBe(true);
      expect(ids()).toEqual(['before-1', 'before-2']);

      const expected = ['before-1', 'before-2'];
      // A writer pushes to both collections, by different amounts, while the connection is
      // cut again and again: the collections' cursors differ at each cut, and changes land
      // while the subscription reconnects.
      let writing = true;
      const writes = (async () => {
        for (let round = 0; writing; round++) {
          const batch = [
            ...Array.from({ length: 1 + (round % 3) }, (_, i) =>
              insert('tasks', `r${round}-t${i}`),
            ),
            ...Array.from({ length: 1 + (round % 2) }, (_, i) =>
              insert('notes', `r${round}-n${i}`),
            ),
          ];
          await writer.push(batch);
          expected.push(...batch.map((c) => c.id));
          await sleep(2);
        }
      })();
      for (let cut = 0; cut < 12; cut++) {
        await sleep(60 + ((cut * 37) % 90));
        proxy.cutAll();
      }
      writing = false;
      await writes;
      expect(await until(() => ids().length >= expected.length, 15_000)).toBe(true);
      await sleep(300);
      expect([...ids()].sort()).toEqual([...expected].sort());
      expect(errors.length).toBeGreaterThan(0);
      for (const { error, willRetry } of errors as { error: unknown; willRetry: boolean }[]) {
        expect({ network: error instanceof NetworkError, willRetry }).toEqual({
          network: true,
          willRetry: true,
        });
      }
      expect(statuses.filter((s) => s === 'reconnecting').length).toBeGreaterThan(0);
      // The subscription's cursors are those of the last pages it handed over.
      const last = (table: string) => received.filter((p) => p.table === table).at(-1)!;
      expect(live.cursors).toEqual({
        tasks: last('tasks').syncedUntil,
        notes: last('notes').syncedUntil,
      });
      live.close();
      expect(await live.closed).toBeUndefined();
      expect(statuses.at(-1)).toBe('closed');

      // Picking up later from those cursors: what came meanwhile, and only that.
      await writer.push([insert('notes', 'after')]);
      const again: string[] = [];
      const resumed = reader.live(
        ['tasks', 'notes'],
        (p) => void again.push(...p.changes.map((c) => c.id)),
        {
          mode,
          since: live.cursors,
        },
      );
      expect(await until(() => resumed.status === 'live', 10_000)).toBe(true);
      expect(again).toEqual(['after']);
      resumed.close();
    }, 60_000);

    it("stops on an error of the app's onChanges, without taking that page's cursor", async () => {
      const user = `handler-${mode}`;
      await (await client(user, 'writer')).push([insert('tasks', 'a')]);
      const reader = await client(user, 'reader');
      const broken = new Error('the app could not store it');
      const live = reader.live(
        ['tasks'],
        (page) => {
          if (page.changes.length > 0) throw broken;
        },
        { mode },
      );
      expect(await live.closed).toBe(broken);
      expect(live.status).toBe('closed');
      expect(live.cursors).toEqual({ tasks: EPOCH });
    });

    it('stops with the typed error when the token is refused', async () => {
      const stranger = new SyncClient({
        baseUrl: t.service.url,
        appId: 'todo',
        clientId: 'x',
        token: 'not-a-jwt',
      });
      const live = stranger.live(['tasks'], () => undefined, { mode });
      expect(await live.closed).toBeInstanceOf(UnauthorizedError);
      expect(live.status).toBe('closed');
    });
  });
});
