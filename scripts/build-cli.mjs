#!/usr/bin/env node
// Bundle the command line (and with it web mode's server) into out/cli, so `cider` starts without
// compiling TypeScript: out/cli/cider.js (exports runCli), worker.js (job workers), replica.js
// (the second training thread), shared code in out/cli/chunks. Packages stay external: they load
// from node_modules (in an installed app, from app.asar). Run by `npm install` (postinstall),
// `npm run build` and `npm run build:cli`; bin/cider.mjs uses the bundle when it is newer than the
// sources and runs the sources through tsx otherwise (or with CIDER_SOURCE=1).
//
// Usage: node scripts/build-cli.mjs [--out DIR] [--quiet]
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const at = args.indexOf('--out');
const outDir = resolve(at >= 0 ? args[at + 1] : join(root, 'out', 'cli'));
const quiet = args.includes('--quiet');

let esbuild;
try {
  esbuild = await import('esbuild');
} catch (e) {
  // a production-only install has no esbuild: bin/cider.mjs then runs the sources through tsx
  console.warn(
    `cider: CLI bundle not built (esbuild unavailable: ${e.message.split('\n')[0]}); cider runs from source`,
  );
  process.exit(0);
}

const t0 = Date.now();
rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });
await esbuild.build({
  absWorkingDir: root,
  entryPoints: {
    cider: 'src/cli/main.ts',
    worker: 'src/main/jobs/worker.ts',
    replica: 'src/main/ml/parallel/replica.ts',
  },
  outdir: outDir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20.19',
  packages: 'external',
  chunkNames: 'chunks/[name]-[hash]',
  sourcemap: 'linked',
  logLevel: 'warning',
});
// bin/cider.mjs compares this stamp with the sources' modification times
writeFileSync(join(outDir, 'build.json'), JSON.stringify({ builtAt: Date.now() }) + '\n');
if (!quiet) console.log(`cider: CLI bundled into ${outDir} in ${Date.now() - t0} ms`);
