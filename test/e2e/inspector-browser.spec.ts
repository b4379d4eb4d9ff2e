import { mkdtemp, rm } from 'fs/promises';
import { tmpdir } from 'os';
import { join, resolve } from 'path';
import type { Page } from 'playwright-core';
import { loadOrCreateLocalSigningKey } from '../../src/auth/local-signing-key';
import { OpsHistory } from '../../src/inspect/ops-history';
import { buildInspector } from '../../web/inspector/build';
import { launchBrowser, TestBrowser, WatchedPage } from '../support/browser';
import { useService } from '../support/service-fixture';
import { SyncClient } from '../support/sync-client';

/** `SCREENSHOTS=1` writes the views shown in the README into docs/. */
const SCREENSHOTS = process.env.SCREENSHOTS === '1' ? resolve(__dirname, '../../docs') : undefined;

const at = (second: number) => `2026-03-01T10:00:${String(second).padStart(2, '0')}.000Z`;

/* The page.evaluate callbacks run in the browser; this program has no DOM types, so they
   reach the page's document through globalThis. */

/** Pixels of the canvas of a chart drawn in `rgb` (the series' stroke), counted in the page. */
async function pixelsOf(page: Page, chart: string, rgb: [number, number, number]): Promise<number> {
  return page.evaluate(
    ({ chart, rgb }) => {
      const canvas = (globalThis as any).document.querySelector(`[data-chart="${chart}"] canvas`);
      if (!canvas || canvas.width === 0) return 0;
      const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
      let count = 0;
      for (let i = 0; i < data.length; i += 4) {
        const near =
          Math.abs(data[i] - rgb[0]) +
          Math.abs(data[i + 1] - rgb[1]) +
          Math.abs(data[i + 2] - rgb[2]);
        if (data[i + 3] > 200 && near < 40) count++;
      }
      return count;
    },
    { chart, rgb },
  );
}

