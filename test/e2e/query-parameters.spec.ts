import { request as httpRequest } from 'http';
import type { OpenAPIV3 } from 'openapi-types';
import { buildInspector } from '../../web/inspector/build';
import { RawHttpConnection } from '../support/raw-http';
import { servedRoutes } from '../support/served-routes';
import { useService } from '../support/service-fixture';

const EPOCH = '1970-01-01T00:00:00.000Z';

interface Answer {
  status: number;
  contentType: string;
  body: Buffer;
}

/** One request; an event stream is left as soon as its head is in (it would not end). */
function send(
  url: string,
  method: string,
  headers: Record<string, string>,
  body?: Buffer,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers }, (res) => {
      const contentType = res.headers['content-type'] ?? '';
      if (contentType.startsWith('text/event-stream')) {
        resolve({ status: res.statusCode!, contentType, body: Buffer.alloc(0) });
        req.destroy();
        return;
      }
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode!, contentType, body: Buffer.concat(chunks) }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A request each route answers with 2xx: its path (`:appId` filled in), query and body. */
interface Baseline {
  path: string;
  query: Record<string, string>;
  body?: () => Buffer;
  contentType?: string;
}

/** Values that are not text: NUL, lone surrogates (as UTF-8 bytes would carry them), not UTF-8. */
const NOT_TEXT = ['%00', 'a%00b', '%ED%A0%80', 'a%ED%B0%80', '%ED%A0%80%ED%B0%80', '%FF', 'a%C3'];

