import { Gauge, Registry } from 'prom-client';

/** A gauge of state its owner holds, read when Prometheus scrapes, so it is never stale. */
export function scrapedGauge(
  registry: Registry,
  name: string,
  help: string,
  read: () => number,
): Gauge {
  return new Gauge({
    name,
    help,
    registers: [registry],
    collect(this: Gauge) {
      this.set(read());
    },
  });
}
