/**
 * The end-to-end tests' start-up, once: web mode (`cider web`) on the test file's data folder and
 * Debian's Chromium, started before the first test (after an optional `prepare`, e.g. data and
 * runs made through the services on that folder) and closed after the last; and the page opened
 * through the printed login URL, collecting the page's errors so a test can assert there were none.
 */
import { after, before } from 'node:test';
import type { Page } from 'playwright-core';
import { openBrowser, type BrowserSession } from './browser';
import { startWebApp, type WebApp } from './webapp';

export interface WebAppInChromium {
  /** the running web mode (replaced by `restartWeb`) */
  readonly web: WebApp;
  readonly b: BrowserSession;
  /** starts web mode again on the same data folder, e.g. after a test stopped it */
  restartWeb(): Promise<WebApp>;
  /** the browser's page, opened on the login URL, with the errors it reports from now on (see collectPageErrors) */
  openApp(o?: { console?: boolean }): Promise<{ page: Page; errors: string[] }>;
}

export function useWebAppInChromium(o: {
  dataDir: string;
  /** a reason to skip (nothing starts), or false */
  skip: string | false;
  /** extra `cider web` arguments, read when it starts */
  args?: () => string[];
  prepare?: () => Promise<void> | void;
  /** after web mode and the browser are closed */
  cleanup?: () => void;
}): WebAppInChromium {
  let web: WebApp | undefined;
  let b: BrowserSession | undefined;
  const start = async () => (web = await startWebApp(o.dataDir, o.args?.() ?? []));
  before(async () => {
    if (o.skip) return;
    await o.prepare?.();
    await start();
    b = await openBrowser();
  });
  after(async () => {
    await b?.close();
    await web?.stop();
    o.cleanup?.();
  });
  const started = <T>(x: T | undefined): T => {
    if (x === undefined) throw new Error('web mode and the browser start in before(): use them inside a test');
    return x;
  };
  return {
    get web() {
      return started(web);
    },
    get b() {
      return started(b);
    },
    restartWeb: start,
    async openApp(opts) {
      const { page } = started(b);
      const errors = collectPageErrors(page, opts);
      await page.goto(started(web).loginUrl);
      return { page, errors };
    },
  };
}

/** The page's uncaught errors, and its console errors unless `console` is false, as they happen. */
export function collectPageErrors(page: Page, { console = true } = {}): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  if (console)
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
  return errors;
}
