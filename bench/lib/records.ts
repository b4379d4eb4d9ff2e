import { randomUUID } from 'crypto';

export const APP_ID = 'todo';
export const EPOCH = '1970-01-01T00:00:00.000Z';

const WORDS = [
  'groceries',
  'invoice',
  'meeting',
  'garden',
  'dentist',
  'report',
  'birthday',
  'train',
  'review',
  'backup',
  'painting',
  'budget',
  'laundry',
  'tickets',
  'library',
  'plumber',
];

let counter = 0;

/**
 * A realistic to-do record as the web app stores it: about 300 bytes of JSON
 * (the seeded rows in seed.ts have the same shape and size).
 */
export function makeRecord(): Record<string, unknown> {
  const n = ++counter;
  const word = (k: number): string => WORDS[(n * 7 + k) % WORDS.length];
  const now = new Date().toISOString();
  return {
    id: randomUUID(),
    title: `${word(1)} ${word(2)} #${n}`,
    description: `Remember the ${word(3)} and the ${word(4)} before the ${word(5)}.`,
    completed: n % 3 === 0,
    priority: n % 5,
    tags: [word(7), word(8)],
    listId: '6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f',
    order: n,
    updatedAt: now,
  };
}

/** The wire form of an insert (mana-sync `Change`). */
export function insertChange(table = 'todos'): {
  table: string;
  id: string;
  op: 'insert';
  data: Record<string, unknown>;
} {
  const data = makeRecord();
  return { table, id: data.id as string, op: 'insert', data };
}

/** Mean size of the JSON of `n` generated records, for the report. */
export function meanRecordBytes(n = 200): number {
  let total = 0;
  for (let i = 0; i < n; i++) total += Buffer.byteLength(JSON.stringify(makeRecord()));
  return total / n;
}
