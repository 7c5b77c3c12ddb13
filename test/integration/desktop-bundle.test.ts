/**
 * The desktop build (electron-vite) cannot be launched here, but everything in it except
 * index.js runs under Node: build it, then run a real job through the bundled job worker, and
 * check the sandboxed preload needs nothing but electron.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { workerThreadSpawner } from '../../src/main/jobs/runner';
import { createApp } from '../../src/main/services/app';
import { tempDir } from '../helpers/tmp';

const root = fileURLToPath(new URL('../..', import.meta.url));
const electronPkg = existsSync(`${root}node_modules/electron/package.json`)
  ? null
  : 'the electron package is not unpacked (run node scripts/ensure-electron.mjs)';

test(
  'the desktop bundle builds, its job worker runs a job under Node, and its preload requires only electron',
  { skip: electronPkg ?? false },
  async () => {
    // built inside the project (so the bundle resolves node_modules as the app does) but not in out/,
    // which the end-to-end tests running beside this one serve
    mkdirSync(join(root, '.cache'), { recursive: true });
    const out = mkdtempSync(join(root, '.cache', 'desktop-bundle-'));
    after(() => rmSync(out, { recursive: true, force: true }));
    const build = spawnSync(process.execPath, [`${root}node_modules/electron-vite/bin/electron-vite.js`, 'build'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 300_000,
      env: { ...process.env, CIDER_OUT_DIR: out },
    });
    assert.equal(build.status, 0, build.stderr || build.stdout);
    for (const f of ['main/index.js', 'main/worker.js', 'main/replica.js', 'preload/index.cjs', 'renderer/index.html'])
      assert.ok(existsSync(join(out, f)), `${f} was built`);
    const requires = [...readFileSync(join(out, 'preload/index.cjs'), 'utf8').matchAll(/require\("([^"]+)"\)/g)].map(
      (m) => m[1],
    );
    assert.deepEqual([...new Set(requires)], ['electron'], 'a sandboxed preload may require only electron');

    const app = createApp({
      dataDir: tempDir(),
      mode: 'desktop',
      seedDemo: false,
      spawnWorker: workerThreadSpawner(pathToFileURL(join(out, 'main/worker.js'))),
    });
    try {
      const job = app.runner.submit('backend.selftest', { size: 16, iterations: 2 });
      const done = await app.runner.wait(job.id);
      assert.equal(done.status, 'succeeded', JSON.stringify(done.error));
    } finally {
      await app.close();
    }
  },
);
