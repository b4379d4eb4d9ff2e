import { useService } from '../support/service-fixture';
import { SyncClient } from '../support/sync-client';

const ok = { table: 'tasks', id: 'ok-1', op: 'insert', data: { title: 'fine' } };

/**
 * A push is parsed by its parameters' pipes (body, client id, key, changeset) and refused
 * by the one exception filter: a request with several faults is answered with the one
 * the released controller reported first, in its words.
 */
describe('push parsing: which fault is reported, and how', () => {
  const t = useService({}, { membershipApi: false });
  let client: SyncClient;

  beforeAll(async () => {
    client = await t.client('user-1', 'client-a');
  });

  const noClient = { 'x-client-id': '' };

  it('reports a malformed body before a missing client id and a bad key', async () => {
    const { status, body } = await client.request(
      'POST',
      '/sync/todo',
      { clientId: 5, changes: [ok] },
      { ...noClient, 'idempotency-key': 'bad key' },
    );
    expect(status).toBe(400);
    expect(body).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message:
        'clientId must be shorter than or equal to 200 characters; clientId must be a string',
    });
  });

  it('reports a missing client id before a bad key', async () => {
    const { body } = await client.request(
      'POST',
      '/sync/todo',
      { changes: [ok] },
      { ...noClient, 'idempotency-key': 'bad key' },
    );
    expect(body).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: 'clientId is required (body or X-Client-Id header)',
    });
  });

  it('answers a domain error of the changeset with the same 400 body', async () => {
    const { status, body } = await client.push([{ table: 'tasks', id: 'x', op: 'insert' }]);
    expect(status).toBe(400);
    expect(body).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: 'changes[0].data is required for insert',
    });
  });

  it('reports a malformed body before a bad app id, and a bad app id before a missing client id', async () => {
    const bodyFirst = await client.request('POST', '/sync/bad%20app', { changes: {} }, noClient);
    expect(bodyFirst.body.message).toMatch(/changes must be an array/);
    const appFirst = await client.request('POST', '/sync/bad%20app', { changes: [ok] }, noClient);
    expect(appFirst.body).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: 'appId must be 1-100 letters, digits, ".", "_" or "-"',
    });
  });

  it('answers a shared space it cannot check (no memberships) with 503 and Retry-After 30', async () => {
    const { status, body, headers } = await client.push([{ ...ok, spaceId: 'team-x' }]);
    expect(status).toBe(503);
    expect(headers.get('retry-after')).toBe('30');
    expect(body).toEqual({
      statusCode: 503,
      error: 'Service Unavailable',
      message: 'Space memberships cannot be checked right now, please retry shortly',
    });
    const { rows } = await t.db.pool.query('SELECT count(*)::int AS n FROM sync_changes');
    expect(rows[0].n).toBe(0);
  });

  it('takes the body clientId when the header is empty, and the header over the body', async () => {
    const viaBody = await client.request(
      'POST',
      '/sync/todo',
      { clientId: 'b', changes: [ok] },
      noClient,
    );
    expect(viaBody.status).toBe(200);
    const { rows } = await t.db.pool.query('SELECT client_id FROM sync_changes');
    expect(rows).toEqual([{ client_id: 'b' }]);
    const viaHeader = await client.request('POST', '/sync/todo', {
      clientId: 'b',
      changes: [{ ...ok, id: 'ok-2' }],
    });
    expect(viaHeader.status).toBe(200);
    const second = await t.db.pool.query(
      `SELECT client_id FROM sync_changes WHERE record_id = 'ok-2'`,
    );
    expect(second.rows).toEqual([{ client_id: 'client-a' }]);
  });
});
