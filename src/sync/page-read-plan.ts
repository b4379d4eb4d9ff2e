import { LRUCache } from 'lru-cache';
import { SyncCursor } from './sync-cursor';

/** Pulls this instance remembers as mid catch-up; older ones are forgotten (then read prepared). */
const REMEMBERED = 10_000;

/**
 * Which way a pull's page is read (ChangesSinceQuery.copy). A COPY costs a plan on every read
 * (about 0.4 ms) and saves decoding each row: it pays for a catch-up's pages, not for the few
 * rows a live device pulls after a hint. A pull cannot see its page before reading it, so a
 * page is read by COPY when it starts at the beginning of the log (a new device, a Go-era
 * time) or when the same client's last page here had more behind it. A wrong guess costs
 * time only: both reads return the same bytes.
 */
export class PageReadPlan {
  private readonly catchingUp = new LRUCache<string, true>({ max: REMEMBERED });

  byCopy(key: string, since: SyncCursor): boolean {
    return (since.position.txId === 0n && since.position.seq === 0n) || this.catchingUp.has(key);
  }

  /** After a page: whether the same client's next pull is likely large. */
  read(key: string, hasMore: boolean): void {
    if (hasMore) this.catchingUp.set(key, true);
    else this.catchingUp.delete(key);
  }
}

/** One client's pulls of one collection of one app. */
export function pullKey(userId: string, appId: string, collection: string, clientId = ''): string {
  return JSON.stringify([userId, appId, collection, clientId]);
}
