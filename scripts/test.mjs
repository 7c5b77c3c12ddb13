#!/usr/bin/env node
// `npm test`: everything CI runs, in order: formatting (Prettier), lint, typecheck per process, the renderer build the
// end-to-end tests serve, then every test file (unit, integration, end-to-end) in one
// node:test run so there is one summary. `npm run test:unit` / `test:e2e` run a subset.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const only = process.argv[2];
const bin = (name) => join(root, 'node_modules', '.bin', name);

function step(title, cmd, args) {
  console.log(`\n=== ${title}`);
  const t0 = Date.now();
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root });
  if (r.status !== 0) {
    console.error(`=== ${title} failed (exit ${r.status ?? r.signal})`);
    process.exit(r.status || 1);
  }
  console.log(`=== ${title}: ok in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

function files(dir, pattern) {
  const out = [];
  for (const e of readdirSync(join(root, dir), { withFileTypes: true, recursive: true })) {
    if (e.isFile() && pattern.test(e.name)) out.push(relative(root, join(e.parentPath ?? e.path, e.name)));
  }
  return out.sort();
}

if (!only) {
  step('format', bin('prettier'), ['--check', '.', '--log-level', 'warn']);
  step('lint', bin('eslint'), ['.', '--max-warnings', '0']);
  for (const p of ['node', 'web', 'electron'])
    step(`typecheck (${p})`, bin('tsc'), ['-p', `tsconfig.${p}.json`, '--noEmit']);
}
if (only !== 'unit')
  step('build the renderer', process.execPath, [
    join(root, 'node_modules/vite/bin/vite.js'),
    'build',
    '--config',
    'vite.web.config.ts',
    '--logLevel',
    'warn',
  ]);

const selected = [
  ...(only === 'e2e' ? [] : [...files('test/unit', /\.test\.ts$/), ...files('test/integration', /\.test\.ts$/)]),
  ...(only === 'unit' ? [] : files('test/e2e', /\.e2e\.ts$/)),
];
step(`tests (${selected.length} files)`, process.execPath, [
  '--import',
  'tsx',
  '--test',
  '--test-concurrency=2',
  '--test-timeout=900000',
  ...selected,
]);
