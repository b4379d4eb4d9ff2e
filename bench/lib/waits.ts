import type { Pool } from 'pg';

export interface WaitSample {
  /** e.g. "Lock:object", "IO:WALSync", "Client:ClientRead", "CPU" (active, no wait). */
  event: string;
  /** Share of the samples of active backends of the service that were in this state. */
  share: number;
}

/**
 * What the service's (or a reference's) database sessions are doing, sampled
 * from pg_stat_activity by application_name every `intervalMs`: shows whether commits
 * queue on a lock (NOTIFY's is "Lock:object"), on WAL flushes or on the client.
 */
export function sampleWaits(
  admin: Pool,
  database: string,
  applicationName = 'sync-server',
  intervalMs = 100,
): { stop(): Promise<WaitSample[]> } {
  const counts = new Map<string, number>();
  let total = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        const { rows } = await admin.query<{ event: string; n: string }>(
          `SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU') AS event, count(*) AS n
             FROM pg_stat_activity
            WHERE datname = $1 AND application_name = $2 AND state = 'active'
              AND pid <> pg_backend_pid()
            GROUP BY 1`,
          [database, applicationName],
        );
        for (const { event, n } of rows) {
          counts.set(event, (counts.get(event) ?? 0) + Number(n));
          total += Number(n);
        }
      } catch {
        // a sample lost is no matter
      }
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return [...counts.entries()]
        .map(([event, n]) => ({ event, share: n / Math.max(1, total) }))
        .sort((a, b) => b.share - a.share);
    },
  };
}

export function describeWaits(samples: WaitSample[], top = 4): string {
  return samples
    .slice(0, top)
    .map((s) => `${s.event} ${(s.share * 100).toFixed(0)}%`)
    .join(', ');
}
