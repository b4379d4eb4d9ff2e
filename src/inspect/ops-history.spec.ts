import { Histogram, Registry } from 'prom-client';
import { quantile } from './ops-history';

/** Buckets as the sampler reads them from a histogram of the registry. */
async function bucketsOf(histogram: Histogram) {
  const { values } = await histogram.get();
  const bounds = new Map<number, number>();
  let count = 0;
  for (const v of values) {
    if (v.metricName?.endsWith('_bucket')) {
      const le = v.labels.le === '+Inf' ? Infinity : Number(v.labels.le);
      bounds.set(le, v.value);
    } else if (v.metricName?.endsWith('_count')) count = v.value;
  }
  return { bounds, count };
}

describe('quantile (histogram_quantile over the increase between two readings)', () => {
  const make = () =>
    new Histogram({ name: 'h', help: 'h', buckets: [0.01, 0.1, 1], registers: [new Registry()] });

  it('is null without observations in the interval', async () => {
    const h = make();
    h.observe(0.05);
    const before = await bucketsOf(h);
    expect(quantile(0.5, await bucketsOf(h), before)).toBeNull();
  });

  it('interpolates within the bucket holding the rank, over the interval only', async () => {
    const h = make();
    for (let i = 0; i < 100; i++) h.observe(0.5); // before the interval: ignored
    const before = await bucketsOf(h);
    for (let i = 0; i < 90; i++) h.observe(0.005);
    for (let i = 0; i < 10; i++) h.observe(0.05);
    const now = await bucketsOf(h);
    // 50 of 90 in (0, 0.01]: 0.01 * 50/90.
    expect(quantile(0.5, now, before)).toBeCloseTo((0.01 * 50) / 90, 6);
    // rank 99: the 9th of 10 in (0.01, 0.1].
    expect(quantile(0.99, now, before)).toBeCloseTo(0.01 + (0.09 * 9) / 10, 6);
  });

  it('answers the highest finite bound when the rank falls into +Inf', async () => {
    const h = make();
    h.observe(5);
    expect(quantile(0.5, await bucketsOf(h))).toBe(1);
  });
});
