#!/usr/bin/env node
// Electron is an optional dependency: its install script downloads the Electron binary, which
// fails on offline machines, and npm then drops the whole package. The build (electron-vite reads
// electron/package.json) and the typecheck of src/main/index.ts and src/preload (electron.d.ts)
// still need the package's JavaScript side, so fetch that from the npm registry and unpack it
// without the binary. `require('electron')` then says Electron is not installed, which is what
// the Electron end-to-end test checks before it skips. To get the real binary later:
// rm -rf node_modules/electron && npm install
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const target = join(root, 'node_modules', 'electron');
if (!existsSync(join(target, 'package.json'))) {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const range = pkg.optionalDependencies?.electron ?? pkg.devDependencies?.electron;
  const tmp = mkdtempSync(join(tmpdir(), 'electron-pkg-'));
  try {
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const out = execFileSync(npm, ['pack', `electron@${range}`, '--pack-destination', tmp, '--json', '--silent'], {
      cwd: tmp,
      encoding: 'utf8',
    });
    const file = JSON.parse(out)[0].filename;
    mkdirSync(target, { recursive: true });
    execFileSync('tar', ['-xzf', join(tmp, file), '-C', target, '--strip-components=1']);
    writeFileSync(
      join(target, 'NO-BINARY.txt'),
      'Unpacked by scripts/postinstall.mjs without the Electron binary, which could not be downloaded.\nTo install it: rm -rf node_modules/electron && npm install\n',
    );
    console.log(
      `electron: binary not downloadable here; unpacked electron@${JSON.parse(readFileSync(join(target, 'package.json'), 'utf8')).version} without it (build and typecheck work; "npm start" needs the binary)`,
    );
  } catch (e) {
    console.warn(
      `electron: could not unpack the electron package (${e.message.split('\n')[0]}); "npm run build" and the Electron typecheck need it`,
    );
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
