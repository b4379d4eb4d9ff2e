import {
  GROUPS,
  groupOf,
  randomHistory,
  randomTime,
  seedFromEnv,
  seededRandom,
  views,
  withLocalEdits,
} from '../../test/support/compaction-histories';
import { applyAll, LocalRecord, ModelRow, stateKey } from '../../test/support/web-client-model';
import { judgeRecord, StoredRowFacts } from './compaction-rule';

function factsOf(row: ModelRow, eligible: boolean): StoredRowFacts {
  const data = row.data as Record<string, unknown> | null;
  const isObject = data !== null && typeof data === 'object' && !Array.isArray(data);
  return {
    userId: row.userId,
    spaceId: row.spaceId,
    op: row.op,
    dataType: data === null ? null : Array.isArray(data) ? 'array' : typeof data,
    keys: isObject ? Object.keys(data) : null,
    // As read from jsonb: an absent key and a JSON null both arrive as null.
    updatedAt: isObject ? (data.updatedAt ?? null) : null,
    createdAt: isObject ? (data.createdAt ?? null) : null,
    deletedAt: isObject ? (data.deletedAt ?? null) : null,
    fieldMeta: row.fieldMeta,
    eligible,
  };
}

interface Positioned {
  position: number;
  row: ModelRow;
}

/** One pass of the rule over a log, applied the way the SQL pass applies it. */
function compact(log: readonly Positioned[], eligible: (p: Positioned) => boolean): Positioned[] {
  const verdict = judgeRecord(log.map((p) => factsOf(p.row, eligible(p))));
  const removed = new Set(verdict.remove);
  return log.flatMap((p, i) => {
    if (removed.has(i)) return [];
    const fields = verdict.strip.get(i);
    if (!fields) return [p];
    const data = { ...(p.row.data as Record<string, unknown>) };
    const fieldMeta = { ...p.row.fieldMeta };
    for (const field of fields) {
      delete data[field];
      delete fieldMeta[field];
    }
    return [{ position: p.position, row: { ...p.row, data, fieldMeta } }];
  });
}

const seed = seedFromEnv();
const CASES = Number(process.env.COMPACTION_CASES ?? 2000);

describe(`compaction rule against the web client's merge (SEED=${seed})`, () => {
  it('for every cursor, view and device state, the compacted log ends where the full log does', () => {
    const random = seededRandom(seed);
    const allViews = views();
    let removed = 0;
    let total = 0;
    for (let c = 0; c < CASES; c++) {
      const full = randomHistory(random).map((row, position) => ({ position, row }));
      const young = new Set(full.filter(() => random() < 0.15).map((p) => p.position));
      const once = compact(full, (p) => !young.has(p.position));
      const twice = compact(once, () => true);
      removed += full.length - twice.length;
      total += full.length;
      for (const compacted of [once, twice]) {
        for (let cursor = 0; cursor <= full.length; cursor++) {
          for (const view of allViews) {
            const seen = (p: Positioned) => view.includes(groupOf(p.row));
            const before = full.filter((p) => p.position < cursor && seen(p)).map((p) => p.row);
            const after = (log: Positioned[]) =>
              log.filter((p) => p.position >= cursor && seen(p)).map((p) => p.row);
            const prefix = applyAll(undefined, before, 'r1', '1970-01-01T00:00:00.000Z');
            const starts: (LocalRecord | undefined)[] = [
              prefix,
              withLocalEdits(random, prefix),
              undefined,
              withLocalEdits(random, undefined),
            ];
            const now = randomTime(random);
            for (const start of starts) {
              const expected = stateKey(applyAll(start, after(full), 'r1', now));
              const actual = stateKey(applyAll(start, after(compacted), 'r1', now));
              if (expected !== actual) {
                throw new Error(
                  `SEED=${seed} case ${c} cursor ${cursor} view ${view.map((g) => JSON.stringify(GROUPS[g]))} now ${now}\n` +
                    `start ${stateKey(start)}\nfull ${JSON.stringify(full, null, 1)}\n` +
                    `compacted ${JSON.stringify(compacted.map((p) => p.position))}\n` +
                    `expected ${expected}\nactual   ${actual}`,
                );
              }
            }
          }
        }
      }
    }
    // The rule must not be vacuous: random histories have plenty of superseded rows.
    expect(removed / total).toBeGreaterThan(0.15);
  });
});
