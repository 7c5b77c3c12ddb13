#!/usr/bin/env node
// The `cider` command. Runs the bundled CLI (out/cli, built by `npm install` / `npm run build:cli`)
// when it is newer than every source file, so it starts at once; otherwise (a source edited since,
// no bundle, or CIDER_SOURCE=1) it loads the TypeScript sources through tsx, as in development.
// An installed desktop app has no sources and runs the bundle with its own executable
// (ELECTRON_RUN_AS_NODE=1, see resources/bin/cider).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const bundle = join(root, 'out', 'cli', 'cider.js');

/** True when some file under src/{cli,main,shared} changed after `stamp` (ms). */
function sourcesNewerThan(stamp) {
  for (const dir of ['cli', 'main', 'shared']) {
    const top = join(root, 'src', dir);
    if (!existsSync(top)) continue;
    for (const e of readdirSync(top, { withFileTypes: true, recursive: true })) {
      if (e.isFile() && statSync(join(e.parentPath ?? e.path, e.name)).mtimeMs > stamp) return true;
    }
  }
  return false;
}

function bundleIsCurrent() {
  if (process.env.CIDER_SOURCE === '1' || !existsSync(bundle)) return false;
  try {
    const { builtAt } = JSON.parse(readFileSync(join(root, 'out', 'cli', 'build.json'), 'utf8'));
    return !sourcesNewerThan(builtAt);
  } catch {
    return false;
  }
}

let runCli;
if (bundleIsCurrent()) {
  ({ runCli } = await import(pathToFileURL(bundle).href));
} else {
  // job worker threads register tsx themselves (src/main/jobs/worker-tsx.mjs)
  const { register } = await import('tsx/esm/api');
  register();
  ({ runCli } = await import('../src/cli/main.ts'));
}
process.exit(await runCli(process.argv.slice(2)));
