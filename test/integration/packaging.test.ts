/**
 * The desktop app packaged by electron-builder (`npm run dist -- --dir`, against the installed
 * Electron where its binary exists, else a stand-in): app.asar holds the bundles and no
 * devDependencies; every runtime asset is unpacked and found by the app's resolver pointed at the
 * packaged layout; the CLI shipped inside runs from the package; `npm run dist` on this machine
 * stops at once naming what is missing. Prints the app folder's size.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ASSET_GLOBS, asarUnpack, workerUnpackList } from '../../scripts/asar-unpack.mjs';
import { describeFuses, fusesFor, readFuses, verifyFuses } from '../../scripts/fuses.mjs';
import { unpackedEntry } from '../../src/main/shell/workers';
import { packageDesktopApp, type PackagedApp } from '../helpers/packaged';
import { tempDir } from '../helpers/tmp';

const root = fileURLToPath(new URL('../..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  devDependencies: Record<string, string>;
  dependencies: Record<string, string>;
};

let app: PackagedApp;
after(() => app?.remove());
before(async () => {
  const t0 = Date.now();
  app = await packageDesktopApp();
  const mb = (app.sizeBytes / 2 ** 20).toFixed(1);
  console.log(
    `packaged app folder ${app.appDir}: ${mb} MiB (Electron: ${app.standInElectron ? 'stand-in' : 'installed binary'}; ` +
      `better-sqlite3 for Electron: ${app.standInNative ? "Node's build standing in" : 'native/'}) in ${((Date.now() - t0) / 1000).toFixed(0)} s`,
  );
});

/** Where a file of the app lives for the OS: inside app.asar (as listed) or unpacked beside it. */
const inAsar = (p: string) => app.asarFiles.has(`/${relative(app.asar, p).split('\\').join('/')}`);

test('app.asar holds the main, preload, renderer and CLI bundles, and no devDependencies', () => {
  for (const f of [
    'package.json',
    'out/main/index.js',
    'out/main/worker.js',
    'out/main/replica.js',
    'out/preload/index.cjs',
    'out/renderer/index.html',
    'out/cli/cider.js',
    'out/cli/worker.js',
    'out/cli/replica.js',
    'bin/cider.mjs',
  ])
    assert.ok(app.asarFiles.has(`/${f}`), `${f} in app.asar`);
  assert.ok(![...app.asarFiles].some((f) => f.startsWith('/src/')), 'no sources');
  assert.ok(![...app.asarFiles].some((f) => f.endsWith('.map')), 'no source maps');
  const stray = [...app.asarFiles].filter((f) => f.endsWith('~') || f.endsWith('/.env'));
  assert.deepEqual(stray, [], "packages' editor backups and .env files left out");
  const packaged = new Set(
    // package folders: /node_modules/<name>/... or /node_modules/@scope/<name>/... (not the bare @scope folder)
    [...app.asarFiles].map((f) => /^\/node_modules\/((?:@[^/]+\/)?[^/@][^/]*)/.exec(f)?.[1]).filter(Boolean),
  );
  // the production tree as npm sees it: a devDependency may also be a dependency of a dependency
  const ls = spawnSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: root, encoding: 'utf8' });
  const production = new Set(
    ls.stdout
      .split('\n')
      .map((p) => /node_modules\/((?:@[^/]+\/)?[^/]+)$/.exec(p.split('\\').join('/'))?.[1])
      .filter((n): n is string => !!n),
  );
  assert.ok(production.has('better-sqlite3'), ls.stderr);
  for (const dev of Object.keys(pkg.devDependencies).filter((d) => !production.has(d)))
    assert.ok(
      !packaged.has(dev) && !existsSync(join(app.unpacked, 'node_modules', dev)),
      `devDependency ${dev} packaged`,
    );
  for (const name of packaged) assert.ok(production.has(name!), `${name} is not a production dependency`);
  // and every installed production package is there (the platform's @ffmpeg-installer binary, the
  // packages of packages), but for those electron-builder.yml leaves out on purpose
  const leftOut = /^(tsx|esbuild|@esbuild\/.+|react|react-dom|scheduler)$/;
  const lost = [...production].filter((name) => !leftOut.test(name) && !packaged.has(name));
  assert.deepEqual(lost, [], 'production packages missing from app.asar');
  for (const dep of ['better-sqlite3', 'onnxruntime-node', '@tensorflow/tfjs', 'zod', 'ws'])
    assert.ok(packaged.has(dep), `dependency ${dep} packaged`);
  for (const sourceModeOnly of ['tsx', 'esbuild'])
    assert.ok(!packaged.has(sourceModeOnly), `${sourceModeOnly} left out`);
});

