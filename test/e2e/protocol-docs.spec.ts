import { readFile } from 'fs/promises';
import { join, resolve } from 'path';
import { useService } from '../support/service-fixture';

interface ExpressLayer {
  route?: { path: string | string[]; methods: Record<string, boolean> };
}

const ROOT = resolve(__dirname, '../..');

/** docs/protocol.md names every route the service serves, so it cannot silently fall behind. */
describe('docs/protocol.md', () => {
  const t = useService({}, { membershipApi: false });

  it('names every HTTP route the service answers, and the WebSocket paths', async () => {
    const doc = await readFile(join(ROOT, 'docs/protocol.md'), 'utf8');
    const express = t.service.app.getHttpAdapter().getInstance() as {
      router: { stack: ExpressLayer[] };
    };
    const routes = express.router.stack.flatMap((layer) => {
      const route = layer.route;
      if (!route) return [];
      const paths = Array.isArray(route.path) ? route.path : [route.path];
      return paths
        .filter((path) => !/^\/docs(\/|$)/.test(path))
        .flatMap((path) =>
          Object.keys(route.methods)
            .filter((method) => route.methods[method] && method !== '_all')
            .map((method) => `${method.toUpperCase()} ${path}`),
        );
    });
    expect(routes.length).toBeGreaterThan(5);
    const missing = routes.filter((route) => !doc.includes(`\`${route}`));
    expect(missing).toEqual([]);
    expect(doc).toContain('`/ws` (every app) and `/ws/:appId`');
  });
});
