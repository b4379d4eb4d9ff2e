import { gzipSync } from 'zlib';
import { BODY_SOURCE_MIN_BYTES } from '../../src/common/body-source';
import { useService } from '../support/service-fixture';
import { SyncClient } from '../support/sync-client';

const EPOCH = '1970-01-01T00:00:00.000Z';

/**
 * Record data as JSON text, spelled in ways JSON.stringify would not write it: a large
 * body's records are stored from the text they came as (issue 20), and must be stored
 * exactly as the same records in a small body, which are stringified.
 */
const DATA_TEXTS = [
  '{"title":"plain","n":1,"f":0.5,"t":true,"x":null}',
  '{ "spaced" :\n\t[ 1 , 2 ,{"a" : "b"} ] ,\r\n "k":"v" }',
  '{"one":1.0,"hundred":1e2,"big":12345678901234567890,"neg0":-0,"tiny":5e-324,"e":1E+21}',
  '{"exact":123456789012345,"past":1234567890123456,"dec":0.1,"exp":1e21,"sci":1.5e-7}',
  '{"esc":"\\u00e9\\/\\"\\\\\\n\\t","raw":"é€😀","pair":"\\ud83d\\ude00","mixed":"a\\u0062c"}',
  '{"dup":1,"dup":2,"d\\u0075p2":"x","dup2":"y"}',
  '{"__proto__":{"polluted":true},"constructor":"c"}',
  '{"nested":{"a":[{"b":[[[]]],"c":{}}],"d":[-1.25,3e-3,100,"str"]}}',
  '{"spaceId":null,"empty":"","deep":{"n":-0.0}}',
  '{}',
];

/** A change of `DATA_TEXTS[i]` as wire JSON text, `data` spliced in as it is written. */
const changeText = (id: string, data: string, op = 'insert'): string =>
  `{"table":"notes","id":${JSON.stringify(id)},"op":${JSON.stringify(op)},"data":${data}}`;

/** Past BODY_SOURCE_MIN_BYTES, so that the body's bytes are kept. */
const padding = (id: string): string =>
  changeText(id, JSON.stringify({ pad: 'p'.repeat(BODY_SOURCE_MIN_BYTES) }));

const bodyText = (clientId: string, changes: string[]): string =>
  `{"clientId":${JSON.stringify(clientId)},"since":"${EPOCH}","changes":[${changes.join(',')}]}`;