test('every runtime asset is unpacked and found by the resolver pointed at the packaged layout', () => {
  const a = app.assets;
  assert.equal(a.layout.kind, 'packaged');
  assert.equal(a.layout.unpacked, app.unpacked);
  const isFile = (p: string, what: string) => {
    assert.ok(p.startsWith(app.unpacked), `${what} resolved under app.asar.unpacked: ${p}`);
    assert.ok(existsSync(p) && statSync(p).isFile(), `${what}: ${p} is a real file`);
  };
  // better-sqlite3 for Electron: the resolver's first candidate for the Electron runtime tag
  const [sqlite] = a.sqliteBindings(app.electronTag);
  isFile(sqlite, "better-sqlite3's .node");
  // onnxruntime-node: its binding and the library it links
  const ort = a.onnxruntimeDir('linux', 'x64');
  if (process.platform === 'linux' && process.arch === 'x64') {
    isFile(join(ort, 'onnxruntime_binding.node'), 'onnxruntime binding');
    assert.ok(
      readdirSync(ort).some((f) => /^libonnxruntime\.so/.test(f)),
      `libonnxruntime in ${ort}: ${readdirSync(ort).join(', ')}`,
    );
    assert.ok(!existsSync(join(app.unpacked, 'node_modules/onnxruntime-node/bin/napi-v6/win32')), 'no Windows libs');
    const ffmpeg = a.ffmpegBinary();
    isFile(ffmpeg, 'ffmpeg');
    accessSync(ffmpeg, constants.X_OK);
  }
  const wasm = a.tfjsWasmDir();
  for (const f of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm']) isFile(join(wasm, f), `TF.js ${f}`);
  const face = a.faceModel();
  isFile(join(face.models, 'blazeface.json'), 'face detector graph');
  assert.ok(readdirSync(face.models).filter((f) => f.endsWith('.bin')).length >= 3, 'face model weights unpacked');
  assert.ok(inAsar(join(face.dist, 'human.node-wasm.js')), "the face model's JavaScript is in app.asar's listing");
  // worker entries: listed in app.asar next to the code that starts them, and started from their
  // app.asar.unpacked twins (src/main/shell/workers.ts)
  for (const [what, url] of [
    ['job worker', a.jobWorkerEntry()],
    ['replica worker', a.replicaEntry()],
  ] as const) {
    assert.ok(inAsar(fileURLToPath(url)), `${what} ${fileURLToPath(url)} in app.asar`);
    isFile(fileURLToPath(unpackedEntry(url)), `${what} started from`);
  }
  assert.ok(inAsar(join(a.rendererDir(), 'index.html')), 'renderer in app.asar');
  assert.ok(!existsSync(join(app.unpacked, 'out/renderer')), 'the renderer is not unpacked');
});

test('asarUnpack is the list scripts/asar-unpack.mjs computes: the assets, out/main and the packages the workers load', () => {
  assert.match(app.log, /loaded parent configuration\s+file=\S*scripts\/asar-unpack\.mjs/);
  const list = workerUnpackList({ root: app.project });
  assert.ok(list.packages.length > 10, list.packages.join(' '));
  for (const p of ['@tensorflow/tfjs-core', 'better-sqlite3', 'onnxruntime-node', '@vladmandic/human', 'h5wasm'])
    assert.ok(list.packages.includes(`node_modules/${p}`), `${p} unpacked for the workers`);
  for (const f of ['out/main/worker.js', 'out/main/replica.js', 'out/main/index.js', 'out/main/package.json'])
    assert.ok(existsSync(join(app.unpacked, f)), `${f} unpacked`);
  for (const p of list.packages)
    assert.ok(existsSync(join(app.unpacked, p, 'package.json')), `${p} unpacked (the workers load it)`);
  // and nothing else: a packaged package the workers do not load stays in the archive only
  const unpackedNames = new Set(list.packages.map((p) => p.replace(/^node_modules\//, '')));
  const archiveOnly = [...app.asarFiles]
    .map((f) => /^\/node_modules\/((?:@[^/]+\/)?[^/@][^/]*)\/package\.json$/.exec(f)?.[1])
    .filter((n): n is string => !!n && !unpackedNames.has(n));
  assert.ok(archiveOnly.includes('ws'), `ws (main process only) stays in app.asar: ${archiveOnly.join(' ')}`);
  for (const n of archiveOnly)
    assert.ok(!existsSync(join(app.unpacked, 'node_modules', n, 'package.json')), `${n} is not unpacked`);
  // the static globs (paths relative to the app folder) match what is unpacked
  assert.deepEqual(asarUnpack({ root: app.project }).slice(0, ASSET_GLOBS.length), [...ASSET_GLOBS]);
});

test('the Electron fuses: read back from the packaged binary, or reported as skipped for the stand-in', async () => {
  const fuses = fusesFor(process.platform);
  assert.equal(fuses.RunAsNode, true, 'RunAsNode stays on: `cider` is the app run as Node');
  if (app.standInElectron) {
    // no fuse wire in a stand-in: after-pack says what it would set, and that it set nothing
    assert.ok(
      app.log.includes(
        `after-pack: SKIPPED, stand-in Electron (no fuse wire in ${app.executable}); would set fuses: ${describeFuses(fuses)}`,
      ),
      app.log,
    );
    return;
  }
  assert.match(app.log, /after-pack: fuses set and read back/);
  const read = await readFuses(app.executable);
  for (const [name, on] of Object.entries(fuses)) assert.equal(read[name], on, `fuse ${name}`);
  await verifyFuses(app.executable, fuses);
});

test('the Linux app folder has the executable, icons and the cider launcher; the deb scripts link cider', () => {
  assert.ok(existsSync(app.executable), `executable ${app.executable}`);
  const launcher = join(app.resources, 'bin', 'cider');
  accessSync(launcher, constants.X_OK);
  assert.match(
    readFileSync(launcher, 'utf8'),
    /ELECTRON_RUN_AS_NODE=1 exec "\$exe" "\$resources\/app\.asar\/bin\/cider\.mjs"/,
  );
  assert.match(
    readFileSync(join(root, 'resources/linux/after-install.sh'), 'utf8'),
    /ln -sf .*resources\/bin\/cider' '\/usr\/bin\/cider'/,
  );
  for (const s of [16, 48, 256, 512]) assert.ok(existsSync(join(root, `resources/icons/${s}x${s}.png`)), `${s}px icon`);
});

test('the CLI shipped in the package runs from it (no sources): help, and doctor on a fresh data folder', () => {
  // Electron runs it as `ELECTRON_RUN_AS_NODE=1 cider-studio app.asar/bin/cider.mjs`; plain Node
  // cannot read app.asar, so it runs the same files extracted, with Node's better-sqlite3
  const dir = app.extracted();
  assert.ok(!existsSync(join(dir, 'src')));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CIDER_SQLITE_BINDING: join(root, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node'),
  };
  delete env.CIDER_SOURCE;
  const help = spawnSync(process.execPath, [join(dir, 'bin/cider.mjs'), 'help'], { encoding: 'utf8', env });
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /usage: cider <command>/);
  const doctor = spawnSync(process.execPath, [join(dir, 'bin/cider.mjs'), 'doctor', '--data-dir', tempDir()], {
    encoding: 'utf8',
    env,
    timeout: 120_000,
  });
  assert.equal(doctor.status, 0, doctor.stderr);
  assert.match(doctor.stdout, /backend: wasm/);
  // ffmpeg found through the resolver, inside the extracted package
  assert.match(
    doctor.stdout,
    new RegExp(`ffmpeg: ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/node_modules/@ffmpeg-installer/`),
  );
  assert.doesNotMatch(doctor.stdout + doctor.stderr, /running TensorFlow\.js in Node/);
});

test('the installed app runs `cider` with its own executable', { skip: false }, (t) => {
  if (app.standInElectron) return t.skip('stand-in Electron: the binary cannot be downloaded here');
  const r = spawnSync(app.executable, [join(app.asar, 'bin/cider.mjs'), 'help'], {
    encoding: 'utf8',
    env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /usage: cider <command>/);
});

test('npm run dist stops at once, naming what this machine lacks, when packaging needs downloads', (t) => {
  // only meaningful where nothing can be downloaded: the preflight probes github.com
  const probe = spawnSync(process.execPath, [
    '-e',
    "require('https').request({host:'github.com',method:'HEAD',timeout:5000},()=>process.exit(0)).on('error',()=>process.exit(1)).on('timeout',function(){this.destroy()}).end()",
  ]);
  if (probe.status === 0) return t.skip('this machine can download: electron-builder would fetch what it needs');
  const r = spawnSync(process.execPath, [join(root, 'scripts/dist.mjs'), '--project', app.project, '--no-build'], {
    encoding: 'utf8',
    env: { ...process.env, CIDER_ELECTRON_DIST: '', ELECTRON_BUILDER_CACHE: tempDir() },
    timeout: 60_000,
  });
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.match(r.stderr, /cannot package on this machine/);
  if (app.standInElectron)
    assert.match(
      r.stderr,
      /Electron \S+ \(electron-v\S+\.zip\) cannot be downloaded from here\. Provide it: CIDER_ELECTRON_DIST=/,
    );
  if (process.platform === 'linux') assert.match(r.stderr, /AppImage.*fpm for the deb/);
  assert.doesNotMatch(r.stdout, /electron-builder/, 'electron-builder never started');
});
