#!/usr/bin/env node
// `npm run rebuild:electron`: build better-sqlite3 for the installed Electron into
// native/electron-v<abi>-<platform>-<arch>/better_sqlite3.node, leaving node_modules (Node's build,
// which tests, the CLI and web mode load) untouched. src/main/store/native.ts picks the build that
// matches the running runtime; the packaged app carries this one (electron-builder.yml: native/**).
//
// It compiles a copy of the package with node-gyp against Electron's headers, which node-gyp
// downloads from https://electronjs.org/headers, or takes from CIDER_ELECTRON_HEADERS (a folder with
// the unpacked node headers of this Electron version, as node-gyp's --nodedir wants).
// Usage: node scripts/rebuild-native.mjs [--check]   (--check: say whether the build is there)
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Electron's version and ABI, and where its better-sqlite3 build goes. */
export function electronNativeTarget(platform = process.platform, arch = process.arch) {
  const pkgDir = join(root, 'node_modules', 'electron');
  const version = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')).version;
  const abi = readFileSync(join(pkgDir, 'abi_version'), 'utf8').trim();
  const tag = `electron-v${abi}-${platform}-${arch}`;
  return { version, abi, tag, file: join(root, 'native', tag, 'better_sqlite3.node') };
}

export function rebuildElectronNative(log = console.error) {
  const target = electronNativeTarget();
  const tmp = mkdtempSync(join(tmpdir(), 'cider-native-'));
  try {
    const src = join(root, 'node_modules', 'better-sqlite3');
    const work = join(tmp, 'better-sqlite3');
    cpSync(src, work, { recursive: true, filter: (p) => !p.startsWith(join(src, 'build')) });
    const gyp = join(root, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
    const args = [gyp, 'rebuild', '--release', `--target=${target.version}`, `--arch=${process.arch}`];
    if (process.env.CIDER_ELECTRON_HEADERS) args.push(`--nodedir=${process.env.CIDER_ELECTRON_HEADERS}`);
    else args.push('--dist-url=https://electronjs.org/headers');
    log(`better-sqlite3: building for Electron ${target.version} (ABI v${target.abi})...`);
    const r = spawnSync(process.execPath, args, {
      cwd: work,
      encoding: 'utf8',
      env: { ...process.env, npm_config_devdir: join(tmp, 'gyp') },
    });
    const built = join(work, 'build', 'Release', 'better_sqlite3.node');
    if (r.status !== 0 || !existsSync(built)) {
      const why = (r.stderr || r.stdout || '')
        .split('\n')
        .filter((l) => /ERR!|error/i.test(l))
        .slice(0, 3)
        .join(' | ');
      return {
        ok: false,
        target,
        message:
          `better-sqlite3 could not be built for Electron ${target.version} (${why || `node-gyp exit ${r.status}`}). ` +
          `It needs Electron's headers: network access to https://electronjs.org/headers, or ` +
          `CIDER_ELECTRON_HEADERS=<folder with the node headers of Electron ${target.version}>; ` +
          `or place a build for ABI v${target.abi} at ${target.file}.`,
      };
    }
    mkdirSync(dirname(target.file), { recursive: true });
    copyFileSync(built, target.file);
    return { ok: true, target, message: `better-sqlite3 for Electron ${target.version}: ${target.file}` };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const target = electronNativeTarget();
  if (process.argv.includes('--check')) {
    console.log(existsSync(target.file) ? target.file : `missing: ${target.file}`);
    process.exit(existsSync(target.file) ? 0 : 1);
  }
  const r = rebuildElectronNative();
  console.error(r.message);
  process.exit(r.ok ? 0 : 1);
}
