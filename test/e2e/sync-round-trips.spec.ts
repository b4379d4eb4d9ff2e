import { Client } from 'pg';
import { useService } from '../support/service-fixture';
import { SyncClient } from '../support/sync-client';

interface Sent {
  client: Client;
  sql: string;
}

/**
 * The statements of each transaction, as sent on the wire: every Client.query call is one
 * round trip (node-postgres sends the next query only after the previous one completed).
 */
function transactionsOf(sent: Sent[]): string[][] {
  const open = new Map<Client, string[]>();
  const done: string[][] = [];
  for (const { client, sql } of sent) {
    const trimmed = sql.trim();
    if (/^BEGIN\b/i.test(trimmed)) open.set(client, []);
    const tx = open.get(client);
    if (!tx) continue;
    tx.push(trimmed.split(/\s+/).slice(0, 3).join(' '));
    if (/^(COMMIT|ROLLBACK)$/i.test(trimmed)) {
      done.push(tx);
      open.delete(client);
    }
  }
  return done;
}

describe('round trips to PostgreSQL per request', () => {
  const t = useService({}, { membershipApi: false });
  let writer: SyncClient;
  let sent: Sent[];
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
      if (typeof text === 'string') sent?.push({ client: this, sql: text });
      return original.apply(this, args);
    } as never);
  });

  afterAll(() => spy.mockRestore());

  beforeEach(() => {
    sent = [];
  });

  it('a push of 100 changes takes 4: BEGIN with the scope, insert+notify+horizon, page, COMMIT', async () => {
    const { status } = await writer.push(Array.from({ length: 100 }, (_, i) => record(i)));
    expect(status).toBe(200);
    const [tx, ...others] = transactionsOf(sent);
    expect(others).toEqual([]);
    expect(tx).toHaveLength(4);
    expect(tx[0]).toMatch(/^BEGIN; SELECT set_config/);
    expect(tx[1]).toMatch(/^WITH ins AS/);
    expect(tx[3]).toBe('COMMIT');
  });

  it('a single-change push takes 4 too, and the notification is in the insert statement', async () => {
    const { status } = await writer.push([record(1000)]);
    expect(status).toBe(200);
    const pushes = transactionsOf(sent);
    expect(pushes).toHaveLength(1);
    expect(pushes[0]).toHaveLength(4);
    expect(sent.some((s) => /^SELECT pg_notify/.test(s.sql.trim()))).toBe(false);
  });

  it('a pull takes 3: BEGIN with the scope and the horizon, page, COMMIT', async () => {
    const reader = await t.client('user-1', 'device-b');
    const { status, body } = await reader.pull('tasks');
    expect(status).toBe(200);
    expect(body.serverChanges.length).toBeGreaterThan(0);
    const [tx, ...others] = transactionsOf(sent);
    expect(others).toEqual([]);
    expect(tx).toHaveLength(3);
    expect(tx[0]).toMatch(/^BEGIN; SELECT set_config/);
    expect(tx[2]).toBe('COMMIT');
  });

  it('a push refused by validation never takes a connection', async () => {
    const { status } = await writer.push([{ table: 'tasks', id: 'x', op: 'upsert' }]);
    expect(status).toBe(400);
    expect(transactionsOf(sent)).toEqual([]);
    expect(sent.filter((s) => /^BEGIN/i.test(s.sql.trim()))).toEqual([]);
  });
});
