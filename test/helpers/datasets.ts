/** Test helpers: temp folders and the Debian-python scripts in test/helpers/py that write fixtures. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const PY_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'py');
/** Debian's python3 has numpy, joblib and h5py; the pyenv python first on PATH does not */
export const PYTHON = process.env.CIDER_TEST_PYTHON ?? '/usr/bin/python3';

export function pythonHas(...modules: string[]): boolean {
  try {
    execFileSync(PYTHON, ['-c', modules.map((m) => `import ${m}`).join('; ')], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export function py(script: string, args: string[]): string {
  return execFileSync(PYTHON, [path.join(PY_DIR, script), ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
}

export function tempDir(prefix = 'cider-data-'): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

export interface MmsaExpectSplit {
  id: string[];
  raw_text: string[];
  text_bert: number[][][];
  audio: number[];
  vision: number[];
  audio_shape: number[];
  vision_shape: number[];
  audio_lengths: number[];
  vision_lengths: number[];
  regression: number[];
  labels3: number[];
  labels7: number[];
  neginf: number;
  text: number[] | null;
}
export type MmsaExpect = Record<'train' | 'valid' | 'test', MmsaExpectSplit>;

/** write an MMSA-layout file with make_mmsa.py; returns its path and every value it holds */
export function makeMmsa(dir: string, name: string, args: string[] = []): { file: string; expect: MmsaExpect } {
  const file = path.join(dir, name);
  const ej = path.join(dir, `${name}.expect.json`);
  py('make_mmsa.py', [file, '--expect', ej, ...args]);
  return { file, expect: JSON.parse(fs.readFileSync(ej, 'utf8')) as MmsaExpect };
}

export interface BigImportFigures {
  gb: number;
  fileBytes: number;
  samples: Record<string, number>;
  generateSeconds: number;
  importSeconds: number;
  verifySeconds: number;
  /** peak resident set of this Node process (process.resourceUsage().maxRSS) */
  peakRssMB: number;
  /** highest RSS sampled during the import itself */
  importPeakRssMB: number;
  zeroedNegInf: number;
  /** bytes of the source read per second during the import */
  mbPerSecond: number;
}

/**
 * Generate a MOSEI-shaped MMSA pickle of `gb` GB with make_big_mmsa.py (Debian python + numpy,
 * written in chunks), import it, and check every big array's sum and -inf count by reading the
 * store back in row ranges. Used by bench/import.ts and test/integration/data/big-import.test.ts.
 */
export async function runBigImport(opts: {
  gb: number;
  dir: string;
  log?: (s: string) => void;
  protocol?: number;
  noText?: boolean;
}): Promise<BigImportFigures> {
  const { importMmsa } = await import('../../src/main/data/mmsa');
  const { FeatureStore, SPLITS } = await import('../../src/main/data/featureStore');
  const log = opts.log ?? (() => undefined);
  const file = path.join(opts.dir, 'mosei_unaligned_50.pkl');
  const summaryFile = path.join(opts.dir, 'summary.json');
  let t = performance.now();
  log(`generating a ${opts.gb} GB MOSEI-shaped pickle with ${PYTHON} ...`);
  py('make_big_mmsa.py', [
    file,
    '--gb',
    String(opts.gb),
    '--protocol',
    String(opts.protocol ?? 4),
    '--summary',
    summaryFile,
    ...(opts.noText ? ['--no-text'] : []),
  ]);
  const generateSeconds = (performance.now() - t) / 1000;
  const summary = JSON.parse(fs.readFileSync(summaryFile, 'utf8')) as Record<
    string,
    Record<string, { shape: number[]; sum: number; neginf: number }>
  > & { sizes: Record<string, number>; bytes: number };
  log(`generated ${(summary.bytes / 1e9).toFixed(2)} GB in ${generateSeconds.toFixed(1)} s; importing ...`);

  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 100);
  t = performance.now();
  let lastPct = -10;
  const out = path.join(opts.dir, 'store');
  try {
    await importMmsa(file, {
      outDir: out,
      onProgress: (p) => {
        peak = Math.max(peak, process.memoryUsage().rss);
        if (p.phase === 'reading') {
          const pct = Math.floor((100 * p.done) / p.total);
          if (pct >= lastPct + 10) {
            lastPct = pct;
            log(`  read ${pct}%  rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MB`);
          }
        }
      },
    });
  } finally {
    clearInterval(timer);
  }
  const importSeconds = (performance.now() - t) / 1000;
  fs.rmSync(file); // free the disk before verifying
  log(`imported in ${importSeconds.toFixed(1)} s; verifying ...`);

  t = performance.now();
  const store = await FeatureStore.open(out);
  let zeroed = 0;
  try {
    for (const s of SPLITS) {
      const r = store.split(s);
      if (r.count !== summary.sizes[s]) throw new Error(`${s}: ${r.count} samples, expected ${summary.sizes[s]}`);
      zeroed += r.manifest.zeroedNegInfAudio;
      if (r.manifest.zeroedNegInfAudio !== summary[s].audio.neginf)
        throw new Error(`${s}: zeroed ${r.manifest.zeroedNegInfAudio} -inf, expected ${summary[s].audio.neginf}`);
      for (const field of ['audio', 'vision', 'text'] as const) {
        const exp = summary[s][field];
        if (!exp) continue;
        let sum = 0;
        for (let r0 = 0; r0 < r.count; r0 += 128) {
          const x = await r.read(field, r0, Math.min(r.count, r0 + 128));
          for (let i = 0; i < x.length; i++) sum += x[i];
        }
        if (Math.abs(sum - exp.sum) > 1e-6 * Math.max(1, Math.abs(exp.sum)) + 1e-3)
          throw new Error(`${s}.${field}: sum ${sum} != ${exp.sum}`);
      }
    }
  } finally {
    await store.close();
  }
  const verifySeconds = (performance.now() - t) / 1000;
  return {
    gb: opts.gb,
    fileBytes: summary.bytes,
    samples: summary.sizes,
    generateSeconds,
    importSeconds,
    verifySeconds,
    peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
    importPeakRssMB: Math.round(peak / 2 ** 20),
    zeroedNegInf: zeroed,
    mbPerSecond: Math.round(summary.bytes / 1e6 / importSeconds),
  };
}
