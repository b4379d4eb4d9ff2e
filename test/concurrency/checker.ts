/**
 * The randomized concurrency checker (issue 13, item 6): many writers, some
 * of them direct SQL transactions held open 0-500 ms or rolled back, against
 * two instances of the service (a small SYNC_PAGE_SIZE and the default) on one
 * database, while readers follow their cursors through pulls, push responses,
 * SSE streams and WebSocket hints followed by pulls. A third instance, in a
 * process of its own, serves some writers until it is killed (SIGKILL) mid-run,
 * maybe between a COMMIT and its hint (with a seeded chance it holds its hints
 * back, so none of them ever leaves); its writers retry on another instance.
 * In the end every reader must hold every committed change of its scope exactly
 * once; the live ones (SSE, WebSocket) must get there from hints alone (the
 * notifications and the log sweep), in bounded time after the writers stop
 * (see `settleMs`).
 *
 * Strangers (issue 21): transactions on an unrelated table, and long writers of one
 * user's scope, each open for a seeded time in `strangerMs`. A change pushed through a
 * surviving instance while one is open must reach the live readers it does not concern
 * before it ends (with SYNC_HORIZON=global they wait for it: the check fails); their delay
 * is printed against the issue's 1 s.
 *
 * Every random choice comes from the seed (one generator per actor), so a
 * failing seed replays the same choices; the interleaving is up to the machine.
 *
 * Writers and readers are the client package (packages/client), as an app
 * uses it: pushes with eventIds and its retries, pullAll, live in both modes.
 */
import { randomUUID } from 'crypto';
import { Pool } from 'pg';
import { ForbiddenError, LiveMode, SyncClient, type SyncResponse } from '@sync-server/client';
import { FakeAuthServer } from '../support/fake-auth';
import { ServiceProcess, spawnService } from '../support/service-process';
import { startTestApp, TestApp } from '../support/test-app';
import { sleep } from '../support/ws-client';
import { seededRandom as random } from '../support/seeded-random';
import { errorMessage } from '../../src/common/error-message';

export interface CheckerOptions {
  seed: number;
  /** How long the writers write. */
  writeMs: number;
  /**
   * After the writers stopped, how long a live reader that still lacks changes may go
   * without receiving any (and it must be complete within MAX_SETTLE_FACTOR times this).
   */
  settleMs: number;
  /** A migrated database of the checker's own. */
  databaseUrl: string;
  /** Run the migrations at start-up (the CLI's fresh database). */
  migrate?: boolean;
  /** How long each stranger stays open: seeded between these (ms). Default 5 to 20 s. */
  strangerMs?: { min: number; max: number };
  /** SYNC_HORIZON of the instances (default scope). */
  horizon?: 'scope' | 'global';
  /**
   * Also fail when deliveries while strangers are open are slower than the issue's 1 s and
   * than the same run's deliveries while none is open (see strangerDelayBoundMs). Timing,
   * so for the soak only: `npm test` asserts the order of events alone.
   */
  assertStrangerDelay?: boolean;
  log?: (line: string) => void;
}

export interface ReaderResult {
  name: string;
  expected: number;
  received: number;
  /** For live readers: ms after the writers stopped until it held everything (-1: never). */
  settledMs?: number;
}

export interface CheckerReport {
  seed: number;
  pageSizes: number[];
  pushes: number;
  directTransactions: number;
  committed: number;
  rolledBack: number;
  refused: number;
  /** Deliveries compared against the committed log, summed over the readers. */
  deliveriesChecked: number;
  /** Strangers that were open, by kind. */
  strangers: { unrelated: number; writers: number };
  /** Live deliveries of changes pushed while a stranger that did not concern the reader was open. */
  strangerDeliveries: { checked: number; maxDelayMs: number; p99Ms: number };
  /** The same readers' deliveries of changes pushed while no stranger was open at all. */
  quietDeliveries: { checked: number; maxDelayMs: number; p99Ms: number };
  readers: ReaderResult[];
  failures: string[];
}

