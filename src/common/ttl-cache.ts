interface Entry<V> {
  value: V;
  expiresAt: number;
}

/**
 * A small per-key cache with expiry and single flight: concurrent misses for
 * one key share one load. Failed loads are not cached here; callers decide
 * (by returning a value with its own TTL).
 */
export class TtlCache<V> {
  private readonly entries = new Map<string, Entry<V>>();
  private readonly loading = new Map<string, Promise<V>>();
  hits = 0;
  misses = 0;

  constructor(private readonly maxEntries = 100_000) {}

  async get(key: string, load: () => Promise<{ value: V; ttlMs: number }>): Promise<V> {
    const entry = this.entries.get(key);
    if (entry && entry.expiresAt > Date.now()) {
      this.hits++;
      return entry.value;
    }
    const pending = this.loading.get(key);
    if (pending) return pending;
    this.misses++;
    const promise = load()
      .then(({ value, ttlMs }) => {
        if (ttlMs > 0) this.set(key, value, ttlMs);
        return value;
      })
      .finally(() => this.loading.delete(key));
    this.loading.set(key, promise);
    return promise;
  }

  private set(key: string, value: V, ttlMs: number): void {
    if (this.entries.size >= this.maxEntries) {
      // Oldest insertion first: Map keeps insertion order.
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAt: Date.now() + ttlMs });
  }
}
