/**
 * Launches the real desktop app with Playwright's Electron support. Runs where the Electron
 * binary is installed; skipped with a one-line reason where it is not (as on offline CI).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { _electron as electron } from 'playwright-core';
import { tempDir } from '../helpers/tmp';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** The binary, without require('electron'): from Electron 42 that require downloads a missing binary. */
function electronBinary(): { path?: string; missing?: string } {
  const dir = join(root, 'node_modules', 'electron');
  const override = process.env.ELECTRON_OVERRIDE_DIST_PATH;
  const pathFile = join(dir, 'path.txt');
  const name = existsSync(pathFile) ? readFileSync(pathFile, 'utf8').trim() : 'electron';
  const path = join(override || join(dir, 'dist'), name);
  return existsSync(path)
    ? { path }
    : { missing: `Electron binary not installed at ${path} (node scripts/ensure-electron.mjs says how to get it)` };
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
