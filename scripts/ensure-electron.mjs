#!/usr/bin/env node
// How the Electron binary is obtained: the one place that says it.
//
// The `electron` package (42 and later) downloads nothing when npm installs it, so `npm install`
// works offline. The binary is needed only to run the desktop app from a checkout (`npm start`,
// `npm run dev`) and to package it (`npm run dist`). This script, run before those, makes sure it is
// there, in this order:
//   1. ELECTRON_OVERRIDE_DIST_PATH: a folder holding an unpacked Electron of the same version
//      (Electron's own variable; used as is, nothing is downloaded);
//   2. node_modules/electron/dist, fetched by Electron's installer (`npx install-electron`), which
//      downloads electron-v<version>-<platform>-<arch>.zip from GitHub, or takes it from its cache
//      (electron_config_cache=<folder holding that zip>), or from ELECTRON_MIRROR.
// Without network access, put the zip in a folder and set electron_config_cache to that folder,
// or unpack it and set ELECTRON_OVERRIDE_DIST_PATH.
//
// Usage: node scripts/ensure-electron.mjs [--check] [--then electron-vite preview|dev]
//   --check: report only, never download; --then: run electron-vite on that binary (npm start, npm run dev)
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(join(root, 'package.json'));

/** Where the Electron binary is (or would be), its version, and whether it is there. */
export function electronBinary() {
  const pkgDir = dirname(require.resolve('electron/package.json'));
  const version = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')).version;
  const exe =
    process.platform === 'win32'
      ? 'electron.exe'
      : process.platform === 'darwin'
        ? 'Electron.app/Contents/MacOS/Electron'
        : 'electron';
  const override = process.env.ELECTRON_OVERRIDE_DIST_PATH;
  const dist = override || join(pkgDir, 'dist');
  const path = join(dist, exe);
  return {
    version,
    dist,
    path,
    present: existsSync(path),
    source: override ? 'ELECTRON_OVERRIDE_DIST_PATH' : 'node_modules/electron/dist',
    pkgDir,
  };
}

export function howToProvide(version) {
  const zip = `electron-v${version}-${process.platform}-${process.arch}.zip`;
  return [
    `the Electron ${version} binary is not installed. Provide it one of these ways:`,
    `  - with network access: npx install-electron (downloads ${zip})`,
    `  - offline, from the zip: put ${zip} in a folder and run electron_config_cache=<folder> npx install-electron`,
    `  - offline, unpacked: ELECTRON_OVERRIDE_DIST_PATH=<folder with the unpacked Electron ${version}>`,
  ].join('\n');
}

function main() {
  const bin = electronBinary();
  if (bin.present) return 0;
  if (process.argv.includes('--check')) {
    console.error(howToProvide(bin.version));
    return 1;
  }
  if (process.env.ELECTRON_OVERRIDE_DIST_PATH) {
    console.error(`ELECTRON_OVERRIDE_DIST_PATH=${bin.dist} has no ${bin.path}\n${howToProvide(bin.version)}`);
    return 1;
  }
  console.error(`electron: fetching the Electron ${bin.version} binary (npx install-electron)...`);
  const r = spawnSync(process.execPath, [join(bin.pkgDir, 'install.js')], { stdio: 'inherit' });
  if (r.status === 0 && electronBinary().present) return 0;
  console.error(`\nelectron: ${howToProvide(bin.version)}`);
  return 1;
}

/** `--then electron-vite <args>`: run electron-vite on the binary found here (it reads ELECTRON_EXEC_PATH). */
function then() {
  const i = process.argv.indexOf('--then');
  if (i < 0) return 0;
  const [tool, ...args] = process.argv.slice(i + 1);
  const cli = join(root, 'node_modules', tool, 'bin', `${tool}.js`);
  const r = spawnSync(process.execPath, [cli, ...args], {
    stdio: 'inherit',
    env: { ...process.env, ELECTRON_EXEC_PATH: process.env.ELECTRON_EXEC_PATH || electronBinary().path },
  });
  return r.status ?? 1;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) process.exit(main() || then());
