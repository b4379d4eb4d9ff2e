import { LRUCache } from 'lru-cache';

/** What a load answers: the value and how long to keep it (0: not at all). */
export interface Loaded<V> {
  value: V;
  ttlMs: number;
}

type Load<V> = () => Promise<Loaded<V>>;

/**
 * A per-key cache with expiry and single flight (lru-cache's fetch: concurrent
 * misses for one key share one load). Each load sets its own TTL, so callers
 * keep failures shorter or not at all; it counts its hits and misses for
 * `/metrics`.
 */
export class TtlCache<V> {
  private readonly lru: LRUCache<string, Loaded<V>, Load<V>>;
  hits = 0;
  misses = 0;

  constructor(maxEntries = 100_000) {
    this.lru = new LRUCache<string, Loaded<V>, Load<V>>({
      max: maxEntries,
      fetchMethod: async (_key, _stale, { context, options }) => {
        const loaded = await context();
        options.ttl = loaded.ttlMs;
        return loaded;
      },
    });
  }

  async get(key: string, load: Load<V>): Promise<V> {
    // A hit needs none of fetch's bookkeeping (status object, promise, abort signal).
    const cached = this.lru.get(key);
    if (cached !== undefined) {
      this.hits++;
      return cached.value;
    }
    const status: LRUCache.Status<string, Loaded<V>, Load<V>> = {};
    const pending = this.lru.fetch(key, { context: load, status });
    if (status.fetch === 'hit') this.hits++;
    else if (status.fetch !== 'inflight') this.misses++;
    const loaded = (await pending)!;
    // lru-cache reads a TTL of 0 as "forever"; here it means "do not keep".
    if (loaded.ttlMs <= 0 && this.lru.peek(key) === loaded) this.lru.delete(key);
    return loaded.value;
  }
}
