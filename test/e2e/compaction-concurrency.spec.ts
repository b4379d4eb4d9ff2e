import { CompactionService } from '../../src/compaction/compaction.service';
import { useService } from '../support/service-fixture';
import { applyAll, ModelRow, stateKey } from '../support/web-client-model';

const EPOCH = '1970-01-01T00:00:00.000Z';

describe('compaction while clients push and follow the cursor', () => {
  const t = useService(
    {
      COMPACTION_INTERVAL_MS: '0',
      COMPACTION_MIN_AGE_HOURS: '0',
      COMPACTION_BATCH_RECORDS: '4',
      SYNC_PAGE_SIZE: '50',
    },
    { membershipApi: false },
  );

  it('misses and repeats no surviving change, fails no push, and ends in the same state', async () => {
    const writer = await t.client('user-c', 'writer', 'app-c');
    const reader = await t.client('user-c', 'reader', 'app-c');
    const compaction = t.service.app.get(CompactionService);
    const records = 12;
    const initial = Array.from({ length: records }, (_, r) => ({
      table: 'notes',
      id: `n${r}`,
      op: 'insert',
      data: { title: 'start', body: 'start', updatedAt: '2026-01-01T00:00:00.000Z' },
    }));
    expect((await writer.push(initial)).status).toBe(200);

    let writing = true;
    const statuses: number[] = [];
    const writes = (async () => {
      for (let round = 1; round <= 30; round++) {
        const at = `2026-01-01T00:${String(round).padStart(2, '0')}:00.000Z`;
        const changes = Array.from({ length: records }, (_, r) => ({
          table: 'notes',
          id: `n${r}`,
          op: 'update',
          fields: { [round % 2 ? 'title' : 'body']: { value: `v${round}`, at } },
        }));
        statuses.push((await writer.push(changes)).status);
      }
      writing = false;
    })();

    let passes = 0;
    const compacting = (async () => {
      while (writing) {
        await compaction.runPass();
        passes++;
      }
    })();

    // The reader follows the cursor from the start while both run, then to the end.
    const received: { eventId: string; change: Record<string, unknown> }[] = [];
    let cursor = EPOCH;
    for (let more = true; more || writing;) {
      const { status, body } = await reader.pull('notes', cursor);
      expect(status).toBe(200);
      for (const change of body.serverChanges) received.push({ eventId: change.eventId, change });
      cursor = body.syncedUntil;
      more = body.hasMore;
    }
    await Promise.all([writes, compacting]);
    for (let more = true; more;) {
      const { body } = await reader.pull('notes', cursor);
      for (const change of body.serverChanges) received.push({ eventId: change.eventId, change });
      cursor = body.syncedUntil;
      more = body.hasMore;
    }
    await compaction.runPass();

    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(passes).toBeGreaterThan(0);
    const ids = received.map((r) => r.eventId);
    expect(new Set(ids).size).toBe(ids.length);
    const { rows } = await t.db.pool.query(
      `SELECT id FROM sync_changes WHERE app_id = 'app-c' ORDER BY tx_id, seq`,
    );
    expect(rows.length).toBeLessThan(records * 31);
    const got = new Set(ids);
    for (const row of rows) expect(got.has(row.id)).toBe(true);

    // A new device pulling the compacted log ends where the reader that saw it all did.
    const fresh = await t.client('user-c', 'fresh', 'app-c');
    const { changes: compacted } = await fresh.pullAll('notes', EPOCH);
    expect(compacted.length).toBe(rows.length);
    const asRow = (change: Record<string, unknown>): ModelRow => {
      const fields = (change.fields ?? {}) as Record<string, { value: unknown; at: string }>;
      return {
        userId: 'user-c',
        spaceId: null,
        op: change.op as string,
        data:
          change.op === 'insert'
            ? change.data
            : Object.fromEntries(Object.entries(fields).map(([k, f]) => [k, f.value])),
        fieldMeta: Object.fromEntries(Object.entries(fields).map(([k, f]) => [k, f.at])),
        createdAt: '',
        actor: change.actor ?? null,
      };
    };
    for (let r = 0; r < records; r++) {
      const of = (list: Record<string, unknown>[]) =>
        list.filter((c) => c.id === `n${r}`).map(asRow);
      expect(stateKey(applyAll(undefined, of(compacted), `n${r}`, EPOCH))).toBe(
        stateKey(applyAll(undefined, of(received.map((x) => x.change)), `n${r}`, EPOCH)),
      );
    }
  });
});

describe('compaction on its interval', () => {
  const t = useService(
    { COMPACTION_INTERVAL_MS: '100', COMPACTION_MIN_AGE_HOURS: '0' },
    { membershipApi: false, instances: 2 },
  );

  it('runs by itself on two instances, removes each row once and reports its metrics', async () => {
    const writer = await t.client('user-i', 'writer', 'app-i');
    for (let round = 1; round <= 5; round++) {
      const at = `2026-01-01T00:0${round}:00.000Z`;
      const response = await writer.push([
        { table: 'notes', id: 'n', op: 'update', fields: { title: { value: `v${round}`, at } } },
      ]);
      expect(response.status).toBe(200);
    }
    // Superseded rows go without anyone calling the pass.
    const remaining = async () =>
      (await t.db.pool.query(`SELECT count(*)::int AS n FROM sync_changes WHERE app_id = 'app-i'`))
        .rows[0].n;
    while ((await remaining()) > 1) await new Promise((done) => setTimeout(done, 50));
    const { rows } = await t.db.pool.query(
      `SELECT data->>'title' AS title FROM sync_changes WHERE app_id = 'app-i'`,
    );
    expect(rows).toEqual([{ title: 'v5' }]);

    const metrics = await Promise.all(
      t.services.map(async (s) => (await fetch(`${s.url}/metrics`)).text()),
    );
    const removed = metrics.map((text) =>
      Number(/^sync_compaction_rows_removed_total (\d+)/m.exec(text)?.[1]),
    );
    expect(removed[0] + removed[1]).toBe(4);
    for (const text of metrics) {
      expect(text).toMatch(/^sync_compaction_passes_total\{result="(complete|skipped)"\} \d+/m);
      expect(text).toMatch(/^sync_compaction_last_run_timestamp_seconds /m);
    }
  });
});
