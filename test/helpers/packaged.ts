/**
 * The desktop app packaged by electron-builder (`npm run dist -- --dir`), for tests that inspect it
 * or run code from its layout. Builds the bundles into a throw-away project folder (package.json,
 * package-lock.json, electron-builder.yml, bin/, links to resources/ and scripts/, and node_modules/
 * as a real folder tree of hard links to the checkout's files), then packages it
 * against the installed Electron when its binary is present, else against a stand-in Electron folder
 * (an `electron` that cannot start, marked cider-stand-in.txt). better-sqlite3 for Electron is taken
 * from native/ when `npm run rebuild:electron` made it, else Node's build stands in for it.
 *
 *   const app = await packageDesktopApp();   // in before(): a few minutes on a loaded machine
 *   after(() => app?.remove());              // at the top level of the test file
 *   app.assets.jobWorkerEntry()              // the resolver pointed at the packaged layout
 *   app.asarFiles                            // every path inside app.asar ('/out/main/index.js', ...)
 *   app.extracted()                          // app.asar + app.asar.unpacked as one plain folder
 *
 * Why node_modules is not a symbolic link to the checkout's: electron-builder takes the production
 * packages from `npm ls`, and npm reads a linked node_modules wrongly. Each package's real path is
 * outside the project, so npm cannot connect any package to the packages it depends on: it reports
 * most of the production tree as missing or extraneous, and electron-builder leaves those out
 * (@ffmpeg-installer/linux-x64, @tensorflow/tfjs-core, ioredis, ...). This stays hidden only while npm
 * trusts its hidden lockfile (node_modules/.package-lock.json), i.e. right after `npm ci`: as soon as
 * anything writes into node_modules (Vite creates node_modules/.vite-temp the first time it loads a
 * TypeScript config), npm reads the folders instead, and every later packaging lost those packages.
 */
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { extractAll, listPackage } from '@electron/asar';
import { layoutAt, runtimeAssets, type AppLayout, type RuntimeAssets } from '../../src/main/runtime/assets';

const root = fileURLToPath(new URL('../..', import.meta.url));

export interface PackagedApp {
  /** the throw-away project that was packaged */
  project: string;
  /** dist/<platform>-unpacked: the app folder an installer would install */
  appDir: string;
  /** the app's executable in appDir */
  executable: string;
  resources: string;
  asar: string;
  unpacked: string;
  /** true when a stand-in replaced the Electron binary (it cannot be launched) */
  standInElectron: boolean;
  /** true when Node's better-sqlite3 stood in for the Electron build */
  standInNative: boolean;
  /** the Electron ABI tag the native build is filed under (electron-v149-linux-x64) */
  electronTag: string;
  layout: AppLayout;
  assets: RuntimeAssets;
  /** every entry of app.asar, as '/out/main/index.js' */
  asarFiles: Set<string>;
  /** size of appDir in bytes */
  sizeBytes: number;
  /** electron-builder's output */
  log: string;
  /** app.asar and app.asar.unpacked merged into one plain folder (made on first call) */
  extracted(): string;
  /** remove the project folder (call from the test file's top-level `after`) */
  remove(): void;
}

function folderSize(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) total += statSync(join(e.parentPath ?? e.path, e.name)).size;
  }
  return total;
}

function run(cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv }): string {
  const r = spawnSync(cmd, args, { ...opts, encoding: 'utf8', timeout: 900_000, maxBuffer: 64 << 20 });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (r.status !== 0) throw new Error(`${[cmd, ...args].join(' ')} failed (${r.status ?? r.signal}):\n${out}`);
  return out;
}

/**
 * `from` recreated at `to` as real folders whose files are hard links to `from`'s (copies where the two
 * are on different file systems) and whose symbolic links point where the originals do. Top-level
 * entries named in `skip` are left out.
 */
function linkTree(from: string, to: string, skip: (name: string) => boolean = () => false): void {
  mkdirSync(to, { recursive: true });
  for (const e of readdirSync(from, { withFileTypes: true })) {
    if (skip(e.name)) continue;
    const src = join(from, e.name);
    const dest = join(to, e.name);
    if (e.isDirectory()) linkTree(src, dest);
    else if (e.isSymbolicLink()) symlinkSync(readlinkSync(src), dest);
    else
      try {
        linkSync(src, dest);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
        copyFileSync(src, dest);
      }
  }
}

