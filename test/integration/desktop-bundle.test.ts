/**
 * The desktop build (electron-vite) cannot be launched here (no Electron binary), but its main
 * process runs under Node with a stand-in `electron` module (test/helpers/electron-standin): build
 * it once, then drive the real out/main/index.js through start-up failure, the data-folder choice,
 * the IPC sender check, the app scheme, and quitting with a running job; and run a real job
 * through the bundled job worker, and check the sandboxed preload needs nothing but electron.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createPackageWithOptions } from '@electron/asar';
import Database from 'better-sqlite3';
import { workerUnpackList } from '../../scripts/asar-unpack.mjs';
import { STOPPED_BY_QUIT, workerThreadSpawner } from '../../src/main/jobs/runner';
import { createApp } from '../../src/main/services/app';
import { PRODUCT_NAME } from '../../src/main/services/paths';
import { unpackedEntry } from '../../src/main/shell/workers';
import { StandinApp } from '../helpers/electronStandin';
import { makeMmsa, pythonHas } from '../helpers/datasets';
import { tempDir } from '../helpers/tmp';

const root = fileURLToPath(new URL('../..', import.meta.url));
const electronPkg = existsSync(`${root}node_modules/electron/package.json`)
  ? null
  : 'the electron package is not unpacked (run node scripts/ensure-electron.mjs)';

/** no test here should take a minute; a hang fails instead of blocking the run */
const TIMEOUT = { timeout: 180_000 };

interface Envelope {
  ok: boolean;
  value?: unknown;
  error?: { code: string; message: string };
}

