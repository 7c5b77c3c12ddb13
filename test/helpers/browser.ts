/**
 * Debian's Chromium driven by playwright-core, started the way this machine needs (headless, no
 * sandbox as root, no background networking, a fresh profile).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const chromiumMissing = existsSync(CHROMIUM)
  ? null
  : `${CHROMIUM} not found (bash .ci/run installs Debian's chromium)`;
export const artifactsDir = fileURLToPath(new URL('../../test-results', import.meta.url));

export interface BrowserSession {
  browser: Browser;
  context: BrowserContext;
  page: Page;
  close(): Promise<void>;
}

export async function openBrowser(): Promise<BrowserSession> {
  const profile = mkdtempSync(join(tmpdir(), 'cider-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-quic',
      '--no-first-run',
    ],
    viewport: { width: 1280, height: 800 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    browser: context.browser()!,
    context,
    page,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(artifactsDir, { recursive: true });
  const file = join(artifactsDir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/**
 * Wait until the element with this test id has `attr` equal to `value`, as the page changes.
 * (The predicate is a function, not a string: a string would be eval'd in the page, which the
 * app's CSP refuses; it is typed without the DOM library, being serialised into the page.)
 */
export async function waitForAttribute(
  page: Page,
  testId: string,
  attr: string,
  value: string,
  timeout?: number,
): Promise<void> {
  await page.waitForFunction(
    (a) =>
      (
        globalThis as unknown as {
          document: { querySelector(s: string): { getAttribute(n: string): string | null } | null };
        }
      ).document
        .querySelector(`[data-testid="${a.testId}"]`)
        ?.getAttribute(a.attr) === a.value,
    { testId, attr, value },
    timeout === undefined ? {} : { timeout },
  );
}