/** An Electron folder electron-builder accepts, whose executable only says it is a stand-in. */
function standInElectron(dir: string, version: string): string {
  mkdirSync(join(dir, 'resources'), { recursive: true });
  const exe = join(dir, 'electron');
  writeFileSync(exe, '#!/bin/sh\necho "stand-in Electron: cannot run the app" >&2\nexit 3\n');
  chmodSync(exe, 0o755);
  writeFileSync(join(dir, 'version'), `v${version}`);
  writeFileSync(join(dir, 'LICENSE'), 'stand-in\n');
  writeFileSync(
    join(dir, 'cider-stand-in.txt'),
    'a stand-in for the Electron binary, which cannot be downloaded here\n',
  );
  return dir;
}

export async function packageDesktopApp(): Promise<PackagedApp> {
  const project = mkdtempSync(join(tmpdir(), 'cider-package-'));
  for (const f of ['package.json', 'package-lock.json', 'electron-builder.yml'])
    copyFileSync(join(root, f), join(project, f));
  for (const d of ['resources', 'scripts']) symlinkSync(join(root, d), join(project, d), 'dir');
  // a real tree, not a link (see above); without the tools' caches (.vite, .vite-temp, .cache) and the
  // hidden lockfile, so npm reads the folders, as it does in a checkout used for a while
  linkTree(join(root, 'node_modules'), join(project, 'node_modules'), (n) => n.startsWith('.') && n !== '.bin');
  // copied, not linked: electron-builder does not descend into a linked folder for a `files` pattern
  cpSync(join(root, 'bin'), join(project, 'bin'), { recursive: true });

  // the bundles, built into the project (electron-vite resolves from the checkout, as the app does)
  run(process.execPath, [join(root, 'node_modules/electron-vite/bin/electron-vite.js'), 'build'], {
    cwd: root,
    env: { ...process.env, CIDER_OUT_DIR: join(project, 'out') },
  });
  run(process.execPath, [join(root, 'scripts/build-cli.mjs'), '--out', join(project, 'out', 'cli'), '--quiet'], {
    cwd: root,
  });

  const electronPkg = join(root, 'node_modules', 'electron');
  const version = (await import(join(electronPkg, 'package.json'), { with: { type: 'json' } })).default
    .version as string;
  const realDist = join(electronPkg, 'dist');
  const standInElectronUsed = !existsSync(join(realDist, process.platform === 'win32' ? 'electron.exe' : 'electron'));
  const electronDist = standInElectronUsed ? standInElectron(join(project, '.electron'), version) : realDist;

  const { electronNativeTarget } = (await import(join(root, 'scripts', 'rebuild-native.mjs'))) as {
    electronNativeTarget(): { tag: string; file: string };
  };
  const target = electronNativeTarget();
  const native = join(project, 'native', target.tag, 'better_sqlite3.node');
  mkdirSync(join(project, 'native', target.tag), { recursive: true });
  const standInNative = !existsSync(target.file);
  copyFileSync(
    standInNative ? join(root, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node') : target.file,
    native,
  );

  const log = run(process.execPath, [join(root, 'scripts/dist.mjs'), '--project', project, '--dir', '--no-build'], {
    cwd: project,
    // USE_HARD_LINKS=false: electron-builder copies into the app folder; a hard link there would be one
    // more name for a file of the checkout's node_modules, which anything writing in the app would change
    env: { ...process.env, CIDER_ELECTRON_DIST: electronDist, CI: '1', USE_HARD_LINKS: 'false' },
  });

  const platformDir = { linux: 'linux-unpacked', win32: 'win-unpacked', darwin: 'mac' }[process.platform as string];
  const appDir = join(project, 'dist', platformDir ?? `${process.platform}-unpacked`);
  const resources = join(appDir, 'resources');
  const asar = join(resources, 'app.asar');
  const layout = layoutAt(asar, join(asar, 'out', 'main'), 'packaged');
  let extractedDir: string | undefined;
  return {
    project,
    appDir,
    executable: join(appDir, process.platform === 'win32' ? 'cider-studio.exe' : 'cider-studio'),
    resources,
    asar,
    unpacked: `${asar}.unpacked`,
    standInElectron: standInElectronUsed,
    standInNative,
    electronTag: target.tag,
    layout,
    assets: runtimeAssets(layout),
    asarFiles: new Set(listPackage(asar, { isPack: false }).map((p) => p.split('\\').join('/'))),
    sizeBytes: folderSize(appDir),
    log,
    extracted() {
      if (!extractedDir) {
        // outside the project: code run from here must not find the project's node_modules above it
        extractedDir = mkdtempSync(join(tmpdir(), 'cider-extracted-'));
        extractAll(asar, extractedDir);
        cpSync(`${asar}.unpacked`, extractedDir, { recursive: true });
      }
      return extractedDir;
    },
    remove() {
      rmSync(project, { recursive: true, force: true });
      if (extractedDir) rmSync(extractedDir, { recursive: true, force: true });
    },
  };
}