describe('the desktop bundle', { skip: electronPkg ?? false }, () => {
  let out = '';
  const running: StandinApp[] = [];
  const launch = (opts: Omit<ConstructorParameters<typeof StandinApp>[0], 'out'>): StandinApp => {
    const app = new StandinApp({ out, ...opts });
    running.push(app);
    return app;
  };

  before(() => {
    // built inside the project (so the bundle resolves node_modules as the app does) but not in out/,
    // which the end-to-end tests running beside this one serve
    mkdirSync(join(root, '.cache'), { recursive: true });
    out = mkdtempSync(join(root, '.cache', 'desktop-bundle-'));
    const build = spawnSync(process.execPath, [`${root}node_modules/electron-vite/bin/electron-vite.js`, 'build'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 300_000,
      env: { ...process.env, CIDER_OUT_DIR: out },
    });
    assert.equal(build.status, 0, build.stderr || build.stdout);
  });
  after(() => {
    for (const app of running) app.kill();
    if (out) rmSync(out, { recursive: true, force: true });
  });

  test('it builds, its job worker runs a job under Node, and its preload requires only electron', TIMEOUT, async () => {
    for (const f of ['main/index.js', 'main/worker.js', 'main/replica.js', 'preload/index.cjs', 'renderer/index.html'])
      assert.ok(existsSync(join(out, f)), `${f} was built`);
    const requires = [...readFileSync(join(out, 'preload/index.cjs'), 'utf8').matchAll(/require\("([^"]+)"\)/g)].map(
      (m) => m[1],
    );
    assert.deepEqual([...new Set(requires)], ['electron'], 'a sandboxed preload may require only electron');
    const csp = /http-equiv="Content-Security-Policy"\s+content="([^"]*)"/.exec(
      readFileSync(join(out, 'renderer/index.html'), 'utf8'),
    )?.[1];
    assert.ok(csp, 'the built page has a CSP');
    assert.match(csp, /script-src 'self';/, 'production scripts: self only');
    assert.doesNotMatch(csp, /ws:|wss:/, 'no WebSockets to any host');

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
  });

  test(
    'from a packaged layout (app.asar + app.asar.unpacked) the job worker starts unpacked and runs jobs',
    TIMEOUT,
    async (t) => {
      if (process.platform !== 'linux') return t.skip('the layout is simulated with hard links (cp -al)');
      const list = workerUnpackList({ root, outDir: out });
      for (const p of [
        '@tensorflow/tfjs',
        '@tensorflow/tfjs-backend-wasm',
        'better-sqlite3',
        'onnxruntime-node',
        'h5wasm',
        '@vladmandic/human',
      ])
        assert.ok(list.packages.includes(`node_modules/${p}`), `${p} is unpacked for the workers`);
      assert.ok(!list.packages.includes('node_modules/react'), 'renderer-only packages stay in the archive');
      assert.equal(list.globs[0], 'out/main/**/*');

      // outside the project, so nothing can resolve from its node_modules
      const sim = tempDir('cider-packaged-');
      const stage = join(sim, 'stage');
      cpSync(out, join(stage, 'out'), { recursive: true });
      cpSync(join(root, 'package.json'), join(stage, 'package.json'));
      const resources = join(sim, 'resources');
      await createPackageWithOptions(stage, join(resources, 'app.asar'), { unpackDir: 'out/main' });
      const unpacked = join(resources, 'app.asar.unpacked');
      assert.ok(
        existsSync(join(unpacked, 'out/main/worker.js')) && existsSync(join(unpacked, 'out/main/package.json')),
      );
      assert.ok(!existsSync(join(unpacked, 'out/renderer')), 'only out/main is unpacked');
      // what asarUnpack leaves beside the archive for the listed packages (hard links: no copying);
      // everything else stays inside app.asar, which plain Node cannot read, so a missing package fails here
      for (const p of list.packages) {
        mkdirSync(dirname(join(unpacked, p)), { recursive: true });
        const cp = spawnSync('cp', ['-al', join(root, p), join(unpacked, p)], { encoding: 'utf8' });
        assert.equal(cp.status, 0, cp.stderr);
      }

      const entry = unpackedEntry(pathToFileURL(join(resources, 'app.asar', 'out', 'main', 'worker.js')));
      assert.equal(fileURLToPath(entry), join(unpacked, 'out', 'main', 'worker.js'));
      const app = createApp({
        dataDir: tempDir(),
        mode: 'desktop',
        seedDemo: false,
        spawnWorker: workerThreadSpawner(entry),
      });
      try {
        const selftest = await app.runner.wait(app.runner.submit('backend.selftest', { size: 16, iterations: 2 }).id);
        assert.equal(selftest.status, 'succeeded', JSON.stringify(selftest.error));
        if (pythonHas('numpy')) {
          const { file } = makeMmsa(tempDir(), 'tiny.pkl');
          const env = await app.dispatch('datasets.import', { files: [file] });
          assert.ok(env.ok, JSON.stringify(env));
          const imported = await app.runner.wait((env.value as { id: number }).id);
          assert.equal(imported.status, 'succeeded', JSON.stringify(imported.error));
        }
      } finally {
        await app.close();
      }
    },
  );

  test('a store that cannot open ends the start with an error box, a log line and exit code 1', TIMEOUT, async () => {
    const dataDir = tempDir();
    writeFileSync(join(dataDir, 'cider.sqlite'), 'this is not an SQLite database, just some text that is long enough');
    const app = launch({ args: ['--data-dir', dataDir], appData: tempDir() });
    const box = await app.waitFor('errorBox');
    assert.equal(box.title, 'CIDer Studio could not start');
    assert.match(String(box.content), new RegExp(`${join(dataDir, 'cider.sqlite').replace(/[/\\.]/g, '\\$&')}`));
    assert.match(String(box.content), /Move the file named above out of the data folder/);
    assert.equal(await app.exited, 1, 'non-zero exit code');
    assert.ok(!app.messages.some((m) => m.type === 'window'), 'no window was created');
    assert.match(readFileSync(join(dataDir, 'logs', 'main.log'), 'utf8'), /start-up failed: .*cider\.sqlite/);
  });

  test('a native module that does not load is reported the same way, with the reinstall fix', TIMEOUT, async () => {
    const dataDir = tempDir();
    const app = launch({
      args: ['--data-dir', dataDir],
      appData: tempDir(),
      env: { CIDER_STANDIN_BROKEN_NATIVE: 'better-sqlite3' },
    });
    const box = await app.waitFor('errorBox');
    assert.match(String(box.content), /NODE_MODULE_VERSION 999/);
    assert.match(String(box.content), /Reinstall CIDer Studio/);
    assert.equal(await app.exited, 1);
    assert.ok(!app.messages.some((m) => m.type === 'window'), 'no window was created');
    assert.match(readFileSync(join(dataDir, 'logs', 'main.log'), 'utf8'), /start-up failed: .*NODE_MODULE_VERSION/);
  });

  test(
    'the data folder is "<appData>/CIDer Studio", and a library in the old "cider-studio" folder is moved there on request',
    TIMEOUT,
    async (t) => {
      if (process.platform !== 'linux') return t.skip('the stand-in steers appData through XDG_CONFIG_HOME (Linux)');
      const appData = tempDir();
      const legacy = join(appData, 'cider-studio');
      const old = createApp({ dataDir: legacy, mode: 'desktop', seedDemo: false });
      old.projects.create('Old study', 'made by an earlier version');
      await old.close();

      const app = launch({ appData, messageBoxResponses: [0] });
      const offer = await app.waitFor('messageBox');
      assert.match(String((offer.options as { detail: string }).detail), /cider-studio/);
      await app.waitFor('loadURL');
      const userData = app.messages.find((m) => m.type === 'setPath' && m.name === 'userData');
      assert.equal(userData?.path, join(appData, PRODUCT_NAME), "Electron's userData is the shared folder");
      const status = (await app.invoke<Envelope>('app.status', {})).value as { dataDir: string };
      assert.equal(status.dataDir, join(appData, PRODUCT_NAME));
      const projects = (await app.invoke<Envelope>('projects.list', {})).value as { name: string }[];
      assert.deepEqual(
        projects.map((p) => p.name),
        ['Old study'],
      );
      assert.ok(!existsSync(join(legacy, 'cider.sqlite')), 'the old folder no longer holds the library');
      await app.command('quit');
      assert.equal(await app.exited, 0);

      // started again: the library is found in the shared folder and nothing is asked
      const again = launch({ appData });
      await again.waitFor('loadURL');
      assert.ok(!again.messages.some((m) => m.type === 'messageBox'));
      await again.command('quit');
      assert.equal(await again.exited, 0);
    },
  );

  test('IPC calls are served only from the main frame of our window showing our page', TIMEOUT, async () => {
    const app = launch({ args: ['--data-dir', tempDir()], appData: tempDir() });
    const loaded = await app.waitFor('loadURL');
    assert.equal(loaded.url, 'cider-app://app/index.html', 'the renderer comes from the app scheme, not file://');
    const ok = await app.invoke<Envelope>('projects.list', {}, 'main');
    assert.equal(ok.ok, true, JSON.stringify(ok));
    assert.equal((await app.invoke<Envelope>('projects.list', {}, 'sameFrameNewObject')).ok, true);
    for (const from of ['subframe', 'foreignPage', 'otherWindow', 'noFrame']) {
      const refused = await app.invoke<Envelope>('projects.list', {}, from);
      assert.equal(refused.ok, false, from);
      assert.equal(refused.error?.code, 'UNAUTHORIZED', from);
    }

    // the app scheme serves the built renderer with the strict policy, and nothing outside it
    const page = await app.command<{ status: number; headers: Record<string, string>; body: string }>('fetch', {
      url: 'cider-app://app/index.html',
    });
    assert.equal(page.status, 200);
    assert.match(page.body, /<div id="root">/);
    assert.match(page.headers['content-security-policy'], /connect-src 'self';/);
    assert.doesNotMatch(page.headers['content-security-policy'], /ws:|wss:|unsafe-eval/);
    for (const url of [
      'cider-app://app/../main/index.js',
      'cider-app://app/%2e%2e/main/index.js',
      'cider-app://other/index.html',
    ])
      assert.equal((await app.command<{ status: number }>('fetch', { url })).status, 404, url);

    // navigation, permissions, menu and DevTools in a production build
    assert.deepEqual(await app.command('navigate', { url: 'https://example.org/', isMainFrame: true }), {
      prevented: true,
    });
    assert.ok(app.messages.some((m) => m.type === 'openExternal' && m.url === 'https://example.org/'));
    assert.deepEqual(await app.command('navigate', { url: 'file:///etc/passwd', isMainFrame: true }), {
      prevented: true,
    });
    assert.deepEqual(await app.command('navigate', { url: 'cider-app://app/index.html', isMainFrame: false }), {
      prevented: true,
    });
    assert.deepEqual(await app.command('permission', { permission: 'media', origin: 'cider-app://app/' }), {
      check: false,
      request: false,
    });
    assert.deepEqual(await app.command('permission', { permission: 'fullscreen', origin: 'https://x.example/' }), {
      check: false,
      request: false,
    });
    const menu = await app.waitFor('menu');
    assert.ok(!(menu.roles as string[]).includes('toggleDevTools'), 'no DevTools in the production menu');
    const win = await app.waitFor('window');
    assert.equal((win.webPreferences as { devTools: boolean }).devTools, false);

    await app.command('quit');
    assert.equal(await app.exited, 0);
  });

  test(
    'a second launch focuses the window and imports the dataset file it names, or says why not',
    TIMEOUT,
    async (t) => {
      if (!pythonHas('numpy')) return t.skip('python3-numpy is needed to write an MMSA pickle');
      const app = launch({ args: ['--data-dir', tempDir()], appData: tempDir() });
      await app.waitFor('loadURL');
      const dir = tempDir();
      const { file } = makeMmsa(dir, 'tiny.pkl');
      const electronArgv = (...rest: string[]) => ['/usr/lib/electron/electron', out, '--data-dir', dir, ...rest];
      await app.command('secondInstance', { argv: electronArgv(file), cwd: dir });
      await app.waitFor('focus');
      const done = await app.waitFor('rendererEvent', (m) => {
        const job = (m.event as { job?: { kind: string; status: string } }).job;
        return job?.kind === 'dataset.import' && ['succeeded', 'failed'].includes(job.status);
      });
      const job = (done.event as { job: { status: string; params: { files: string[] }; error: unknown } }).job;
      assert.equal(job.status, 'succeeded', JSON.stringify(job.error));
      assert.deepEqual(job.params.files, [file]);
      const datasets = (await app.invoke<Envelope>('datasets.list', {})).value as unknown[];
      assert.equal(datasets.length, 1);

      writeFileSync(join(dir, 'broken.pkl'), 'not a pickle');
      await app.command('secondInstance', { argv: electronArgv('broken.pkl'), cwd: dir });
      const box = await app.waitFor('messageBox');
      assert.match(String((box.options as { detail: string }).detail), /broken\.pkl/, 'the message names the file');
      await app.command('quit');
      assert.equal(await app.exited, 0);
    },
  );

  test(
    'quitting with a running job asks, stops the job and records it, closes the store, then exits 0',
    TIMEOUT,
    async () => {
      const dataDir = tempDir();
      const app = launch({ args: ['--data-dir', dataDir], appData: tempDir(), messageBoxResponses: [1, 0] });
      await app.waitFor('loadURL');
      const started = await app.invoke<Envelope>('jobs.selfTest', { size: 256, iterations: 100_000 });
      assert.equal(started.ok, true, JSON.stringify(started));
      const jobId = (started.value as { id: number }).id;
      await app.waitFor(
        'rendererEvent',
        (m) => (m.event as { type: string; job?: { id: number; progress: unknown } }).job?.progress != null,
      );

      // first answer "Keep working": nothing stops
      await app.command('quit');
      await app.waitFor('messageBox');
      const still = (await app.invoke<Envelope>('jobs.get', { id: jobId })).value as { status: string };
      assert.equal(still.status, 'running');

      // then "Stop and quit"
      await app.command('quit');
      assert.equal(await app.exited, 0, app.stderr);
      const boxes = app.messages.filter((m) => m.type === 'messageBox');
      assert.equal(boxes.length, 2);
      assert.match(String((boxes[1].options as { message: string }).message), /A job is still running/);

      assert.ok(
        !existsSync(join(dataDir, 'cider.sqlite-wal')),
        'the store was closed (its WAL checkpointed and removed)',
      );
      const db = new Database(join(dataDir, 'cider.sqlite'), { readonly: true });
      try {
        const row = db.prepare('SELECT status, error_json AS error FROM jobs WHERE id = ?').get(jobId) as {
          status: string;
          error: string;
        };
        assert.equal(row.status, 'cancelled');
        assert.equal(JSON.parse(row.error).message, STOPPED_BY_QUIT);
      } finally {
        db.close();
      }
    },
  );
});
