import { useService } from '../support/service-fixture';

const EPOCH = '1970-01-01T00:00:00.000Z';

describe('pages end at a byte budget (SYNC_PAGE_MAX_BYTES=3000)', () => {
  const t = useService({ SYNC_PAGE_MAX_BYTES: '3000' }, { membershipApi: false });

  it('pull pages hold about the budget (at least one row), hasMore until the end, every row once', async () => {
    const writer = await t.client('user-b', 'device-w');
    const changes = Array.from({ length: 10 }, (_, i) => ({
      table: 'notes',
      id: `n${i}`,
      op: 'insert',
      data: { text: `${i}`.padEnd(1000, '.') },
    }));
    expect((await writer.push(changes)).status).toBe(200);

    const reader = await t.client('user-b', 'device-r');
    const pages: { ids: string[]; hasMore: boolean }[] = [];
    let since = EPOCH;
    for (let i = 0; i < 20; i++) {
      const { status, body } = await reader.pull('notes', since);
      expect(status).toBe(200);
      pages.push({
        ids: body.serverChanges.map((c: { id: string }) => c.id),
        hasMore: body.hasMore,
      });
      since = body.syncedUntil;
      if (!body.hasMore) break;
    }
    expect(pages.flatMap((p) => p.ids)).toEqual(changes.map((c) => c.id));
    // ~1 KB rows under a 3,000-byte budget: three per page.
    expect(pages.map((p) => p.ids.length)).toEqual([3, 3, 3, 1]);
    expect(pages.map((p) => p.hasMore)).toEqual([true, true, true, false]);

    // The push answer is the same read: it ends at the budget too.
    const other = await t.client('user-b', 'device-o');
    const { body } = await other.push([], EPOCH);
    expect(body.serverChanges).toHaveLength(3);
    expect(body.hasMore).toBe(true);
  });
});

describe('pages of rows near the body limit (default budget, 4 MB)', () => {
  const t = useService({}, { membershipApi: false });

  it('serves one 6 MB row per page, the next one on the following page', async () => {
    const writer = await t.client('user-big', 'device-w');
    // Highly compressible on purpose: the budget counts the size as written, not as stored.
    for (const id of ['big-1', 'big-2']) {
      const { status } = await writer.push([
        { table: 'files', id, op: 'insert', data: { blob: id.padEnd(6 * 1024 * 1024, 'x') } },
      ]);
      expect(status).toBe(200);
    }
    const reader = await t.client('user-big', 'device-r');
    const first = await reader.pull('files', EPOCH);
    expect(first.status).toBe(200);
    expect(first.body.serverChanges.map((c: { id: string }) => c.id)).toEqual(['big-1']);
    expect(first.body.serverChanges[0].data.blob).toHaveLength(6 * 1024 * 1024);
    expect(first.body.hasMore).toBe(true);
    const second = await reader.pull('files', first.body.syncedUntil);
    expect(second.body.serverChanges.map((c: { id: string }) => c.id)).toEqual(['big-2']);
    expect(second.body.hasMore).toBe(false);
  });

  it('serves rows read in pieces whole, through pull, the push answer and SSE', async () => {
    const writer = await t.client('user-pieces', 'device-w');
    // Several pieces each (WIRE_PIECE_BYTES), of multi-byte characters cut anywhere.
    const blob = (n: number) => `${n}:${'aü€😀"\\'.repeat(20_000 + n * 7_001)}`;
    const changes = [1, 2, 3].map((n) => ({
      table: 'files',
      id: `p${n}`,
      op: 'insert',
      data: { blob: blob(n) },
    }));
    expect((await writer.push(changes)).status).toBe(200);

    const reader = await t.client('user-pieces', 'device-r');
    const pulled = await reader.pull('files', EPOCH);
    expect(pulled.body.serverChanges.map((c: { data: { blob: string } }) => c.data.blob)).toEqual(
      changes.map((c) => c.data.blob),
    );
    const answer = await (await t.client('user-pieces', 'device-o')).push([], EPOCH);
    expect(answer.body.serverChanges.map((c: { id: string }) => c.id)).toEqual(['p1', 'p2', 'p3']);
    expect(answer.body.serverChanges[2].data.blob).toBe(blob(3));

    const stream = await reader.stream(['files'], EPOCH);
    try {
      const events = await stream.waitFor((all) => all.some((e) => e.event === 'changes'), 20_000);
      const sent = events.find((e) => e.event === 'changes')!.data;
      expect(sent.changes.map((c: { data: { blob: string } }) => c.data.blob)).toEqual(
        changes.map((c) => c.data.blob),
      );
    } finally {
      stream.close();
    }
  });
});
