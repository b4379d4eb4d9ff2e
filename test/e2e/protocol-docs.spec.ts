import { readFile } from 'fs/promises';
import { join, resolve } from 'path';
import { servedRoutes } from '../support/served-routes';
import { useService } from '../support/service-fixture';

const ROOT = resolve(__dirname, '../..');

/** docs/protocol.md names every route the service serves, so it cannot silently fall behind. */
describe('docs/protocol.md', () => {
  const t = useService({}, { membershipApi: false });

  it('names every HTTP route the service answers, and the WebSocket paths', async () => {
    const doc = await readFile(join(ROOT, 'docs/protocol.md'), 'utf8');
    const routes = servedRoutes(t.service.app);
    expect(routes.length).toBeGreaterThan(5);
    const missing = routes.filter((route) => !doc.includes(`\`${route}`));
    expect(missing).toEqual([]);
    expect(doc).toContain('`/ws` (every app) and `/ws/:appId`');
  });
});
