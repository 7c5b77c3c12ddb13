// What a packaged app must unpack from app.asar so the job worker and the replica worker load from
// app.asar.unpacked (src/main/shell/workers.ts starts them there): all of out/main (the worker
// entries, the chunks they import, and out/main/package.json, which marks the folder as ESM), and
// every package the workers can reach, with the packages those depend on.
//
// The packages are the project's runtime dependencies (package.json dependencies and installed
// optionalDependencies) named by any string in the workers' code: import specifiers, and also the
// names the code hands to createRequire (the face model, tfjs-node, the wasm binaries' folder).
// Wiring: electron-builder's `asarUnpack: (await workerUnpackList({ root })).globs`.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

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

if (import.meta.url === `file://${process.argv[1]}`) {
  const root = join(dirname(new URL(import.meta.url).pathname), '..');
  console.log(JSON.stringify(workerUnpackList({ root }), null, 2));
}
