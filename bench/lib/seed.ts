import { Client } from 'pg';
import { connect } from './raw';
import { APP_ID } from './records';

/** The client id of every seeded row (no bench client uses it, so echo suppression drops none). */
export const SEED_CLIENT_ID = 'bench-seed-device';

const WORDS = `ARRAY['groceries','invoice','meeting','garden','dentist','report','birthday','train',
  'review','backup','painting','budget','laundry','tickets','library','plumber']`;

/** The same record shape and size as records.ts makes (about 300 bytes of JSON). */
const DATA_SQL = `jsonb_build_object(
  'id', md5(i::text)::uuid,
  'title', (${WORDS})[1 + (i * 7 + 1) % 16] || ' ' || (${WORDS})[1 + (i * 7 + 2) % 16] || ' #' || i,
  'description', 'Remember the ' || (${WORDS})[1 + (i * 7 + 3) % 16] || ' and the '
    || (${WORDS})[1 + (i * 7 + 4) % 16] || ' before the ' || (${WORDS})[1 + (i * 7 + 5) % 16] || '.',
  'completed', i % 3 = 0,
  'priority', i % 5,
  'tags', jsonb_build_array((${WORDS})[1 + (i * 7 + 7) % 16], (${WORDS})[1 + (i * 7 + 8) % 16]),
  'listId', '6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f',
  'order', i,
  'updatedAt', '2026-11-27T10:00:00.000Z')`;

export interface SeedSpec {
  /** Rows i = 1..count. */
  count: number;
  /** SQL of the row's user id, in terms of i. */
  userSql: string;
  /** SQL of the row's collection, in terms of i. */
  tableSql: string;
  /** Prefix of the record ids. */
  prefix: string;
}

/**
 * Inserts rows straight as the database superuser (not through the API, so
 * no RLS) with multi-row INSERT ... SELECT generate_series, in chunks of
 * `chunk` rows, each its own transaction as a long-lived table would have.
 */
export async function seed(
  url: string,
  spec: SeedSpec,
  onProgress?: (rows: number) => void,
  chunk = 50_000,
): Promise<void> {
  const client: Client = await connect(url);
  try {
    await client.query('SET synchronous_commit = off');
    for (let from = 1; from <= spec.count; from += chunk) {
      const to = Math.min(spec.count, from + chunk - 1);
      await client.query(
        `INSERT INTO sync_changes (app_id, table_name, record_id, user_id, op, data, client_id)
         SELECT $3, ${spec.tableSql}, $4 || i, ${spec.userSql}, 'insert', ${DATA_SQL}, $5
           FROM generate_series($1::bigint, $2::bigint) AS i`,
        [from, to, APP_ID, `${spec.prefix}-`, SEED_CLIENT_ID],
      );
      onProgress?.(to);
    }
  } finally {
    await client.end();
  }
}

/**
 * The pull data set: `total` rows across `users` users, interleaved as
 * concurrent users' writes are. The user being caught up holds one row in ten
 * (all in collection `todos`) so that the catch-up has pages enough for
 * percentiles; the others share the rest across three collections.
 */
export function pullSeed(total: number, users: number): SeedSpec & { heavyUser: string } {
  const heavyUser = 'bench-pull-0';
  return {
    count: total,
    heavyUser,
    userSql: `CASE WHEN i % 10 = 0 THEN '${heavyUser}' ELSE 'bench-pull-' || (1 + (i / 10) % ${users - 1}) END`,
    tableSql: `CASE WHEN i % 10 = 0 THEN 'todos' ELSE (ARRAY['todos','notes','events'])[1 + i % 3] END`,
    prefix: 'pull',
  };
}

/** The export data set: `total` rows of one user across three collections. */
export function exportSeed(total: number): SeedSpec & { user: string } {
  const user = 'bench-export-0';
  return {
    count: total,
    user,
    userSql: `'${user}'`,
    tableSql: `(ARRAY['todos','notes','events'])[1 + i % 3]`,
    prefix: 'export',
  };
}
