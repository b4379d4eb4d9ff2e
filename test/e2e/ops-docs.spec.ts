import SwaggerParser from '@apidevtools/swagger-parser';
import type { OpenAPIV3 } from 'openapi-types';
import { servedRoutes as expressRoutes } from '../support/served-routes';
import { useService } from '../support/service-fixture';

describe('OpenAPI document and /docs', () => {
  const t = useService({}, { membershipApi: false });
  let document: OpenAPIV3.Document;

  beforeAll(async () => {
    const response = await fetch(`${t.service.url}/docs/openapi.json`);
    expect(response.status).toBe(200);
    document = (await response.json()) as OpenAPIV3.Document;
  });

  /** Every route the HTTP server answers, as `METHOD /openapi/{path}`. */
  function servedRoutes(): string[] {
    return expressRoutes(t.service.app).map((route) => route.replace(/:(\w+)/g, '{$1}'));
  }

  function documentedRoutes(): string[] {
    return Object.entries(document.paths).flatMap(([path, item]) =>
      Object.keys(item ?? {})
        .filter((key) => ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'].includes(key))
        .map((method) => `${method.toUpperCase()} ${path}`),
    );
  }

  it('validates as OpenAPI 3', async () => {
    expect(document.openapi).toMatch(/^3\./);
    await expect(SwaggerParser.validate(structuredClone(document))).resolves.toBeDefined();
  });

  it('lists every route the service serves', () => {
    const served = servedRoutes();
    expect(served).toEqual(
      expect.arrayContaining([
        'POST /sync/{appId}',
        'GET /sync/{appId}/pull',
        'GET /sync/{appId}/stream',
        'GET /health',
        'GET /metrics',
      ]),
    );
    expect(documentedRoutes().sort()).toEqual(expect.arrayContaining(served.sort()));
    expect(document.info.description).toMatch(/\/ws\/\{appId\}/);
  });

  it('describes the request, answer and error shapes and the bearer auth of the sync routes', () => {
    const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
    const push = document.paths['/sync/{appId}']!.post!;
    const json = (body: OpenAPIV3.RequestBodyObject | OpenAPIV3.ResponseObject | undefined) =>
      body?.content?.['application/json']?.schema;
    expect(json(push.requestBody as OpenAPIV3.RequestBodyObject)).toEqual(ref('PushDto'));
    expect(json(push.responses['200'] as OpenAPIV3.ResponseObject)).toEqual(ref('SyncResponse'));
    for (const status of ['400', '401', '402', '403', '408', '413', '429', '503']) {
      expect(json(push.responses[status] as OpenAPIV3.ResponseObject)).toEqual(
        ref('ErrorResponse'),
      );
    }
    expect(push.security).toEqual([{ 'user-token': [] }]);
    expect(push.parameters).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'appId', in: 'path' }),
        expect.objectContaining({ name: 'Idempotency-Key', in: 'header' }),
      ]),
    );
    const pull = document.paths['/sync/{appId}/pull']!.get!;
    expect(pull.parameters).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'collection', in: 'query', required: true }),
        expect.objectContaining({ name: 'since', in: 'query', required: false }),
      ]),
    );
    expect(Object.keys(document.paths['/sync/{appId}/stream']!.get!.responses['200'])).toContain(
      'content',
    );

    const schemas = document.components!.schemas! as Record<string, OpenAPIV3.SchemaObject>;
    expect(schemas.ErrorResponse.required).toEqual(['statusCode', 'error', 'message']);
    expect(Object.keys(schemas.SyncResponse.properties!)).toEqual([
      'serverChanges',
      'conflicts',
      'syncedUntil',
      'hasMore',
    ]);
    expect(schemas.ChangeDto.properties!.op).toMatchObject({
      enum: ['insert', 'update', 'delete'],
    });
    expect(schemas.ChangeDto.required).toEqual(['table', 'id', 'op']);
    expect(document.components!.securitySchemes).toMatchObject({
      'user-token': { type: 'http', scheme: 'bearer' },
      'metrics-token': { type: 'http', scheme: 'bearer' },
    });
  });

  it('gives the operations, health and backup routes a described answer and their auth', () => {
    const op = (path: string, method: 'get' | 'post') => document.paths[path]?.[method];
    const known: [string, 'get' | 'post'][] = [
      ['/sync/{appId}', 'post'],
      ['/sync/{appId}/pull', 'get'],
      ['/sync/{appId}/stream', 'get'],
      ['/health', 'get'],
      ['/metrics', 'get'],
      ['/backup/export', 'get'],
      ['/backup/import', 'post'],
    ];
    for (const [path, method] of known) {
      const ok = op(path, method)?.responses['200'] as OpenAPIV3.ResponseObject | undefined;
      expect({ path, description: ok?.description }).toEqual({
        path,
        description: expect.stringMatching(/\w/),
      });
      expect({ path, content: Object.keys(ok?.content ?? {}).length }).not.toEqual({
        path,
        content: 0,
      });
    }
    expect(op('/metrics', 'get')!.security).toEqual([{ 'metrics-token': [] }]);
    expect(op('/metrics', 'get')!.responses['200']).toMatchObject({
      content: { 'text/plain': {} },
    });
    expect(op('/health', 'get')!.security).toBeUndefined();
    expect(op('/backup/export', 'get')!.security).toEqual([{ 'user-token': [] }]);
    expect(op('/backup/export', 'get')!.responses['200']).toMatchObject({
      content: { 'application/zip': { schema: { type: 'string', format: 'binary' } } },
    });
    expect(op('/backup/import', 'post')!.requestBody).toMatchObject({
      content: { 'application/zip': {} },
    });
  });

  it('serves the Swagger UI at /docs under a CSP it satisfies (no inline scripts)', async () => {
    const response = await fetch(`${t.service.url}/docs`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/text\/html/);
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/script-src 'self'/);
    const html = await response.text();
    const scripts = [...html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attributes, body] of scripts) {
      expect(body.trim()).toBe('');
      const src = /src="([^"]+)"/.exec(attributes)?.[1];
      expect(src).toBeDefined();
      // Resolved as the browser does, against the page's URL.
      const asset = await fetch(new URL(src!, `${t.service.url}/docs`));
      expect(asset.status).toBe(200);
    }
  });
});