describe('every query parameter of every route: bad values are a 400 before anything else', () => {
  const t = useService({}, { membershipApi: false });
  let token: string;
  let archive: Buffer;
  let document: OpenAPIV3.Document;

  const baselines: Record<string, Baseline> = {
    'POST /sync/:appId': {
      path: '/sync/todo',
      query: {},
      contentType: 'application/json',
      body: () => Buffer.from(JSON.stringify({ clientId: 'c-q', since: EPOCH, changes: [] })),
    },
    'GET /sync/:appId/pull': { path: '/sync/todo/pull', query: { collection: 'tasks' } },
    'GET /sync/:appId/stream': { path: '/sync/todo/stream', query: { collections: 'tasks' } },
    'GET /backup/export': { path: '/backup/export', query: {} },
    'POST /backup/import': {
      path: '/backup/import',
      query: {},
      contentType: 'application/zip',
      body: () => archive,
    },
    'GET /health': { path: '/health', query: {} },
    'GET /health/ready': { path: '/health/ready', query: {} },
    'GET /metrics': { path: '/metrics', query: {} },
    'GET /inspect': { path: '/inspect', query: {} },
    'GET /inspect/ops': { path: '/inspect/ops', query: {} },
    // Its file name is the built one's (beforeAll).
    'GET /inspect/assets/:file': { path: '/inspect/assets/', query: {} },
    'GET /inspect/api/apps': { path: '/inspect/api/apps', query: {} },
    'GET /inspect/api/records': {
      path: '/inspect/api/records',
      query: { app: 'todo', collection: 'tasks' },
    },
    'GET /inspect/api/history': {
      path: '/inspect/api/history',
      query: { app: 'todo', collection: 'tasks', record: 'q-1' },
    },
    // Its ids are the pushed change's (beforeAll).
    'GET /inspect/api/changes': { path: '/inspect/api/changes', query: { app: 'todo', ids: '' } },
    'GET /inspect/api/devices': { path: '/inspect/api/devices', query: {} },
    'GET /inspect/api/ops': { path: '/inspect/api/ops', query: {} },
  };

  beforeAll(async () => {
    token = await t.auth.token('user-q');
    document = (await (await fetch(`${t.service.url}/docs/openapi.json`)).json()) as any;
    const exported = await send(`${t.service.url}/backup/export`, 'GET', {
      authorization: `Bearer ${token}`,
    });
    expect(exported.status).toBe(200);
    archive = exported.body;
    const manifest = await buildInspector();
    baselines['GET /inspect/assets/:file']!.path = `/inspect/assets/${manifest.inspector.script}`;
    const eventId = '0b7c6c4e-3f1a-4b2d-8c9e-1f2a3b4c5d6e';
    const pushed = await send(
      `${t.service.url}/sync/todo`,
      'POST',
      { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      Buffer.from(
        JSON.stringify({
          clientId: 'c-q',
          since: EPOCH,
          changes: [{ eventId, table: 'tasks', id: 'q-1', op: 'insert', data: { title: 'q' } }],
        }),
      ),
    );
    expect(pushed.status).toBe(200);
    baselines['GET /inspect/api/changes']!.query.ids = eventId;
  });

  /** The query parameters the OpenAPI document gives the route. */
  function documentedQuery(route: string): OpenAPIV3.ParameterObject[] {
    const [method, path] = route.split(' ');
    const operation = (document.paths[path!.replace(/:(\w+)/g, '{$1}')] as any)?.[
      method!.toLowerCase()
    ] as OpenAPIV3.OperationObject | undefined;
    return ((operation?.parameters ?? []) as OpenAPIV3.ParameterObject[]).filter(
      (p) => p.in === 'query',
    );
  }

  function call(route: string, query: string, path?: string): Promise<Answer> {
    const baseline = baselines[route]!;
    const body = baseline.body?.();
    return send(
      `${t.service.url}${path ?? baseline.path}?${query}`,
      route.split(' ')[0]!,
      {
        authorization: `Bearer ${token}`,
        'x-client-id': 'c-q',
        ...(baseline.contentType ? { 'content-type': baseline.contentType } : {}),
        ...(body ? { 'content-length': String(body.length) } : {}),
      },
      body,
    );
  }

  function encoded(query: Record<string, string>): string {
    return Object.entries(query)
      .map(([k, v]) => `${encodeURIComponent(k)}=${v}`)
      .join('&');
  }

  function expect400(answer: Answer, what: string, mentions: string): void {
    const text = answer.body.toString();
    if (answer.status !== 400) throw new Error(`${what}: ${answer.status} ${text.slice(0, 300)}`);
    expect(answer.contentType).toMatch(/^application\/json/);
    expect(JSON.parse(text).message).toContain(mentions);
  }

  it('knows every served route, and each answers its baseline request with 2xx', async () => {
    const served = servedRoutes(t.service.app);
    expect(served.sort()).toEqual(Object.keys(baselines).sort());
    for (const route of served) {
      const query = Object.fromEntries(
        Object.entries(baselines[route]!.query).map(([k, v]) => [k, encodeURIComponent(v)]),
      );
      const answer = await call(route, encoded(query));
      expect([route, Math.floor(answer.status / 100)]).toEqual([route, 2]);
    }
  });

  it('answers NUL, lone surrogates and bytes that are not UTF-8 in any query name or value with 400', async () => {
    for (const route of servedRoutes(t.service.app)) {
      const names = [...documentedQuery(route).map((p) => p.name), 'unknownParameter'];
      for (const name of names) {
        for (const bad of NOT_TEXT) {
          const query = { ...baselines[route]!.query, [name]: bad };
          expect400(await call(route, encoded(query)), `${route} ${name}=${bad}`, name);
        }
      }
      for (const bad of ['%00', '%ED%A0%80']) {
        const answer = await call(route, `x${bad}y=1`);
        expect400(answer, `${route} name x${bad}y`, 'Query parameter');
      }
    }
  });

  it('answers over-long values of the documented query parameters with 400', async () => {
    let checked = 0;
    for (const route of servedRoutes(t.service.app)) {
      for (const parameter of documentedQuery(route)) {
        const schema = parameter.schema as OpenAPIV3.SchemaObject | undefined;
        // Past the documented bound, or past anything sensible where none is documented.
        const long = 'a'.repeat((schema?.maxLength ?? 4_000) + 1);
        const query = { ...baselines[route]!.query, [parameter.name]: long };
        expect400(
          await call(route, encoded(query)),
          `${route} long ${parameter.name}`,
          parameter.name,
        );
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(6);
    // One collection of a stream longer than a collection name may be (as pull's `collection`).
    const oneLong = `tasks,${'a'.repeat(201)}`;
    const answer = await call('GET /sync/:appId/stream', `collections=${oneLong}`);
    expect400(answer, 'stream with a long collection', 'collections');
  });

  it('answers the stream of a name that cannot exist with 400 before 200, as pull does', async () => {
    for (const route of ['GET /sync/:appId/stream', 'GET /sync/:appId/pull']) {
      const name = route.endsWith('stream') ? 'collections' : 'collection';
      const answer = await call(route, `${name}=a%00b`);
      expect(answer.status).toBe(400);
      expect(JSON.parse(answer.body.toString())).toEqual({
        statusCode: 400,
        error: 'Bad Request',
        message: `Query parameter "${name}" contains a \\u0000 character`,
      });
    }
  });

  it('answers bad :appId values with 400', async () => {
    for (const route of servedRoutes(t.service.app).filter((r) => r.includes(':appId'))) {
      const path = baselines[route]!.path;
      for (const bad of ['a%00b', '%ED%A0%80', 'a'.repeat(101)]) {
        const query = Object.entries(baselines[route]!.query)
          .map(([k, v]) => `${k}=${v}`)
          .join('&');
        const answer = await call(route, query, path.replace('/todo', `/${bad}`));
        expect([`${route} ${bad}`, answer.status]).toEqual([`${route} ${bad}`, 400]);
      }
    }
  });

  it('answers unescaped bytes past ASCII in the request line with a JSON 400 (Node refuses them)', async () => {
    const connection = await RawHttpConnection.open(t.service.url);
    connection.head('GET /sync/todo/pull?collection=\xed\xa0\x80 HTTP/1.1', {
      Authorization: `Bearer ${token}`,
    });
    const response = await connection.response();
    expect(response.status).toBe(400);
    expect(JSON.parse(response.body)).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    await connection.closed;
  });
});
