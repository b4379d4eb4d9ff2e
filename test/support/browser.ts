import { existsSync } from 'fs';
import { mkdtemp, rm } from 'fs/promises';
import { tmpdir } from 'os';
import { join } from 'path';
import { chromium, ConsoleMessage, Page } from 'playwright-core';

/** Debian's chromium (`apt-get install -y chromium`; .ci/run installs it), or CHROMIUM_PATH. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export interface TestBrowser {
  /** A new page that records console errors, page errors and requests to other origins. */
  page(options?: { width?: number; height?: number }): Promise<WatchedPage>;
  close(): Promise<void>;
}

export interface WatchedPage {
  page: Page;
  /** Console messages of type error, and uncaught page errors. */
  errors: string[];
  /** Requests to any origin but `origin`. */
  foreign: string[];
}

/**
 * A real headless chromium. Missing, it fails the test with what to do: a browser
 * test never skips silently.
 */
export async function launchBrowser(origin: string): Promise<TestBrowser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `No chromium at ${CHROMIUM}: install it (apt-get install -y chromium; .ci/run does) or set CHROMIUM_PATH`,
    );
  }
  const profile = await mkdtemp(join(tmpdir(), 'chromium-profile-'));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1280, height: 900 },
  });
  const pages: WatchedPage[] = [];
  return {
    async page({ width = 1280, height = 900 } = {}) {
      const page = await browser.newPage();
      await page.setViewportSize({ width, height });
      const watched: WatchedPage = { page, errors: [], foreign: [] };
      page.on('console', (message: ConsoleMessage) => {
        if (message.type() === 'error') watched.errors.push(message.text());
      });
      page.on('pageerror', (error) => watched.errors.push(`page error: ${error.message}`));
      const check = (url: string) => {
        if (url.startsWith('data:')) return;
        const { protocol, host } = new URL(url);
        if (`${protocol.replace(/^ws/, 'http')}//${host}` !== origin) watched.foreign.push(url);
      };
      page.on('request', (request) => check(request.url()));
      page.on('websocket', (socket) => check(socket.url()));
      pages.push(watched);
      return watched;
    },
    async close() {
      await browser.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
