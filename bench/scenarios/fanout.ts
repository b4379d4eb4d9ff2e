import { row, Scenario, ScenarioResult } from '../lib/context';
import { HttpClient } from '../lib/http';
import { APP_ID, EPOCH, insertChange } from '../lib/records';
import { fmt, nowMs, sleep, summarize } from '../lib/stats';
import { closeDevices, DeviceSocket, openDevices } from '../lib/ws';

const WAIT_MS = 5_000;

/**
 * users × devices authenticated sockets; one device of one user pushes a
 * change, and the time until every other device of that user has its
 * `sync-available` is measured from the moment the push is sent.
 */
export const fanoutScenario: Scenario = {
  id: 'fanout',
  title: 'Fan-out (4)',
  budgetMs: (s) => 120_000 + s.fanout.pushes * 300,
  async run(ctx): Promise<ScenarioResult> {
    const { users, devices, pushes } = ctx.sizes.fanout;
    const userIds = Array.from({ length: users }, (_, u) => `bench-fanout-${u}`);
    const tokens = await Promise.all(userIds.map((u) => ctx.token(u)));
    const specs = userIds.flatMap((userId, u) =>
      Array.from({ length: devices }, (_, d) => ({
        token: tokens[u],
        userId,
        clientId: `${userId}-device-${d}`,
      })),
    );
    ctx.log(`fan-out: opening ${specs.length} sockets`);
    const opening = nowMs();
    const sockets = await openDevices(specs, ctx.service.url, { batch: 100 });
    const openMs = nowMs() - opening;
    const byUser = new Map<string, DeviceSocket[]>();
    for (const socket of sockets) {
      byUser.set(socket.userId, [...(byUser.get(socket.userId) ?? []), socket]);
    }
    const http = new HttpClient(ctx.service.url, 1);
    const fanoutMs: number[] = [];
    const pushMs: number[] = [];
    const cursors = new Map<string, string>();
    let missed = 0;
    let stray = 0;
    const notes: string[] = [];
    ctx.log(`fan-out: ${pushes} pushes, one at a time`);
    try {
      for (let p = 0; p < pushes; p++) {
        const u = p % users;
        const pusher = byUser.get(userIds[u])![Math.floor(p / users) % devices];
        const others = byUser.get(userIds[u])!.filter((s) => s !== pusher);
        const before = sockets.reduce((n, s) => n + s.syncAvailable, 0);
        let pending = others.length;
        let last = 0;
        let done!: () => void;
        const all = new Promise<void>((resolve) => (done = resolve));
        for (const socket of others) {
          socket.onSyncAvailable = (at) => {
            socket.onSyncAvailable = undefined;
            last = Math.max(last, at);
            if (--pending === 0) done();
          };
        }
        const sent = nowMs();
        const body = JSON.stringify({
          clientId: pusher.clientId,
          since: cursors.get(pusher.clientId) ?? EPOCH,
          changes: [insertChange()],
        });
        const response = await http.ok('POST', `/sync/${APP_ID}`, {
          token: tokens[u],
          clientId: pusher.clientId,
          body,
        });
        pushMs.push(nowMs() - sent);
        cursors.set(pusher.clientId, response.syncedUntil);
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([all, new Promise((r) => (timer = setTimeout(r, WAIT_MS)))]);
        clearTimeout(timer);
        for (const socket of others) socket.onSyncAvailable = undefined;
        if (pending > 0) {
          missed++;
        } else {
          fanoutMs.push(last - sent);
        }
        const received = sockets.reduce((n, s) => n + s.syncAvailable, 0) - before;
        stray += Math.max(0, received - (others.length - pending));
      }
      await sleep(200);
    } finally {
      await http.close();
      await closeDevices(sockets);
    }
    if (missed)
      notes.push(
        `fan-out: ${missed} of ${pushes} pushes did not reach every device within ${WAIT_MS} ms`,
      );
    if (stray)
      notes.push(`fan-out: ${stray} sync-available went to devices that should not get them`);
    const f = summarize(fanoutMs);
    const push = summarize(pushMs);
    return {
      rows: [
        row({
          scenario: `4 fan-out, ${fmt(sockets.length)} sockets (${users}×${devices})`,
          metric: 'push → all devices p50 / p99 ms',
          service: `${fmt(f.p50)} / ${fmt(f.p99)}`,
          reference: `push response ${fmt(push.p50)} / ${fmt(push.p99)}`,
          target: 'p99 ≤ 50 ms',
          met: missed === 0 && f.p99 <= 50,
        }),
      ],
      notes,
      figures: {
        sockets: sockets.length,
        users,
        devicesPerUser: devices,
        pushes,
        openSecondsForAll: openMs / 1000,
        fanoutMs: f,
        pushResponseMs: push,
        missed,
        stray,
      },
    };
  },
};
