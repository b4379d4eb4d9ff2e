import { Client } from 'pg';
import { useService } from '../support/service-fixture';
import { SyncClient } from '../support/sync-client';

/** What one connection was asked, and when the answers came back, in order. */
type Event = { client: Client; sql: string } | { client: Client; answered: true };

/**
 * The round trips of each transaction, each with the heads of the statements it carried.
 * Statements are pipelined: those written to a connection before any answer came back on
 * it travel together, so a round trip begins with the first statement sent after an answer.
 */
function roundTripsOf(events: Event[]): string[][][] {
  const open = new Map<Client, { trips: string[][]; answered: boolean }>();
  const done: string[][][] = [];
  for (const event of events) {
    const tx = open.get(event.client);
    if (!('sql' in event)) {
      if (tx) tx.answered = true;
      continue;
    }
    const trimmed = event.sql.trim();
    const head = trimmed.split(/\s+/).slice(0, 3).join(' ');
    if (/^BEGIN\b/i.test(trimmed)) {
      open.set(event.client, { trips: [[head]], answered: false });
      continue;
    }
    if (!tx) continue;
    if (tx.answered) tx.trips.push([]);
    tx.answered = false;
    tx.trips[tx.trips.length - 1].push(head);
    if (/^(COMMIT|ROLLBACK)$/i.test(trimmed)) {
      done.push(tx.trips);
      open.delete(event.client);
    }
  }
  return done;
}

describe('round trips to PostgreSQL per request', () => {
  const t = useService({}, { membershipApi: false });
  let writer: SyncClient;
  let events: Event[];
  let spy: jest.SpyInstance;

  const record = (i: number) => ({
    table: 'tasks',
    id: `r${i}`,
    op: 'insert',
    data: { title: `t${i}` },
  });

  beforeAll(async () => {
    writer = await t.client('user-1', 'device-a');
    const original = Client.prototype.query as (this: Client, ...args: unknown[]) => unknown;
    spy = jest.spyOn(Client.prototype, 'query').mockImplementation(function (
      this: Client,
      ...args: unknown[]
    ) {
      const text = typeof args[0] === 'string' ? args[0] : (args[0] as { text?: string })?.text;
      if (typeof text === 'string') events?.push({ client: this, sql: text });
      const result = original.apply(this, args);
      const answered = (): void => void events?.push({ client: this, answered: true });
      if (result instanceof Promise) result.then(answered, answered);
      return result;
    } as never);
  });

  afterAll(() => spy.mockRestore());

  beforeEach(() => {
    events = [];
  });

  const sent = (): string[] => events.flatMap((e) => ('sql' in e ? [e.sql.trim()] : []));

  it('a push of 100 changes takes 1: BEGIN with the scope, insert, page and COMMIT together', async () => {
    const { status } = await writer.push(Array.from({ length: 100 }, (_, i) => record(i)));
    expect(status).toBe(200);
    const [tx, ...others] = roundTripsOf(events);
    expect(others).toEqual([]);
    expect(tx).toHaveLength(1);
    expect(tx[0]).toHaveLength(4);
    expect(tx[0][0]).toMatch(/^BEGIN; SELECT set_config/);
    expect(tx[0][1]).toMatch(/^WITH ins AS/);
    expect(tx[0][2]).toMatch(/^SELECT CASE WHEN/);
    expect(tx[0][3]).toBe('COMMIT');
  });

  it('a single-change push takes 1 too, and sends no notification from its transaction', async () => {
    const { status } = await writer.push([record(1000)]);
    expect(status).toBe(200);
    const pushes = roundTripsOf(events);
    expect(pushes).toHaveLength(1);
    expect(pushes[0]).toHaveLength(1);
    expect(pushes[0].flat().some((head) => /notify/i.test(head))).toBe(false);
    expect(sent().some((sql) => /pg_notify|^NOTIFY/i.test(sql) && !/unnest/.test(sql))).toBe(false);
  });

  it('a pull takes 1: BEGIN with the scope, horizon, page and COMMIT together', async () => {
    const reader = await t.client('user-1', 'device-b');
    const { status, body } = await reader.pull('tasks');
    expect(status).toBe(200);
    expect(body.serverChanges.length).toBeGreaterThan(0);
    const [tx, ...others] = roundTripsOf(events);
    expect(others).toEqual([]);
    expect(tx).toEqual([
      [
        expect.stringMatching(/^BEGIN; SELECT set_config/),
        expect.stringMatching(/^SELECT set_config\('app.read_horizon'/),
        // The page is a COPY of the same SELECT (issue 20): still in the same round trip.
        expect.stringMatching(/^COPY \(SELECT CASE/),
        'COMMIT',
      ],
    ]);
  });

  it('a push with an Idempotency-Key stores its answer before COMMIT: 3 round trips', async () => {
    const { status } = await writer.request(
      'POST',
      '/sync/todo',
      { clientId: writer.clientId, since: '1970-01-01T00:00:00.000Z', changes: [record(2000)] },
      { 'idempotency-key': 'round-trips-1' },
    );
    expect(status).toBe(200);
    const [tx, ...others] = roundTripsOf(events);
    expect(others).toEqual([]);
    expect(tx.map((trip) => trip.map((head) => head.split(' ')[0]))).toEqual([
      ['BEGIN;', 'INSERT'],
      ['WITH', 'SELECT'],
      ['UPDATE', 'COMMIT'],
    ]);
  });

  it('a push refused by validation never takes a connection', async () => {
    const { status } = await writer.push([{ table: 'tasks', id: 'x', op: 'upsert' }]);
    expect(status).toBe(400);
    expect(roundTripsOf(events)).toEqual([]);
    expect(sent().filter((sql) => /^BEGIN/i.test(sql))).toEqual([]);
  });
});
