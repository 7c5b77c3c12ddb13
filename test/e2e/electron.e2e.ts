/**
 * Launches the real desktop app with Playwright's Electron support. Runs where the Electron
 * binary is installed; skipped with a one-line reason where it is not (as on offline CI).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { _electron as electron } from 'playwright-core';
import { tempDir } from '../helpers/tmp';

const require = createRequire(import.meta.url);
const root = fileURLToPath(new URL('../..', import.meta.url));

function electronBinary(): { path?: string; missing?: string } {
  try {
    const path = require('electron') as unknown as string;
    return existsSync(path) ? { path } : { missing: `Electron binary not found at ${path}` };
  } catch (e) {
    return { missing: `Electron binary not installed (${(e as Error).message.split('\n')[0]})` };
  }
}

const bin = electronBinary();
const built = existsSync(`${root}out/main/index.js`) ? null : 'app not built (npm run build)';

test('the desktop app opens on the project library', { skip: bin.missing ?? built ?? false }, async () => {
  const app = await electron.launch({
    executablePath: bin.path,
    args: [root, '--data-dir', tempDir()],
    env: { ...process.env } as Record<string, string>,
  });
  try {
    const page = await app.firstWindow();
    await page.getByTestId('project-title').filter({ hasText: 'Demo project' }).waitFor();
    // served from the privileged app scheme (not file://), under the strict production policy
    assert.equal(new URL(page.url()).protocol, 'cider-app:');
    const blocked = await page.evaluate(async () => {
      try {
        await fetch('https://example.org/');
        return false;
      } catch {
        return true;
      }
    });
    assert.equal(blocked, true, 'connect-src allows no network');
    // sandboxed, isolated, no Node: the page sees the named API functions and nothing else
    const seen = await page.evaluate(() => {
      const g = globalThis as Record<string, unknown>;
      const bridge = g.cider as { call: Record<string, Record<string, unknown>> } | undefined;
      return {
        require: typeof g.require,
        process: typeof g.process,
        ipc: typeof g.ipcRenderer,
        list: typeof bridge?.call.projects.list,
      };
    });
    assert.deepEqual(seen, { require: 'undefined', process: 'undefined', ipc: 'undefined', list: 'function' });
    await page.getByLabel('Project name').fill('Desktop study');
    await page.getByRole('button', { name: 'Create project' }).click();
    await page.getByTestId('project-title').filter({ hasText: 'Desktop study' }).waitFor();
  } finally {
    await app.close();
  }
});
