import { row, Scenario, ScenarioResult } from '../lib/context';
import { HttpClient } from '../lib/http';
import { APP_ID, EPOCH, insertChange } from '../lib/records';
import { fmt, nowMs, sleep, summarize } from '../lib/stats';
import { closeDevices, openDevices } from '../lib/ws';

const USERS = 20;
const PUSHES = 200;
const WAIT_MS = 5_000;

/**
 * Two instances on one database: a device of each user listens on instance 2, another
 * pushes through instance 1, one push at a time; measured from the moment the push is sent
 * until instance 2's socket has its `sync-available` (the hint after COMMIT, gathered for
 * HINT_COALESCE_MS and sent in one NOTIFY, held until readers can see the push).
 */
export const crossInstanceScenario: Scenario = {
  id: 'instances',
  title: 'Hints across instances (4b)',
  budgetMs: () => 120_000 + PUSHES * 300,
  async run(ctx): Promise<ScenarioResult> {
    ctx.log('instances: starting a second instance');
    const second = await ctx.startInstance();
    const users = Array.from({ length: USERS }, (_, u) => `bench-instances-${u}`);
    const tokens = await Promise.all(users.map((u) => ctx.token(u)));
    const http = new HttpClient(ctx.service.url, 1);
    const delays: number[] = [];
    let missed = 0;
    try {
      const listeners = await openDevices(
        users.map((userId, u) => ({ token: tokens[u], userId, clientId: `${userId}-far` })),
        second.url,
        { batch: 20, path: `/ws/${APP_ID}` },
      );
      // The first instance looks every second whether another one listens.
      await sleep(1_500);
      ctx.log(`instances: ${PUSHES} pushes on instance 1, hints on instance 2`);
      const cursors = users.map(() => EPOCH);
      try {
        for (let p = 0; p < PUSHES; p++) {
          const u = p % USERS;
          const listener = listeners[u];
          let heard!: (at: number) => void;
          const hint = new Promise<number>((resolve) => (heard = resolve));
          listener.onSyncAvailable = (at) => heard(at);
          const sent = nowMs();
          const answer = await http.ok('POST', `/sync/${APP_ID}`, {
            token: tokens[u],
            clientId: `${users[u]}-near`,
            body: JSON.stringify({ since: cursors[u], changes: [insertChange()] }),
          });
          cursors[u] = answer.syncedUntil;
          let timer: NodeJS.Timeout | undefined;
          const at = await Promise.race([
            hint,
            new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), WAIT_MS))),
          ]);
          clearTimeout(timer);
          listener.onSyncAvailable = undefined;
          if (at === undefined) missed++;
          else delays.push(at - sent);
        }
      } finally {
        await closeDevices(listeners);
      }
    } finally {
      await http.close();
      await second.stop();
    }
    const d = summarize(delays);
    return {
      rows: [
        row({
          scenario: `4b push on instance 1 → hint on instance 2 (${USERS} sockets)`,
          metric: 'push sent → sync-available p50 / p99 ms',
          service: `${fmt(d.p50)} / ${fmt(d.p99)}`,
          reference: `${PUSHES} pushes, one at a time`,
          target: 'every hint arrives',
          met: missed === 0,
        }),
      ],
      notes: missed
        ? [`instances: ${missed} of ${PUSHES} hints did not arrive in ${WAIT_MS} ms`]
        : [],
      figures: { users: USERS, pushes: PUSHES, delayMs: d, missed },
    };
  },
};