describe('large push bodies: records stored from the text they came as', () => {
  const t = useService({});
  let client: SyncClient;

  beforeAll(async () => {
    client = await t.client('user-large', 'writer');
  });

  const stored = async (ids: string[]): Promise<Map<string, string>> => {
    const { rows } = await t.db.pool.query<{ record_id: string; row: string }>(
      `SELECT record_id, json_build_array(op, data, field_meta, payload_bytes, actor)::text AS row
         FROM sync_changes WHERE record_id = ANY($1)`,
      [ids],
    );
    return new Map(rows.map((r) => [r.record_id, r.row]));
  };

  const push = async (text: string | Buffer, headers: Record<string, string> = {}) => {
    const response = await fetch(`${t.service.url}/sync/todo`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${client.token}`,
        'content-type': 'application/json',
        ...headers,
      },
      body: text,
    });
    expect({ status: response.status, body: await response.text() }).toMatchObject({
      status: 200,
    });
  };

  it('stores each record of a large body as the same record of a small body is stored', async () => {
    for (const [i, data] of DATA_TEXTS.entries()) {
      await push(bodyText('writer', [changeText(`small-${i}`, data)]));
    }
    await push(
      bodyText('writer', [
        ...DATA_TEXTS.map((data, i) => changeText(`large-${i}`, data)),
        padding('pad-1'),
        ...DATA_TEXTS.map((data, i) => changeText(`update-${i}`, data, 'update')),
      ]),
    );
    const ids = DATA_TEXTS.flatMap((_, i) => [`small-${i}`, `large-${i}`, `update-${i}`]);
    const rows = await stored(ids);
    for (const i of DATA_TEXTS.keys()) {
      const small = rows.get(`small-${i}`);
      expect({ i, row: rows.get(`large-${i}`) }).toEqual({ i, row: small });
      expect({ i, row: rows.get(`update-${i}`) }).toEqual({
        i,
        row: small!.replace('["insert"', '["update"'),
      });
    }
    // And the wire: a reader gets the same records from both.
    const reader = await t.client('user-large', 'reader');
    const { changes } = await reader.pullAll('notes');
    const wire = new Map(changes.map((c: { id: string; data: unknown }) => [c.id, c.data]));
    for (const i of DATA_TEXTS.keys()) {
      expect(wire.get(`large-${i}`)).toEqual(wire.get(`small-${i}`));
      // What JSON.stringify of the parsed record writes (-0 becomes 0).
      expect(wire.get(`large-${i}`)).toEqual(
        JSON.parse(JSON.stringify(JSON.parse(DATA_TEXTS[i]!))),
      );
    }
  });

  it('stores the same from a large body with a byte order mark, gzip-encoded, in UTF-16 or with bytes that are not UTF-8', async () => {
    // Escapes and characters beyond ASCII, numbers as JSON.stringify writes them: sent as text.
    const record = DATA_TEXTS[4]!;
    const text = (id: string, data = record) =>
      bodyText('writer', [changeText(id, data), padding(`${id}-pad`)]);
    await push(bodyText('writer', [changeText('reference', record)]));
    await push(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text('bom'))]));
    await push(gzipSync(Buffer.from(text('gzip'))), { 'content-encoding': 'gzip' });
    await push(Buffer.from(text('utf16'), 'utf16le'), {
      'content-type': 'application/json; charset=utf-16le',
    });
    // Not UTF-8: the body parser reads the byte as U+FFFD, in a small body as in a large one.
    const notUtf8 = (body: string): Buffer => {
      const bytes = Buffer.from(body.replace('"raw"', '"r\u0001w"'));
      bytes[bytes.indexOf(0x01)] = 0xff;
      return bytes;
    };
    await push(notUtf8(bodyText('writer', [changeText('broken-small', record)])));
    await push(notUtf8(text('broken')));
    const rows = await stored(['reference', 'bom', 'gzip', 'utf16', 'broken-small', 'broken']);
    for (const id of ['bom', 'gzip', 'utf16']) expect(rows.get(id)).toEqual(rows.get('reference'));
    expect(rows.get('broken-small')).toContain('"r\ufffdw"');
    expect(rows.get('broken')).toEqual(rows.get('broken-small'));
  });

  it('refuses in a large body what it refuses in a small one', async () => {
    const refused = async (data: string, large = true) => {
      const body = bodyText('writer', [
        changeText('bad', data),
        ...(large ? [padding('bad-pad')] : []),
      ]);
      const response = await fetch(`${t.service.url}/sync/todo`, {
        method: 'POST',
        headers: { authorization: `Bearer ${client.token}`, 'content-type': 'application/json' },
        body,
      });
      return { status: response.status, body: (await response.json()) as { message: string } };
    };
    expect(await refused('{"a":"nul \\u0000"}')).toMatchObject({
      status: 400,
      body: { message: 'changes[0].data.a contains a \\u0000 character, which cannot be stored' },
    });
    expect(await refused('{"n":1e400}')).toMatchObject({ status: 400 });
    expect(await refused(`${'{"a":'.repeat(70)}1${'}'.repeat(70)}`)).toMatchObject({
      status: 400,
    });
    // A lone surrogate in data is not refused by the service: PostgreSQL refuses it, alike.
    const lone = '{"a":"\\ud800"}';
    expect(await refused(lone)).toEqual(await refused(lone, false));
    expect(await stored(['bad'])).toEqual(new Map());
  });

  it('replays a large body sent again with its Idempotency-Key, and refuses another body with it', async () => {
    const send = (record: string) =>
      fetch(`${t.service.url}/sync/todo`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${client.token}`,
          'content-type': 'application/json',
          'idempotency-key': 'large-key',
        },
        body: bodyText('writer', [changeText('keyed', record), padding('keyed-pad')]),
      });
    const first = await send(DATA_TEXTS[4]!);
    const again = await send(DATA_TEXTS[4]!);
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual(await first.json());
    expect((await send(DATA_TEXTS[0]!)).status).toBe(422);
    const { rows } = await t.db.pool.query(
      `SELECT count(*)::int AS n FROM sync_changes WHERE record_id = 'keyed'`,
    );
    expect(rows).toEqual([{ n: 1 }]);
  });
});
