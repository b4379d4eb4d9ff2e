/**
 * Random histories of one record for the compaction property tests: inserts
 * with and without times, updates of random field subsets at times with many
 * ties and clock skew, soft and hard deletes, by two authors in and outside a
 * shared space; and random local states of a device.
 */
import type { LocalRecord, ModelRow } from './web-client-model';

import type { Random } from './seeded-random';

export type { Random } from './seeded-random';
export { seededRandom } from './seeded-random';

export function seedFromEnv(): number {
  const raw = process.env.SEED;
  return raw ? Number(raw) : Math.floor(Math.random() * 2 ** 31);
}

export const GROUPS: readonly { userId: string; spaceId: string | null }[] = [
  { userId: 'user-a', spaceId: null },
  { userId: 'user-a', spaceId: 'space-s' },
  { userId: 'user-b', spaceId: 'space-s' },
];

const FIELDS = ['title', 'done', 'note', 'deletedAt', 'updatedAt'];

const pick = <T>(random: Random, items: readonly T[]): T =>
  items[Math.floor(random() * items.length)];

/** Few distinct times, so ties are common; a device clock may be anywhere among them. */
export function randomTime(random: Random): string {
  return `2026-01-01T00:00:0${Math.floor(random() * 7)}.000Z`;
}

function subset(random: Random, items: readonly string[], min: number, max: number): string[] {
  const count = min + Math.floor(random() * (max - min + 1));
  const shuffled = [...items].sort(() => random() - 0.5);
  return shuffled.slice(0, count);
}

export function randomRow(random: Random, groups = GROUPS): ModelRow {
  const group = pick(random, groups);
  const createdAt = randomTime(random);
  const actor = { kind: 'user', id: `${group.userId}-${Math.floor(random() * 3)}` };
  const base = { ...group, createdAt, actor, fieldMeta: {} as Record<string, unknown> };
  const r = random();
  if (r < 0.25) {
    const data: Record<string, unknown> = {};
    for (const field of subset(random, ['title', 'done', 'note', 'deletedAt'], 0, 4)) {
      data[field] = field === 'deletedAt' ? null : `v${Math.floor(random() * 5)}`;
    }
    const time = random();
    if (time < 0.45) data.updatedAt = randomTime(random);
    else if (time < 0.8) data.createdAt = randomTime(random);
    else if (time < 0.83) data.updatedAt = 7;
    return { ...base, op: 'insert', data };
  }
  if (r < 0.7) {
    const data: Record<string, unknown> = {};
    const fieldMeta: Record<string, unknown> = {};
    for (const field of subset(random, FIELDS, 1, 3)) {
      data[field] = field === 'deletedAt' && random() < 0.5 ? null : `v${Math.floor(random() * 5)}`;
      if (random() < 0.92) fieldMeta[field] = randomTime(random);
    }
    return { ...base, op: 'update', data, fieldMeta };
  }
  if (r < 0.88) {
    return { ...base, op: 'delete', data: { deletedAt: randomTime(random) } };
  }
  return { ...base, op: 'delete', data: random() < 0.5 ? {} : { deletedAt: '' } };
}

export function randomHistory(random: Random, maxRows = 14): ModelRow[] {
  const length = 1 + Math.floor(random() * maxRows);
  return Array.from({ length }, () => randomRow(random));
}

/** The device's own unsynced edits: field writes at local times, a local soft delete. */
export function withLocalEdits(random: Random, record: LocalRecord | undefined): LocalRecord {
  const values = { ...(record?.values ?? {}) };
  const meta = { ...(record?.meta ?? {}) };
  for (const field of subset(random, FIELDS, 0, 3)) {
    const at = randomTime(random);
    values[field] = field === 'deletedAt' ? at : `local${Math.floor(random() * 3)}`;
    meta[field] = { at, actor: { kind: 'user', id: 'local' } };
  }
  return { values, meta };
}

/** All non-empty sets of groups: what some device may see of the record. */
export function views(groupCount = GROUPS.length): number[][] {
  const result: number[][] = [];
  for (let mask = 1; mask < 1 << groupCount; mask++) {
    result.push([...Array(groupCount).keys()].filter((g) => mask & (1 << g)));
  }
  return result;
}

export function groupOf(row: ModelRow): number {
  return GROUPS.findIndex((g) => g.userId === row.userId && g.spaceId === row.spaceId);
}

/** A row that odd writers (scripts, other services, old servers) may leave in the log. */
export function oddRow(random: Random, row: ModelRow): ModelRow {
  const data = row.data as Record<string, unknown>;
  const odd = (variants: (() => ModelRow)[]) => pick(random, variants)();
  if (row.op === 'insert') {
    return odd([
      () => ({ ...row, data: { ...data, updatedAt: '2026-01-01T00:00:0\u00e9' } }),
      () => ({ ...row, data: { ...data, id: 'other' } }),
      () => ({ ...row, data: { ...data, __fieldMeta: {} } }),
      () => ({ ...row, data: null }),
      () => ({ ...row, data: ['a'] }),
      () => ({ ...row, data: { ...data, createdAt: { at: 1 } } }),
    ]);
  }
  if (row.op === 'update') {
    const first = Object.keys(data)[0];
    return odd([
      () => ({ ...row, data: {}, fieldMeta: {} }),
      () => ({ ...row, fieldMeta: { ...row.fieldMeta, [first]: 5 } }),
      () => ({ ...row, data: { ...data, _updatedAtIndex: 'x' } }),
      () => ({ ...row, fieldMeta: null as unknown as Record<string, unknown> }),
      () => ({ ...row, fieldMeta: { ...row.fieldMeta, [first]: '\u{1F600}' } }),
    ]);
  }
  return odd([
    () => ({ ...row, data: { deletedAt: 5 } }),
    () => ({ ...row, data: null }),
    () => ({ ...row, data: { deletedAt: '2026-01-01T00:00:0\u00e9' } }),
  ]);
}
