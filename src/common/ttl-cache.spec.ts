import { TtlCache } from './ttl-cache';

describe('TtlCache', () => {
  it('makes one load for concurrent misses of one key', async () => {
    const cache = new TtlCache<number>();
    let loads = 0;
    const load = async () => {
      loads++;
      await new Promise((resolve) => setTimeout(resolve, 10));
      return { value: 42, ttlMs: 1000 };
    };
    const values = await Promise.all([
      cache.get('k', load),
      cache.get('k', load),
      cache.get('k', load),
    ]);
    expect(values).toEqual([42, 42, 42]);
    expect(loads).toBe(1);
    expect(await cache.get('k', load)).toBe(42);
    expect(loads).toBe(1);
    expect(cache.hits).toBe(1);
  });

  it('loads again after expiry, and does not keep values with a zero TTL', async () => {
    const cache = new TtlCache<string>();
    let n = 0;
    expect(await cache.get('k', async () => ({ value: `v${++n}`, ttlMs: 5 }))).toBe('v1');
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(await cache.get('k', async () => ({ value: `v${++n}`, ttlMs: 0 }))).toBe('v2');
    expect(await cache.get('k', async () => ({ value: `v${++n}`, ttlMs: 0 }))).toBe('v3');
  });

  it('keeps no failed load: the error reaches every waiter and the next get loads again', async () => {
    const cache = new TtlCache<string>();
    const failing = async (): Promise<{ value: string; ttlMs: number }> => {
      throw new Error('down');
    };
    await expect(Promise.all([cache.get('k', failing), cache.get('k', failing)])).rejects.toThrow(
      'down',
    );
    expect(await cache.get('k', async () => ({ value: 'up', ttlMs: 1000 }))).toBe('up');
    expect([cache.hits, cache.misses]).toEqual([0, 2]);
  });

  it('drops the oldest entry when full', async () => {
    const cache = new TtlCache<string>(2);
    for (const key of ['a', 'b', 'c'])
      await cache.get(key, async () => ({ value: key, ttlMs: 1000 }));
    let reloaded = false;
    await cache.get('a', async () => ((reloaded = true), { value: 'a', ttlMs: 1000 }));
    expect(reloaded).toBe(true);
  });
});