describe('the inspector and the dashboard in a real browser (chromium)', () => {
  let dir: string;
  let browser: TestBrowser;
  let laptop: SyncClient;
  let phone: SyncClient;
  const watched: WatchedPage[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'inspector-browser-'));
    // What `npm run build` does after nest build: the bundles the service serves.
    await buildInspector();
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));
  // Declared before useService, so it runs before the service closes: the pages' polls and
  // streams end first, and the server's close never waits on them.
  afterAll(async () => {
    await browser?.close();
  });

  const t = useService(
    () => ({ LOCAL_AUTH: 'true', JWKS_URL: '', LOCAL_AUTH_KEY_FILE: join(dir, 'key.json') }),
    { membershipApi: false },
  );

  beforeAll(async () => {
    browser = await launchBrowser(t.service.url);
    const key = await loadOrCreateLocalSigningKey(join(dir, 'key.json'));
    laptop = new SyncClient(t.service.url, await key.sign('alice', '10m'), 'laptop');
    phone = new SyncClient(t.service.url, await key.sign('alice', '10m'), 'phone');
    const insert = { title: 'Buy milk', done: false, updatedAt: at(5) };
    expect(
      (await laptop.push([{ table: 'tasks', id: 'task-1', op: 'insert', data: insert }])).status,
    ).toBe(200);
    // The phone was offline: its edit is older than the laptop's and loses.
    const stale = { title: { value: 'Buy oat milk', at: at(2) }, done: { value: true, at: at(9) } };
    expect(
      (await phone.push([{ table: 'tasks', id: 'task-1', op: 'update', fields: stale }])).status,
    ).toBe(200);
  });

  const open = async (path: string, width?: number): Promise<WatchedPage> => {
    const w = await browser.page({ width });
    watched.push(w);
    await w.page.goto(`${t.service.url}${path}`);
    return w;
  };

  /** A new tab has no token yet (sessionStorage is per tab): continue as alice. */
  const signedIn = async (path: string, width?: number): Promise<WatchedPage> => {
    const w = await open(path, width);
    await w.page.getByRole('button', { name: 'Continue as alice' }).click();
    await w.page.locator('[data-user-id="alice"]').waitFor();
    return w;
  };

  let inspector: WatchedPage;

  it('signs in with local auth, using the keyboard alone', async () => {
    inspector = await open('/inspect');
    const { page } = inspector;
    await page.getByLabel('User id').focus();
    await page.keyboard.press('Control+A');
    await page.keyboard.type('alice');
    await page.keyboard.press('Enter');
    await page.locator('[data-user-id="alice"]').waitFor();
    expect(await page.locator('header').innerText()).toContain('Signed in as alice');
  });

  it('shows the collections, and a record as a device holds it', async () => {
    const { page } = inspector;
    const tasks = page.locator('[data-collection="todo/tasks"]');
    await tasks.waitFor();
    expect(await tasks.innerText()).toMatch(/1 record · 2 changes/);
    await tasks.focus();
    await page.keyboard.press('Enter');
    const row = page.locator('table.records tbody tr').filter({ hasText: 'title' });
    await row.waitFor();
    // The laptop's title holds (newer time); the phone's `done` holds (it is newer there).
    expect(await row.innerText()).toMatch(/"Buy milk"[\s\S]*laptop/);
    const done = page.locator('table.records tbody tr').filter({ hasText: 'done' });
    expect(await done.innerText()).toMatch(/true[\s\S]*phone/);
  });

  it('opens the record whose history has a lost write and reads the reason', async () => {
    const { page } = inspector;
    await page.locator('[data-record="task-1"]').click();
    const lost = page.locator('li.write.lost[data-field="title"]');
    await lost.waitFor();
    expect(await lost.innerText()).toMatch(/"Buy oat milk".*lost: older time than #1/);
    expect(await page.locator('li.write.holds[data-field="title"]').innerText()).toMatch(
      /"Buy milk".*holds/,
    );
    expect(await page.locator('.compaction').innerText()).toBe(
      'Compaction has removed nothing from this history.',
    );
    if (SCREENSHOTS)
      await page.screenshot({ path: join(SCREENSHOTS, 'inspector-history.png'), fullPage: true });
  });

  it('shows a push of a second device live, with how long after its push it arrived', async () => {
    const { page } = inspector;
    // The inspector follows the log from where it was when the page loaded.
    await page.getByText('Following todo: tasks over server-sent events.').waitFor();
    const pushed = await phone.push([
      { table: 'tasks', id: 'task-live', op: 'insert', data: { title: 'Call Bob' } },
    ]);
    expect(pushed.status).toBe(200);
    const entry = page.locator('li.live-change[data-record="task-live"][data-delay-ms]');
    await entry.waitFor();
    const delay = Number(await entry.getAttribute('data-delay-ms'));
    expect(delay).toBeGreaterThanOrEqual(0);
    expect(delay).toBeLessThan(2000);
    expect(await entry.innerText()).toMatch(
      /todo\/tasks\/task-live insert from phone arrived \d+ ms after its push/,
    );
    // A collection nobody had written before is followed as soon as it appears.
    expect(
      (await phone.push([{ table: 'notes', id: 'note-1', op: 'insert', data: { text: 'hi' } }]))
        .status,
    ).toBe(200);
    await page.locator('li.live-change[data-record="note-1"][data-delay-ms]').waitFor();
    // The device list shows the inspector's own stream and socket.
    await page.locator('table.devices').getByText('this inspector').first().waitFor();
    if (SCREENSHOTS)
      await page.screenshot({ path: join(SCREENSHOTS, 'inspector-live.png'), fullPage: true });
  });

  it('labels every control and fits a 390 px wide screen', async () => {
    const narrow = await signedIn('/inspect#/todo/tasks/task-1', 390);
    const { page } = narrow;
    await page.locator('li.write.lost').first().waitFor();
    const unlabelled = await page.evaluate(() =>
      [...(globalThis as any).document.querySelectorAll('input, textarea, select, button')]
        .filter((el) => {
          const labels = el.labels;
          return (
            !(labels && labels.length > 0) && !el.getAttribute('aria-label') && !el.innerText.trim()
          );
        })
        .map((el) => el.outerHTML),
    );
    expect(unlabelled).toEqual([]);
    expect(
      await page.evaluate(() => (globalThis as any).document.documentElement.scrollWidth),
    ).toBeLessThanOrEqual(390);
    if (SCREENSHOTS)
      await page.screenshot({ path: join(SCREENSHOTS, 'inspector-390px.png'), fullPage: true });
  });

  it('draws the dashboard charts from the metrics history', async () => {
    const history = t.service.app.get(OpsHistory);
    // Samples now, rather than every 2 s: three intervals with pulls and pushes draw lines.
    await history.sample();
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 5; i++) await laptop.pull('tasks');
      await laptop.push([{ table: 'tasks', id: `task-ops-${round}`, op: 'insert', data: {} }]);
      await history.sample();
    }
    const dashboard = await open('/inspect/ops');
    const { page } = dashboard;
    await page.locator('[data-chart="rates"][data-has-data="true"] canvas').waitFor();
    // The pull series' stroke (#188038) is on the canvas: the line is drawn, not only the axes.
    await page.waitForFunction(
      () => (globalThis as any).document.querySelectorAll('[data-chart] canvas').length === 8,
    );
    expect(await pixelsOf(page, 'rates', [0x18, 0x80, 0x38])).toBeGreaterThan(20);
    expect(await pixelsOf(page, 'latency', [0x18, 0x80, 0x38])).toBeGreaterThan(20);
    // The notification delay shows "no data" until the service reports sync_hint_delay_seconds.
    const hints = page.locator('[data-chart="hints"]');
    const hasHints = (await hints.getAttribute('data-has-data')) === 'true';
    expect(await hints.innerText()).toMatch(hasHints ? /Notification delivery delay/ : /no data/);
    expect(
      await page.evaluate(() => (globalThis as any).document.documentElement.scrollWidth),
    ).toBeLessThanOrEqual(1280);
    if (SCREENSHOTS)
      await page.screenshot({ path: join(SCREENSHOTS, 'ops-dashboard.png'), fullPage: true });
    const narrow = await open('/inspect/ops', 390);
    await narrow.page.locator('[data-chart="rates"] canvas').waitFor();
    expect(
      await narrow.page.evaluate(() => (globalThis as any).document.documentElement.scrollWidth),
    ).toBeLessThanOrEqual(390);
  });

  it('serves the pages under a CSP without inline scripts, and hashed assets cached for a year', async () => {
    const response = await fetch(`${t.service.url}/inspect`);
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/script-src 'self'(;|$)/);
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
    const html = await response.text();
    const script =
      /<script type="module" src="(\/inspect\/assets\/inspector-[A-Z0-9]+\.js)"><\/script>/.exec(
        html,
      );
    expect(script).not.toBeNull();
    expect(html).not.toMatch(/<script>|<script [^>]*>[^<]/);
    const asset = await fetch(`${t.service.url}${script![1]}`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(asset.headers.get('content-type')).toMatch(/javascript/);
    expect((await fetch(`${t.service.url}/inspect/assets/..%2Fmanifest.json`)).status).toBe(404);
    expect((await fetch(`${t.service.url}/inspect/assets/manifest.json`)).status).toBe(404);
  });

  it('logged no console error and asked no other origin, on any page', () => {
    expect(watched.length).toBeGreaterThan(3);
    expect(watched.flatMap((w) => w.errors)).toEqual([]);
    expect(watched.flatMap((w) => w.foreign)).toEqual([]);
  });
});