const APP = 'chk';
const EPOCH = '1970-01-01T00:00:00.000Z';
const TABLES = ['t1', 't2', 't3'];
const USERS = ['u0', 'u1', 'u2', 'u3'];
const SPACES: Record<string, string[]> = { 'sp-a': ['u0', 'u1'], 'sp-b': ['u1', 'u2', 'u3'] };
const SERVICE_WRITERS = 11;
const DIRECT_WRITERS = 5;
/** Service writers that follow their cursor through push responses (and are checked for it). */
const FOLLOWERS = 4;
const MAX_SETTLE_FACTOR = 10;
/**
 * A change pushed while a stranger is open, answered at least this long before the stranger
 * ends, must reach the live readers the stranger does not concern before it ends (held ones
 * arrive only after it). The delay itself is printed against the issue's 1 s, not asserted:
 * on a loaded shared machine pushes alone take seconds, whatever the horizon.
 */
const STRANGER_MARGIN_MS = 4_000;
const STRANGER_TARGET_MS = 1_000;

/**
 * The soak's bound on deliveries while strangers are open: the issue's 1 s, or, on a machine
 * the run itself saturates (where deliveries take longer than that with no stranger open),
 * half again the same run's p99 with none open. A held delivery waits for its stranger,
 * 5 to 20 s, far past either.
 */
export function strangerDelayBoundMs(quietP99Ms: number): number {
  return Math.max(STRANGER_TARGET_MS, Math.ceil(quietP99Ms * 1.5));
}

function percentile99(sorted: readonly number[]): number {
  return sorted.length > 0 ? sorted[Math.floor(sorted.length * 0.99)] : 0;
}
const DEFAULT_PAGE_SIZE = 1000;
/** The last writers push through the instance that is killed, then through another one. */
const DOOMED_WRITERS = 3;

const spacesOf = (user: string): string[] =>
  Object.keys(SPACES).filter((space) => SPACES[space].includes(user));

