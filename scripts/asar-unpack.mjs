// What a packaged app keeps beside app.asar, in app.asar.unpacked (electron-builder's asarUnpack): the
// one list, computed here and nowhere else. electron-builder.yml takes it with
// `extends: file:scripts/asar-unpack.mjs` (this module's default export, called with the project folder
// once the bundles are built); test/integration/packaging.test.ts checks the packaged result.
//
// Two kinds of files must be real files on disk, since neither the OS loader, child_process nor worker
// threads read inside an asar archive:
//  - ASSET_GLOBS: native and binary assets, found by src/main/runtime/assets.ts: better-sqlite3 for
//    Electron (native/), every .node, onnxruntime-node's libraries, the ffmpeg binary, TF.js's wasm
//    files, the face model's weights;
//  - the job and replica workers (src/main/shell/workers.ts starts them from app.asar.unpacked): all of
//    out/main (the worker entries, the chunks they import, and out/main/package.json, which marks the
//    folder as ESM), and every package the workers can reach, with the packages those depend on.
//    Those packages are the project's runtime dependencies (package.json dependencies and installed
//    optionalDependencies) named by any string in the workers' code: import specifiers, and also the
//    names the code hands to createRequire (the face model, tfjs-node, the wasm binaries' folder).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Native and binary assets (paths relative to the app folder). */
export const ASSET_GLOBS = Object.freeze([
  'native/**',
  'node_modules/onnxruntime-node/bin/**',
  'node_modules/@ffmpeg-installer/*/ffmpeg*',
  'node_modules/@tensorflow/tfjs-backend-wasm/dist/*.wasm',
  'node_modules/@vladmandic/human/models/**',
  '**/*.node',
]);

const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));

/** Package names (bare, scope-aware) of the declared runtime dependencies mentioned in `code`. */
function mentionedPackages(code, declared) {
  const found = new Set();
  for (const m of code.matchAll(/["'`]((?:@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*)(?:\/[^"'`\s]*)?["'`]/gi))
    if (declared.has(m[1])) found.add(m[1]);
  return found;
}

/** The folder a package is installed in, as Node would find it from `fromDir` (nested first, then up). */
function packageDir(name, fromDir, root) {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dir === root || dirname(dir) === dir) return undefined;
  }
}

/**
 * @param {{ root: string, outDir?: string }} opts the project folder and the electron-vite output
 * @returns {{ globs: string[], packages: string[], files: string[] }} asarUnpack globs (relative to
 *   the app folder), the unpacked packages' folders relative to root, and the worker files scanned
 */
export function workerUnpackList({ root, outDir = join(root, 'out') }) {
  const pkg = readJson(join(root, 'package.json'));
  const declared = new Set(
    [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.optionalDependencies ?? {})].filter(
      (n) => n !== 'electron',
    ),
  );
  const mainDir = join(outDir, 'main');
  if (!existsSync(join(mainDir, 'worker.js')))
    throw new Error(
      `${join(mainDir, 'worker.js')} is missing: build the bundles first (npm run build; npm run dist builds them)`,
    );
  const files = readdirSync(mainDir, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.js'));
  const roots = new Set();
  for (const f of files)
    for (const name of mentionedPackages(readFileSync(join(mainDir, f), 'utf8'), declared)) roots.add(name);

  // the dependency closure, resolved the way Node does (a nested copy wins over the top-level one)
  const dirs = new Set();
  const visit = (name, fromDir) => {
    const dir = packageDir(name, fromDir, root);
    if (!dir || dirs.has(dir)) return; // an optional dependency that is not installed, or seen
    dirs.add(dir);
    const meta = readJson(join(dir, 'package.json'));
    for (const dep of [...Object.keys(meta.dependencies ?? {}), ...Object.keys(meta.optionalDependencies ?? {})])
      visit(dep, dir);
  };
  for (const name of roots) visit(name, root);
  const packages = [...dirs].map((d) => relative(root, d).split('\\').join('/')).sort();
  // nested copies are inside their parent's folder already
  const topLevel = packages.filter((p) => !packages.some((q) => q !== p && p.startsWith(`${q}/`)));
  return { globs: ['out/main/**/*', ...topLevel.map((p) => `${p}/**/*`)], packages: topLevel, files };
}

/** The whole asarUnpack list for the app in `root` (its bundles built in `outDir`). */
export function asarUnpack({ root, outDir = join(root, 'out') }) {
  return [...new Set([...ASSET_GLOBS, ...workerUnpackList({ root, outDir }).globs])];
}

/** electron-builder's parent configuration (`extends`): called with { projectDir, ... }. */
export default function config(request) {
  return { asarUnpack: asarUnpack({ root: request.projectDir }) };
}

// `node scripts/asar-unpack.mjs`: print the list for this checkout (after `npm run build`)
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  console.log(JSON.stringify({ asarUnpack: asarUnpack({ root }), ...workerUnpackList({ root }) }, null, 2));
}
