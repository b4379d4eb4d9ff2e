import { useService } from '../support/service-fixture';

const EPOCH = '1970-01-01T00:00:00.000Z';

function inserts(table: string, prefix: string, count: number) {
  return Array.from({ length: count }, (_, i) => ({
    table,
    id: `${prefix}-${i}`,
    op: 'insert',
    data: { title: `${prefix} ${i}`, n: i },
  }));
}

/** Every id once: returns the duplicates (should be none). */
function duplicates(ids: string[]): string[] {
  const seen = new Set<string>();
  return ids.filter((id) => (seen.has(id) ? true : (seen.add(id), false)));
}

describe('cursor: every change exactly once', () => {
  const t = useService({}, { membershipApi: false });

  it('pages that end inside one push (rows of one transaction) lose and repeat nothing', async () => {
    const a = await t.client('user-1', 'a', 'app-batch');
    const b = await t.client('user-1', 'b', 'app-batch');
    expect((await a.push(inserts('tasks', 't', 2500))).status).toBe(200);
    const { changes, pages } = await b.pullAll('tasks', EPOCH);
    expect(pages).toBe(3);
    const ids = changes.map((c) => c.id);
    expect(duplicates(ids)).toEqual([]);
    expect(new Set(ids)).toEqual(new Set(inserts('tasks', 't', 2500).map((c) => c.id)));
    // In the order they were written.
    expect(ids).toEqual(inserts('tasks', 't', 2500).map((c) => c.id));
  });

  it('6,000 changes reach another client completely through paged push responses and pulls', async () => {
    const a = await t.client('user-1', 'a', 'app-6k');
    const b = await t.client('user-1', 'b', 'app-6k');
    const c = await t.client('user-1', 'c', 'app-6k');
    const start = (await b.push([])).body.syncedUntil;
    for (let i = 0; i < 3; i++) {
      expect(
        (await a.push([...inserts('tasks', `t${i}`, 1400), ...inserts('notes', `n${i}`, 600)]))
          .status,
      ).toBe(200);
    }

    // B: its own push answers the first page (no silent cut), empty pushes page on.
    const received: string[] = [];
    let response = await b.push([{ table: 'notes', id: 'from-b', op: 'insert', data: {} }], start);
    received.push(...response.body.serverChanges.map((ch: any) => `${ch.table}/${ch.id}`));
    let pushes = 1;
    while (response.body.hasMore) {
      response = await b.push([], response.body.syncedUntil);
      received.push(...response.body.serverChanges.map((ch: any) => `${ch.table}/${ch.id}`));
      pushes++;
    }
    expect(pushes).toBe(6);
    expect(received).toHaveLength(6000);
    expect(duplicates(received)).toEqual([]);

    // C: per-collection pulls, and it also gets B's change.
    const tasks = await c.pullAll('tasks', EPOCH);
    const notes = await c.pullAll('notes', EPOCH);
    expect(tasks.changes).toHaveLength(4200);
    expect(notes.changes).toHaveLength(1801);
    expect(
      duplicates([...tasks.changes, ...notes.changes].map((ch) => `${ch.table}/${ch.id}`)),
    ).toEqual([]);
  });

  it('delivers a slow writer that commits after later pushes exactly once', async () => {
    const a = await t.client('user-1', 'a', 'app-slow');
    const b = await t.client('user-1', 'b', 'app-slow');
    let cursor = (await b.pull('tasks', EPOCH)).body.syncedUntil;
    const received: string[] = [];
    const written: string[] = [];
    const pullOnce = async () => {
      const { status, body } = await b.pull('tasks', cursor);
      expect(status).toBe(200);
      received.push(...body.serverChanges.map((ch: any) => ch.id));
      cursor = body.syncedUntil;
      return body.hasMore as boolean;
    };

    // Another service writing to sync_changes directly, in a transaction that stays open 2 s.
    const slow = await t.db.pool.connect();
    await slow.query('BEGIN');
    await slow.query(
      `INSERT INTO sync_changes (app_id, table_name, record_id, user_id, op, data, client_id)
       VALUES ('app-slow', 'tasks', 'slow-row', 'user-1', 'insert', '{"slow":true}', 'direct-writer')`,
    );
    written.push('slow-row');

    let pullsDuringSleep = 0;
    const sleepUntil = Date.now() + 2000;
    let i = 0;
    while (Date.now() < sleepUntil) {
      const id = `fast-${i++}`;
      expect((await a.push([{ table: 'tasks', id, op: 'insert', data: { i } }])).status).toBe(200);
      written.push(id);
      await pullOnce();
      pullsDuringSleep++;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // While the slow writer is open, nothing committed after it is handed out yet.
    expect(received).toEqual([]);
    await slow.query('COMMIT');
    slow.release();

    for (let more = true; more;) more = await pullOnce();
    expect(pullsDuringSleep).toBeGreaterThan(5);
    expect(duplicates(received)).toEqual([]);
    expect(received.sort()).toEqual([...written].sort());
  });

  it('accepts a plain ISO time (a mana-sync cursor) and continues with its own cursor', async () => {
    const a = await t.client('user-1', 'a', 'app-legacy');
    const b = await t.client('user-1', 'b', 'app-legacy');
    await t.db.pool.query(
      `INSERT INTO sync_changes (app_id, table_name, record_id, user_id, op, data, client_id, created_at)
       VALUES ('app-legacy', 'tasks', 'old', 'user-1', 'insert', '{}', 'go', '2026-01-01T00:00:00Z'),
              ('app-legacy', 'tasks', 'newer', 'user-1', 'insert', '{}', 'go', '2026-06-01T00:00:00Z')`,
    );
    await a.push([{ table: 'tasks', id: 'current', op: 'insert', data: {} }]);
    const goCursor = '2026-03-01T00:00:00.123456789Z';
    const { changes, cursor } = await b.pullAll('tasks', goCursor);
    expect(changes.map((c) => c.id)).toEqual(['newer', 'current']);
    expect(cursor > goCursor).toBe(true);
    expect((await b.pull('tasks', cursor)).body.serverChanges).toEqual([]);
  });
});