class Rng {
  private readonly next: () => number;
  constructor(seed: number) {
    this.next = random(seed);
  }
  float(): number {
    return this.next();
  }
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

interface Reader {
  name: string;
  user: string;
  /** Its own client id: the server leaves that client's changes out. */
  clientId: string;
  received: string[];
  live: boolean;
  /** Reads until caught up (non-live readers, after the writers stopped). */
  drain?: () => Promise<void>;
  /** Live readers: when each change first arrived (ms since the epoch). */
  receivedAt?: Map<string, number>;
  /** SYNC_PAGE_SIZE of the instance it reads from. */
  pageSize?: number;
  close?: () => void;
}

/** Runs one check; never throws for a violation (they are in `failures`). */
export async function runConcurrencyCheck(options: CheckerOptions): Promise<CheckerReport> {
  const log = options.log ?? (() => undefined);
  const root = new Rng(options.seed);
  const pageSizes = [root.int(8, 40), DEFAULT_PAGE_SIZE];
  log(
    `concurrency checker: seed ${options.seed} (replay: SEED=${options.seed}), page sizes ${pageSizes.join(' and ')}`,
  );
  const auth = await new FakeAuthServer().start();
  for (const user of USERS) auth.memberships.set(user, spacesOf(user));
  const pool = new Pool({ connectionString: options.databaseUrl, max: DIRECT_WRITERS + 4 });
  pool.on('error', () => undefined);
  const services: TestApp[] = [];
  const readers: Reader[] = [];
  const failures: string[] = [];
  const fail = (message: string): void => {
    if (failures.length < 200) failures.push(message);
  };
  const acknowledged = new Set<string>();
  const uncertain = new Set<string>();
  const rolledBack = new Set<string>();
  const refused = new Set<string>();
  let pushes = 0;
  let directTransactions = 0;
  const strangerMs = options.strangerMs ?? { min: 5_000, max: 20_000 };
  /** Strangers that were open: from when they had an id until they ended. */
  const windows: {
    name: string;
    user?: string;
    /** Before its BEGIN; `openedAt`: once it had an id. */
    beganAt: number;
    openedAt: number;
    endedAt: number;
  }[] = [];
  /** Changes pushed through a surviving instance: when the push began and was answered. */
  const pushTimes = new Map<string, { start: number; acked: number }>();
  let stop = false;
  const timers: NodeJS.Timeout[] = [];
  let doomed: ServiceProcess | undefined;

  try {
    const env = (pageSize: number, migrate: boolean): Record<string, string> => ({
      DATABASE_URL: options.databaseUrl,
      JWKS_URL: auth.jwksUrl,
      MANA_AUTH_URL: auth.url,
      MANA_SERVICE_KEY: auth.serviceKey,
      SYNC_PAGE_SIZE: String(pageSize),
      RATE_LIMIT_PUSH_PER_MINUTE: '0',
      RATE_LIMIT_PULL_PER_MINUTE: '0',
      DB_MIGRATE_ON_START: String(migrate),
      SYNC_HORIZON: options.horizon ?? 'scope',
    });
    // The first one migrates (if asked to) before the second starts.
    services.push(await startTestApp(env(pageSizes[0], options.migrate ?? false)));
    services.push(await startTestApp(env(pageSizes[1], false)));
    // Its hints leave after 5 ms, or (seeded) never: they are lost with it when it is killed.
    const holdsHints = root.chance(0.5);
    doomed = await spawnService({
      ...env(pageSizes[0], false),
      LOG_LEVEL: 'error',
      ...(holdsHints && { HINT_COALESCE_MS: '600000' }),
    });
    await doomed.ready();
    const doomedUrl = doomed.url;
    const killAfterMs = Math.round(options.writeMs * (0.25 + 0.35 * root.float()));
    log(
      `horizon ${options.horizon ?? 'scope'}; strangers open ${strangerMs.min}-${strangerMs.max} ms`,
    );
    await pool.query('CREATE TABLE IF NOT EXISTS checker_unrelated (x int)');
    log(
      `a third instance serves ${DOOMED_WRITERS} writers until SIGKILL after ${killAfterMs} ms` +
        (holdsHints ? ' (it sends no hints: all of its commits are found by the log sweep)' : ''),
    );
    let killed = false;
    const client = async (
      user: string,
      clientId: string,
      at: number,
      writer?: { onDoomed: boolean },
    ): Promise<SyncClient> =>
      new SyncClient({
        baseUrl: writer?.onDoomed ? doomedUrl : services[at % services.length].url,
        appId: APP,
        clientId,
        token: await auth.token(user, { expiresIn: '2h' }),
        // A 503 or a lost connection: the eventIds make the retry safe.
        retry: { attempts: 6, baseDelayMs: 100 },
        fetch: (input, init) => {
          if (writer) pushes++;
          // Once the third instance is gone, retries go to another one (as a load balancer would).
          const url = String(input);
          return fetch(
            killed && url.startsWith(doomedUrl)
              ? services[at % 2].url + url.slice(doomedUrl.length)
              : url,
            init,
          );
        },
      });

    // --- readers ---
    for (const [i, user] of USERS.entries()) {
      // SSE, from the epoch.
      readers.push(
        liveReader(
          await client(user, `sse-${user}`, i),
          user,
          'sse',
          `sse ${user} (page ${pageSizes[i % 2]})`,
          pageSizes[i % 2],
          fail,
        ),
      );

      // WebSocket hints, each followed by pulls of the hinted tables.
      readers.push(
        liveReader(
          await client(user, `ws-${user}`, i + 1),
          user,
          'websocket',
          `ws ${user} (page ${pageSizes[(i + 1) % 2]})`,
          pageSizes[(i + 1) % 2],
          fail,
        ),
      );

      // Pulls at random intervals.
      const pullClient = await client(user, `pull-${user}`, i);
      readers.push(
        pullReader(
          pullClient,
          user,
          `pull ${user} (page ${pageSizes[i % 2]})`,
          new Rng(options.seed + 100 + i),
          () => stop,
          fail,
        ),
      );
    }

    // --- writers ---
    const writers: Promise<void>[] = [];
    for (let w = 0; w < SERVICE_WRITERS; w++) {
      const rng = new Rng(options.seed + 1000 + w);
      const user = USERS[w % USERS.length];
      const writer = await client(user, `writer-${w}`, w, {
        onDoomed: w >= SERVICE_WRITERS - DOOMED_WRITERS,
      });
      const follower: Reader | undefined =
        w < FOLLOWERS
          ? {
              name: `push responses writer-${w} ${user} (page ${pageSizes[w % 2]})`,
              user,
              clientId: writer.clientId,
              received: [],
              live: false,
            }
          : undefined;
      if (follower) readers.push(follower);
      let cursor = EPOCH;
      const follow = async (answer: SyncResponse): Promise<void> => {
        if (!follower) return void (cursor = answer.syncedUntil);
        follower.received.push(...answer.serverChanges.map((c) => c.id));
        cursor = answer.syncedUntil;
        while (answer.hasMore) {
          try {
            answer = await writer.push([], { since: cursor });
          } catch (error) {
            return fail(`${follower.name}: continuation push failed: ${describe(error)}`);
          }
          follower.received.push(...answer.serverChanges.map((c) => c.id));
          cursor = answer.syncedUntil;
        }
      };
      if (follower) {
        follower.drain = () =>
          follow({ serverChanges: [], conflicts: [], syncedUntil: cursor, hasMore: true });
      }
      let n = 0;
      writers.push(
        (async () => {
          while (!stop) {
            const size = rng.chance(0.85) ? rng.int(1, 20) : rng.int(21, 250);
            const refuse = rng.chance(0.05);
            const ids: string[] = [];
            const changes = Array.from({ length: size }, (_, i) => {
              const id = `w${w}-${n++}`;
              ids.push(id);
              const spaces = spacesOf(user);
              const spaceId =
                refuse && i === 0 ? 'sp-none' : rng.chance(0.3) ? rng.pick(spaces) : undefined;
              return {
                // The client would make one; made here, it comes from the seed's run.
                eventId: randomUUID(),
                table: rng.pick(TABLES),
                id,
                op: 'insert' as const,
                data: { w, i },
                ...(spaceId && { spaceId }),
              };
            });
            try {
              const start = Date.now();
              const answer = await writer.push(changes, { since: cursor });
              const acked = Date.now();
              if (refuse) fail(`writer-${w}: a push into a foreign space was stored`);
              ids.forEach((id) => acknowledged.add(id));
              // Pushes to the killed instance may lose their hints: the sweep finds them later.
              if (w < SERVICE_WRITERS - DOOMED_WRITERS) {
                for (const id of ids) pushTimes.set(id, { start, acked });
              }
              await follow(answer);
            } catch (error) {
              if (refuse && error instanceof ForbiddenError) {
                ids.forEach((id) => refused.add(id));
              } else {
                ids.forEach((id) => uncertain.add(id));
                fail(`writer-${w}: push failed after retries: ${describe(error).slice(0, 200)}`);
              }
            }
            await sleep(rng.int(0, 60));
          }
        })(),
      );
    }
    for (let d = 0; d < DIRECT_WRITERS; d++) {
      const rng = new Rng(options.seed + 2000 + d);
      let n = 0;
      writers.push(
        (async () => {
          while (!stop) {
            const user = rng.pick(USERS);
            const size = rng.int(1, 30);
            const rows = Array.from({ length: size }, () => ({
              id: `d${d}-${n++}`,
              table: rng.pick(TABLES),
              space: rng.chance(0.3) ? rng.pick(spacesOf(user)) : null,
            }));
            const hold = rng.int(0, 500);
            const rollback = rng.chance(0.2);
            // Most use the documented scope statement; the others hold every reader meanwhile.
            const claims = rng.chance(0.8);
            const conn = await pool.connect();
            try {
              await conn.query('BEGIN');
              if (claims) {
                await conn.query('SELECT sync_claim_scopes($1, $2)', [
                  user,
                  [...new Set(rows.flatMap((r) => (r.space ? [r.space] : [])))],
                ]);
              }
              await conn.query(
                `INSERT INTO sync_changes (app_id, table_name, record_id, user_id, space_id, op, data, client_id)
                 SELECT $1, x.t, x.r, $2, x.s, 'insert', '{}'::jsonb, $3
                   FROM unnest($4::text[], $5::text[], $6::text[]) AS x(t, r, s)`,
                [
                  APP,
                  user,
                  `direct-${d}`,
                  rows.map((r) => r.table),
                  rows.map((r) => r.id),
                  rows.map((r) => r.space),
                ],
              );
              // Another service that writes directly may send a hint the way the instances do
              // (docs/architecture.md), or none: then the log sweep finds its commit.
              if (rng.chance(0.5)) {
                await conn.query(
                  `SELECT pg_notify('sync_hints', json_build_object('instance', 'direct-writer',
                     'hints', json_build_array(json_build_object(
                       'appId', $1::text, 'userId', $2::text, 'clientId', $3::text,
                       'tables', $4::text[], 'spaceIds', $5::text[],
                       'txId', pg_current_xact_id()::text)))::text)`,
                  [
                    APP,
                    user,
                    `direct-${d}`,
                    [...new Set(rows.map((r) => r.table))],
                    [...new Set(rows.flatMap((r) => (r.space ? [r.space] : [])))],
                  ],
                );
              }
              await sleep(hold);
              await conn.query(rollback ? 'ROLLBACK' : 'COMMIT');
              directTransactions++;
              for (const row of rows) (rollback ? rolledBack : acknowledged).add(row.id);
            } catch (error) {
              rows.forEach((row) => uncertain.add(row.id));
              fail(`direct-${d}: ${errorMessage(error)}`);
              await conn.query('ROLLBACK').catch(() => undefined);
            } finally {
              conn.release();
            }
            await sleep(rng.int(0, 100));
          }
        })(),
      );
    }

    // --- strangers: an unrelated table, and long writers of one user's scope ---
    const strangerCounts = { unrelated: 0, writers: 0 };
    for (const kind of ['unrelated', 'writer'] as const) {
      const rng = new Rng(options.seed + (kind === 'unrelated' ? 3000 : 3001));
      let n = 0;
      writers.push(
        (async () => {
          await sleep(rng.int(200, 1500));
          while (!stop) {
            const holdMs = rng.int(strangerMs.min, strangerMs.max);
            const user = kind === 'writer' ? rng.pick(USERS) : undefined;
            const rollback = kind === 'writer' && rng.chance(0.2);
            const ids = Array.from({ length: rng.int(1, 5) }, () => `s-${kind}-${n++}`);
            const conn = await pool.connect();
            const beganAt = Date.now();
            try {
              await conn.query('BEGIN');
              if (user === undefined) {
                await conn.query('INSERT INTO checker_unrelated VALUES (1)');
              } else {
                await conn.query('SELECT sync_claim_scopes($1)', [user]);
                await conn.query(
                  `INSERT INTO sync_changes (app_id, table_name, record_id, user_id, op, data, client_id)
                   SELECT $1, $2, r, $3, 'insert', '{}'::jsonb, 'stranger' FROM unnest($4::text[]) r`,
                  [APP, rng.pick(TABLES), user, ids],
                );
              }
              const openedAt = Date.now();
              // Open for its whole time even after the writers stopped: its end is what deliveries
              // are ordered against.
              await sleep(holdMs);
              await conn.query(rollback ? 'ROLLBACK' : 'COMMIT');
              windows.push({
                name: user === undefined ? 'unrelated table' : `long writer of ${user}`,
                user,
                beganAt,
                openedAt,
                endedAt: Date.now(),
              });
              strangerCounts[kind === 'writer' ? 'writers' : 'unrelated']++;
              if (user !== undefined) {
                for (const id of ids) (rollback ? rolledBack : acknowledged).add(id);
              }
            } catch (error) {
              ids.forEach((id) => uncertain.add(id));
              fail(`stranger ${kind}: ${describe(error)}`);
              await conn.query('ROLLBACK').catch(() => undefined);
            } finally {
              conn.release();
            }
            // Pauses long enough that both kinds are sometimes closed at once: the soak compares
            // deliveries then with deliveries while a stranger is open.
            await sleep(rng.int(1_000, 6_000));
          }
        })(),
      );
    }

    const startedAt = Date.now();
    const progress = setInterval(() => {
      log(
        `${Math.round((Date.now() - startedAt) / 1000)} s: ${pushes} pushes, ${directTransactions} direct transactions`,
      );
    }, 60_000);
    timers.push(progress);
    const kill = sleep(killAfterMs).then(async () => {
      doomed!.child.kill('SIGKILL');
      killed = true;
      await doomed!.exited;
      log(`${Math.round((Date.now() - startedAt) / 1000)} s: the third instance was killed`);
    });
    await sleep(options.writeMs);
    await kill;
    clearInterval(progress);
    stop = true;
    await Promise.all(writers);
    const stoppedAt = Date.now();
    log(`writers stopped: ${pushes} pushes, ${directTransactions} direct transactions`);

    // --- the committed log, and what each reader must hold ---
    const { rows } = await pool.query<{
      id: string;
      user: string;
      space: string | null;
      client: string;
    }>(
      `SELECT record_id AS id, user_id AS user, space_id AS space, client_id AS client
         FROM sync_changes WHERE app_id = $1`,
      [APP],
    );
    const committed = new Map(rows.map((r) => [r.id, r]));
    if (committed.size !== rows.length)
      fail(`the log holds ${rows.length - committed.size} record ids twice`);
    for (const id of acknowledged)
      if (!committed.has(id)) fail(`acknowledged change ${id} is not in the log`);
    for (const id of [...rolledBack, ...refused])
      if (committed.has(id)) fail(`rolled back or refused change ${id} is in the log`);
    for (const id of committed.keys()) {
      if (!acknowledged.has(id) && !uncertain.has(id))
        fail(`change ${id} in the log was never written`);
    }

    const expectedOf = (reader: Reader): Set<string> => {
      const spaces = spacesOf(reader.user);
      return new Set(
        rows
          .filter((r) => r.client !== reader.clientId)
          .filter((r) => r.user === reader.user || (r.space !== null && spaces.includes(r.space)))
          .map((r) => r.id),
      );
    };

    for (const reader of readers) if (!reader.live) await reader.drain?.();
    const results: ReaderResult[] = [];
    let deliveriesChecked = 0;
    const settle = readers.map(async (reader) => {
      const expected = expectedOf(reader);
      const receivedIds = (): string[] => reader.received;
      let settledMs: number | undefined;
      if (reader.live) {
        // Bounded, but by progress: a reader still catching up in small pages is slow, not
        // wrong; one that receives nothing for settleMs while changes are missing has lost them.
        const deadline = stoppedAt + options.settleMs * MAX_SETTLE_FACTOR;
        let count = -1;
        let progressAt = Date.now();
        for (;;) {
          const ids = receivedIds();
          if (ids.length !== count) [count, progressAt] = [ids.length, Date.now()];
          const have = new Set(ids);
          if ([...expected].every((id) => have.has(id))) {
            settledMs = Date.now() - stoppedAt;
            break;
          }
          if (Date.now() - progressAt >= options.settleMs || Date.now() >= deadline) {
            settledMs = -1;
            break;
          }
          await sleep(100);
        }
        // Late duplicates would show up in this time too.
        await sleep(300);
      }
      const received = receivedIds();
      deliveriesChecked += received.length;
      results.push({
        name: reader.name,
        expected: expected.size,
        received: received.length,
        settledMs,
      });
      const counts = new Map<string, number>();
      for (const id of received) counts.set(id, (counts.get(id) ?? 0) + 1);
      const missing = [...expected].filter((id) => !counts.has(id));
      const twice = [...counts].filter(([, count]) => count > 1).map(([id]) => id);
      const foreign = [...counts.keys()].filter((id) => !expected.has(id));
      const sample = (ids: string[]): string => ids.slice(0, 5).join(', ');
      if (missing.length)
        fail(`${reader.name}: ${missing.length} of ${expected.size} missing (${sample(missing)})`);
      if (twice.length)
        fail(`${reader.name}: ${twice.length} received more than once (${sample(twice)})`);
      if (foreign.length)
        fail(
          `${reader.name}: ${foreign.length} outside its scope or never committed (${sample(foreign)})`,
        );
    });
    await Promise.all(settle);
    results.sort((a, b) => a.name.localeCompare(b.name));

    // --- while a stranger was open, the live readers it does not concern were not held ---
    // (an order of events: held deliveries come only after the stranger ended)
    let strangerChecked = 0;
    let strangerMax = 0;
    let strangerP99 = 0;
    const allDuring: number[] = [];
    const quiet: number[] = [];
    for (const reader of readers) {
      // Readers of the small page size lag under this load by their own catch-up rate (tens
      // of rows per round trip), whatever the horizon: only the default page size is timed.
      if (!reader.live || !reader.receivedAt || reader.pageSize !== DEFAULT_PAGE_SIZE) continue;
      const expected = expectedOf(reader);
      const delays: number[] = [];
      /** Delivered only once the stranger had ended (or never): held by it. */
      const held: string[] = [];
      for (const [id, t] of pushTimes) {
        if (!expected.has(id)) continue;
        // Open before the push began (an older transaction) and still a second after its answer;
        // a long writer of the reader's own user open then holds it rightly: not timed
        // (any overlap with the push: its id may be older than the push's).
        const concerning = windows.some(
          (w) => w.user === reader.user && w.beganAt < t.acked && w.endedAt > t.start,
        );
        if (concerning) continue;
        // No stranger of any kind open from the push's start until its delivery: the baseline.
        const deliveredAt = reader.receivedAt.get(id);
        if (
          deliveredAt !== undefined &&
          !windows.some((w) => w.openedAt < deliveredAt && w.endedAt > t.start)
        ) {
          quiet.push(deliveredAt - t.acked);
        }
        const stranger = windows.find(
          (w) => w.openedAt < t.start && t.acked + STRANGER_MARGIN_MS < w.endedAt,
        );
        if (!stranger) continue;
        const at = reader.receivedAt.get(id);
        if (at === undefined || at >= stranger.endedAt) {
          held.push(`${id} during ${stranger.name}`);
          continue;
        }
        delays.push(at - t.acked);
      }
      allDuring.push(...delays);
      delays.sort((a, b) => a - b);
      const checked = delays.length + held.length;
      strangerChecked += checked;
      if (delays.length > 0) strangerMax = Math.max(strangerMax, delays[delays.length - 1]);
      const p99 = percentile99(delays);
      if (held.length > 0) {
        fail(
          `${reader.name}: ${held.length} of ${checked} changes pushed while a stranger was open ` +
            `reached it only after the stranger ended (${held.slice(0, 3).join('; ')})`,
        );
      }
      strangerP99 = Math.max(strangerP99, p99);
    }
    if (windows.length === 0) fail('no stranger was open during the run');
    allDuring.sort((a, b) => a - b);
    quiet.sort((a, b) => a - b);
    const quietDeliveries = {
      checked: quiet.length,
      maxDelayMs: quiet.length > 0 ? quiet[quiet.length - 1] : 0,
      p99Ms: percentile99(quiet),
    };
    if (options.assertStrangerDelay) {
      const bound = strangerDelayBoundMs(quietDeliveries.p99Ms);
      const during = percentile99(allDuring);
      if (during > bound) {
        fail(
          `live deliveries while a stranger was open: 99% within ${during} ms, over the bound of ` +
            `${bound} ms (1 s, or 1.5 × the ${quietDeliveries.p99Ms} ms with no stranger open)`,
        );
      }
    }
    const report: CheckerReport = {
      seed: options.seed,
      pageSizes,
      pushes,
      directTransactions,
      committed: committed.size,
      rolledBack: rolledBack.size,
      refused: refused.size,
      deliveriesChecked,
      strangers: strangerCounts,
      strangerDeliveries: { checked: strangerChecked, maxDelayMs: strangerMax, p99Ms: strangerP99 },
      quietDeliveries,
      readers: results,
      failures,
    };
    log(summary(report));
    return report;
  } finally {
    stop = true;
    for (const timer of timers) clearInterval(timer);
    for (const reader of readers) reader.close?.();
    for (const service of services) await service.close().catch(() => undefined);
    if (doomed && doomed.child.exitCode === null && doomed.child.signalCode === null) {
      doomed.child.kill('SIGKILL');
      await doomed.exited;
    }
    await pool.end().catch(() => undefined);
    await auth.stop();
  }
}

export function summary(report: CheckerReport): string {
  const live = report.readers.filter((r) => r.settledMs !== undefined);
  const settled = live.map((r) => r.settledMs!);
  return [
    `seed ${report.seed}: ${report.committed} committed changes (${report.rolledBack} rolled back, ${report.refused} refused), ` +
      `${report.pushes} pushes, ${report.directTransactions} direct transactions, page sizes ${report.pageSizes.join('/')}`,
    `strangers: ${report.strangers.unrelated} on an unrelated table, ${report.strangers.writers} long writers; ` +
      `${report.strangerDeliveries.checked} live deliveries while one was open that did not concern the reader, ` +
      `99% within ${report.strangerDeliveries.p99Ms} ms of their push (the issue's target: ${STRANGER_TARGET_MS} ms), ` +
      `slowest ${report.strangerDeliveries.maxDelayMs} ms; each before its stranger ended; ` +
      `with no stranger open: ${report.quietDeliveries.checked} deliveries, 99% within ` +
      `${report.quietDeliveries.p99Ms} ms, slowest ${report.quietDeliveries.maxDelayMs} ms`,
    `${report.readers.length} readers, ${report.deliveriesChecked} deliveries checked; live readers complete ` +
      `${settled.includes(-1) ? 'NOT all' : `after at most ${Math.max(0, ...settled)} ms`} once the writers stopped`,
    report.failures.length === 0
      ? 'result: every reader saw every committed change of its scope exactly once'
      : `result: ${report.failures.length} violation(s):\n  ${report.failures.join('\n  ')}\nreplay: SEED=${report.seed}`,
  ].join('\n');
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/**
 * A live subscription of every table from the epoch: the event stream (`sse`),
 * or WebSocket hints each followed by pulls of the hinted tables (`websocket`).
 */
function liveReader(
  client: SyncClient,
  user: string,
  mode: LiveMode,
  name: string,
  pageSize: number,
  fail: (m: string) => void,
): Reader {
  const receivedAt = new Map<string, number>();
  const reader: Reader = {
    name,
    pageSize,
    user,
    clientId: client.clientId,
    received: [],
    live: true,
    receivedAt,
  };
  // Ids only, so a long soak does not keep every change.
  const live = client.live(
    TABLES,
    (page) => {
      const now = Date.now();
      for (const change of page.changes) {
        reader.received.push(change.id);
        if (!receivedAt.has(change.id)) receivedAt.set(change.id, now);
      }
    },
    {
      mode,
      onError: (error) => fail(`${name}: ${describe(error)}`),
    },
  );
  reader.close = () => live.close();
  return reader;
}

/** A client that pulls every table at random intervals. */
function pullReader(
  client: SyncClient,
  user: string,
  name: string,
  rng: Rng,
  stopped: () => boolean,
  fail: (m: string) => void,
): Reader {
  const cursors = new Map(TABLES.map((t) => [t, EPOCH]));
  let closed = false;
  const reader: Reader = {
    name,
    user,
    clientId: client.clientId,
    received: [],
    live: false,
    close: () => (closed = true),
  };
  const pass = async (): Promise<void> => {
    try {
      for (const table of TABLES) {
        for await (const page of client.pullAll(table, cursors.get(table))) {
          reader.received.push(...page.changes.map((c) => c.id));
          cursors.set(table, page.syncedUntil);
          if (closed) return;
        }
      }
    } catch (error) {
      if (!closed) fail(`${name}: ${describe(error)}`);
    }
  };
  let loop = Promise.resolve();
  loop = (async () => {
    while (!stopped() && !closed) {
      await pass();
      await sleep(rng.int(20, 300));
    }
  })();
  reader.drain = async () => {
    await loop;
    await pass();
  };
  return reader;
}
