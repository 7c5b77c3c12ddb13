#!/usr/bin/env node
// `npm run dist`: the installer for this OS (Linux AppImage + deb, Windows nsis, macOS dmg);
// `npm run dist -- --dir`: the unpacked app only (dist/<platform>-unpacked). Config: electron-builder.yml.
//
// Before electron-builder starts, everything packaging needs is checked, and when something is
// missing the script stops at once naming each missing piece and how to provide it (rather than
// electron-builder failing minutes later on a download):
//   - the bundles (built here unless --no-build);
//   - Electron itself: CIDER_ELECTRON_DIST (an unpacked Electron folder, or the
//     electron-v<version>-<platform>-<arch>.zip), the binary in node_modules/electron/dist
//     (scripts/ensure-electron.mjs explains how to get it), or a download by electron-builder;
//   - better-sqlite3 built for that Electron (native/electron-v<abi>-*, `npm run rebuild:electron`);
//   - for installers (not --dir), electron-builder's packaging tools (AppImage's runtime, fpm for
//     deb, NSIS), which it downloads into its cache unless they are already there.
// Other arguments go to electron-builder. --project DIR packages another project folder (tests).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = resolve(fileURLToPath(new URL('..', import.meta.url)));
const argv = process.argv.slice(2);
const take = (flag) => {
  const i = argv.indexOf(flag);
  if (i < 0) return undefined;
  const v = argv[i + 1];
  argv.splice(i, 2);
  return v;
};
const project = resolve(take('--project') ?? here);
const noBuild = argv.includes('--no-build');
if (noBuild) argv.splice(argv.indexOf('--no-build'), 1);
const dirOnly = argv.includes('--dir');

const electronPkg = JSON.parse(readFileSync(join(project, 'node_modules', 'electron', 'package.json'), 'utf8'));
const version = electronPkg.version;
const platform = process.platform;
const zipName = `electron-v${version}-${platform}-${process.arch}.zip`;

/** Can this machine reach the download hosts electron-builder uses? (one HEAD request, 5 s at most) */
function online(host = 'github.com') {
  return new Promise((done) => {
    const req = request({ host, method: 'HEAD', path: '/', timeout: 5000 }, (res) => {
      res.resume();
      done(true);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => done(false));
    req.end();
  });
}

const builderCache = process.env.ELECTRON_BUILDER_CACHE || join(homedir(), '.cache', 'electron-builder');
const cached = (prefix) => existsSync(builderCache) && readdirSync(builderCache).some((d) => d.startsWith(prefix));

const missing = [];
let network;
const needNetwork = async () => (network ??= await online());

// Electron
let electronDist = process.env.CIDER_ELECTRON_DIST;
const installed = join(project, 'node_modules', 'electron', 'dist');
if (electronDist) {
  if (!existsSync(electronDist)) missing.push(`CIDER_ELECTRON_DIST=${electronDist} does not exist`);
} else if (existsSync(installed) && readdirSync(installed).length > 0) {
  electronDist = installed;
} else if (!(await needNetwork())) {
  missing.push(
    `Electron ${version} (${zipName}) cannot be downloaded from here. Provide it: CIDER_ELECTRON_DIST=<the zip, or a folder with Electron ${version} unpacked> npm run dist, or fetch the binary first (node scripts/ensure-electron.mjs says how).`,
  );
}

// better-sqlite3 for Electron
const { electronNativeTarget, rebuildElectronNative } = await import('./rebuild-native.mjs');
const target = electronNativeTarget();
const nativeFile = join(project, 'native', target.tag, 'better_sqlite3.node');
if (!existsSync(nativeFile)) {
  if (project === here) {
    const r = rebuildElectronNative();
    if (!r.ok) missing.push(r.message);
  } else missing.push(`better-sqlite3 for Electron ${version} (ABI v${target.abi}) is missing: ${nativeFile}`);
}

// packaging tools for installers
if (!dirOnly) {
  const tools =
    platform === 'linux'
      ? [
          ['appimage', 'the AppImage runtime and tools (appimage-*)'],
          ['fpm', 'fpm for the deb (or USE_SYSTEM_FPM=true with fpm installed: gem install fpm)'],
        ]
      : platform === 'win32'
        ? [['nsis', 'NSIS (nsis-*)']]
        : [];
  const absent = tools.filter(([p]) => !(p === 'fpm' && process.env.USE_SYSTEM_FPM === 'true') && !cached(p));
  if (absent.length && !(await needNetwork()))
    missing.push(
      `electron-builder's packaging tools are not in its cache (${builderCache}) and cannot be downloaded from here: ${absent.map(([, what]) => what).join('; ')}. Copy them into that cache from a connected machine (ELECTRON_BUILDER_CACHE=<folder> chooses it), or set ELECTRON_BUILDER_BINARIES_MIRROR to a reachable mirror. "npm run dist -- --dir" needs none of them.`,
    );
}

if (missing.length) {
  console.error(`npm run dist: cannot package on this machine:\n${missing.map((m) => `  - ${m}`).join('\n')}`);
  process.exit(1);
}

const run = (cmd, args, env = process.env) => {
  const r = spawnSync(cmd, args, { cwd: project, stdio: 'inherit', env });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
if (!noBuild) {
  run(process.execPath, [join(project, 'node_modules', 'electron-vite', 'bin', 'electron-vite.js'), 'build']);
  run(process.execPath, [join(here, 'scripts', 'build-cli.mjs'), '--out', join(project, 'out', 'cli')]);
}
const platformFlag = { linux: '--linux', win32: '--win', darwin: '--mac' }[platform];
run(process.execPath, [
  join(project, 'node_modules', 'electron-builder', 'cli.js'),
  platformFlag,
  '--projectDir',
  project,
  ...(electronDist ? [`-c.electronDist=${electronDist}`] : []),
  ...argv,
]);
