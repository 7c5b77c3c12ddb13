/**
 * `npm run bench`: runs the engine bench first, then every other bench/*.ts (except this file,
 * the diagnostic bench/profile-*.ts and scratch files starting with '_'), each in its own Node
 * process (own wasm heap, own peak memory), and prints their reports (ms/step, samples/s, peak
 * memory) with a one-line summary per bench at the end.
 *
 *   npm run bench                          all benches
 *   npm run bench -- --only engine,bert    just these (file names without .ts)
 *   npm run bench -- --skip import         all but these
 *
 * CIDER_TF_BACKEND=wasm|cpu|tensorflow is passed through to every bench.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

function list(name: string): string[] | null {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1]
    ? process.argv[i + 1].split(',').map((s) => s.trim().replace(/\.ts$/, ''))
    : null;
}

const only = list('only');
const skip = list('skip') ?? [];
const found = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.startsWith('profile-') && !f.startsWith('_'))
  .map((f) => f.slice(0, -3))
  .sort((a, b) => (a === 'engine' ? -1 : b === 'engine' ? 1 : a.localeCompare(b)));
const chosen = found.filter((n) => (only ? only.includes(n) : true) && !skip.includes(n));
if (only)
  for (const n of only) if (!found.includes(n)) console.warn(`bench/${n}.ts not found (have: ${found.join(', ')})`);

const summary: string[] = [];
for (const name of chosen) {
  console.log(`\n=== bench/${name}.ts ===`);
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(here, `${name}.ts`)], {
    stdio: 'inherit',
    env: process.env,
  });
  const s = ((performance.now() - t0) / 1000).toFixed(0);
  summary.push(`${name.padEnd(12)} ${r.status === 0 ? 'ok    ' : `FAILED (${r.status ?? r.signal})`} ${s} s`);
}
console.log(`\n=== summary ===\n${summary.join('\n')}`);
if (summary.some((l) => l.includes('FAILED'))) process.exitCode = 1;
