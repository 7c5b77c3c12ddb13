/**
 * Big-file import benchmark: generates a MOSEI-shaped MMSA pickle of --gb GB (default 2.1) with
 * Debian's python3 + numpy, imports it into a feature store, verifies every big array's sum, and
 * prints timings and peak RSS.
 *
 *   node --import tsx bench/import.ts [--gb 2.1] [--protocol 4] [--no-text] [--dir /tmp/x] [--keep]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runBigImport } from '../test/helpers/datasets';

function arg(name: string, dflt?: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
}
const gb = Number(arg('gb', '2.1'));
const keep = process.argv.includes('--keep');
const dir = arg('dir') ? path.resolve(arg('dir')!) : fs.mkdtempSync(path.join(os.tmpdir(), 'cider-bench-import-'));
fs.mkdirSync(dir, { recursive: true });
try {
  const f = await runBigImport({
    gb,
    dir,
    protocol: Number(arg('protocol', '4')),
    noText: process.argv.includes('--no-text'),
    log: (s) => console.log(s),
  });
  console.log(JSON.stringify(f, null, 2));
  console.log(
    `peak RSS ${f.peakRssMB} MB (bound: 2048 MB) for a ${(f.fileBytes / 1e9).toFixed(2)} GB file; import ${f.importSeconds.toFixed(1)} s (${f.mbPerSecond} MB/s)`,
  );
  if (f.peakRssMB >= 2048) process.exitCode = 1;
} finally {
  if (!keep) fs.rmSync(dir, { recursive: true, force: true });
  else console.log(`kept ${dir}`);
}
