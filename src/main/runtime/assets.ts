/**
 * The one resolver for files the app loads at run time: native and binary assets (better-sqlite3's
 * .node, onnxruntime-node's libraries, the ffmpeg binary, TF.js's wasm files, the face model's
 * weights) and the entry files of job and replica worker threads, plus the built renderer.
 *
 * Three layouts, told apart by where this code runs from:
 *  - source: a checkout running the TypeScript through tsx (tests, `npm run cider` in development);
 *  - bundle: the built code in out/ (out/cli for the CLI and web mode, out/main for the desktop app);
 *  - packaged: inside an installed app, <resources>/app.asar, whose native and binary files are
 *    unpacked next to it in <resources>/app.asar.unpacked (electron-builder's asarUnpack), since
 *    neither the OS loader nor child_process can read a file inside an asar archive.
 *
 * Every path is computed from the app root; nothing reads inside app.asar, so a test can point the
 * resolver at a packaged layout from plain Node (test/helpers/packaged.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export type LayoutKind = 'source' | 'bundle' | 'packaged';

export interface AppLayout {
  kind: LayoutKind;
  /** the checkout, or <resources>/app.asar in an installed app */
  root: string;
  /** where unpacked files live: the root itself, or <resources>/app.asar.unpacked */
  unpacked: string;
  /** the folder of the running code's entry: src/... in source mode, out/<target> when built */
  codeDir: string;
}

const APP_NAME = 'cider-studio';

/** The app root above `dir`: the nearest folder whose package.json is ours (app.asar counts: Electron reads into it). */
export function findAppRoot(dir: string): string | null {
  for (let d = dir; ;) {
    if (d.endsWith('.asar')) return d;
    const file = join(d, 'package.json');
    if (existsSync(file)) {
      try {
        if ((JSON.parse(readFileSync(file, 'utf8')) as { name?: string }).name === APP_NAME) return d;
      } catch {
        // an unreadable package.json is not ours: keep looking
      }
    }
    const up = dirname(d);
    if (up === d) return null;
    d = up;
  }
}

/** The layout for an app rooted at `root` (a checkout, or a packaged app's app.asar) running code in `codeDir`. */
export function layoutAt(root: string, codeDir = join(root, 'out', 'main'), kind?: LayoutKind): AppLayout {
  const packaged = root.endsWith('.asar');
  return {
    kind: kind ?? (packaged ? 'packaged' : 'bundle'),
    root,
    unpacked: packaged ? `${root}.unpacked` : root,
    codeDir,
  };
}

/** The layout of the running code. `CIDER_APP_ROOT` overrides the root (a packaged layout seen from Node). */
export function currentLayout(): AppLayout {
  const here = fileURLToPath(import.meta.url);
  const source = here.endsWith('.ts');
  // bundled code runs from out/<target>/ or out/<target>/chunks/
  const codeDir = source ? dirname(here) : dirname(here).replace(/[\\/]chunks$/, '');
  const root =
    process.env.CIDER_APP_ROOT ||
    findAppRoot(dirname(here)) ||
    // a bundle moved out of its tree: assume out/<target>/
    dirname(dirname(codeDir));
  const layout = layoutAt(root, codeDir);
  return source && layout.kind !== 'packaged' ? { ...layout, kind: 'source' } : layout;
}

/** A path inside the app whose file must be on the real file system (unpacked when packaged). */
export function unpackedPath(layout: AppLayout, ...parts: string[]): string {
  return join(layout.unpacked, ...parts);
}

/** A path inside the app as Electron sees it (inside app.asar when packaged). */
export function appPath(layout: AppLayout, ...parts: string[]): string {
  return join(layout.root, ...parts);
}

/** A path from a package's resolution that points into app.asar, moved to app.asar.unpacked. */
export function toUnpacked(path: string): string {
  return path.replace(`${sep}app.asar${sep}`, `${sep}app.asar.unpacked${sep}`);
}

/** A tag naming the ABI a native module must be built for: electron-v149-linux-x64, node-v115-linux-x64. */
export function runtimeTag(
  versions: NodeJS.ProcessVersions = process.versions,
  platform: string = process.platform,
  arch: string = process.arch,
): string {
  return `${versions.electron ? 'electron' : 'node'}-v${versions.modules}-${platform}-${arch}`;
}

export interface RuntimeAssets {
  layout: AppLayout;
  /** better-sqlite3 candidates in order: a build for this runtime under native/<tag>/, then the package's own */
  sqliteBindings(tag?: string): string[];
  /** onnxruntime-node's native folder for this platform (its binding and libonnxruntime) */
  onnxruntimeDir(platform?: string, arch?: string): string;
  /** the ffmpeg binary shipped by @ffmpeg-installer for this platform */
  ffmpegBinary(platform?: string, arch?: string): string;
  /** the folder with TF.js's wasm binaries (ends with a separator, as setWasmPaths wants) */
  tfjsWasmDir(): string;
  /**
   * @vladmandic/human: its dist folder (JavaScript, loaded from the archive so that it shares the
   * engine's @tensorflow/tfjs-core) and its model weights (unpacked: read as files)
   */
  faceModel(): { dist: string; models: string };
  /** the job worker's entry (a worker thread) */
  jobWorkerEntry(): URL;
  /** the data-parallel training replica's entry (a worker thread) */
  replicaEntry(): URL;
  /** the built renderer (index.html + assets), served by web mode */
  rendererDir(): string;
}

const nm = (layout: AppLayout, ...parts: string[]) => unpackedPath(layout, 'node_modules', ...parts);

/** A bundled worker entry: `name.js` in the entry folder (out/cli/, out/main/, also inside app.asar). */
function bundledEntry(layout: AppLayout, name: string): URL {
  return pathToFileURL(join(layout.codeDir, `${name}.js`));
}

export function runtimeAssets(layout: AppLayout = currentLayout()): RuntimeAssets {
  const source = layout.kind === 'source';
  return {
    layout,
    sqliteBindings(tag = runtimeTag()) {
      return [
        unpackedPath(layout, 'native', tag, 'better_sqlite3.node'),
        nm(layout, 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node'),
      ];
    },
    onnxruntimeDir(platform = process.platform, arch = process.arch) {
      return nm(layout, 'onnxruntime-node', 'bin', 'napi-v6', platform, arch);
    },
    ffmpegBinary(platform = process.platform, arch = process.arch) {
      return nm(layout, '@ffmpeg-installer', `${platform}-${arch}`, platform === 'win32' ? 'ffmpeg.exe' : 'ffmpeg');
    },
    tfjsWasmDir() {
      return nm(layout, ...'@tensorflow/tfjs-backend-wasm'.split('/'), 'dist') + sep;
    },
    faceModel() {
      return {
        // the package named whole: scripts/asar-unpack.mjs finds the packages the workers load by name
        dist: appPath(layout, 'node_modules', ...'@vladmandic/human'.split('/'), 'dist'),
        models: nm(layout, ...'@vladmandic/human'.split('/'), 'models'),
      };
    },
    jobWorkerEntry() {
      return source
        ? pathToFileURL(join(layout.root, 'src', 'main', 'jobs', 'worker-tsx.mjs'))
        : bundledEntry(layout, 'worker');
    },
    replicaEntry() {
      return source
        ? pathToFileURL(join(layout.root, 'src', 'main', 'ml', 'parallel', 'replica-tsx.mjs'))
        : bundledEntry(layout, 'replica');
    },
    rendererDir() {
      return appPath(layout, 'out', 'renderer');
    },
  };
}
