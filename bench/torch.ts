/**
 * Our engines vs a PyTorch implementation of CIDer on this CPU. The issue's target is "faster than
 * the authors' PyTorch implementation"; we cannot run the authors' code, so the PyTorch side is OUR
 * port (bench/pytorch/cider_reference.py), checked against the reference implementation's numbers
 * by bench/pytorch/check_fixtures.py (run it before trusting the comparison).
 *
 * Runs, each in its own process except ONNX:
 *   1. bench/pytorch/bench_torch.py with the Python that imports torch (bench/pytorch/python.ts:
 *      CIDER_PYTHON, else Debian's /usr/bin/python3 with python3-torch), torch threads
 *      2 and 1, B=32 and B=128: MSSD train step and inference (missing + counterfactual views);
 *   2. bench/engine.ts (TF.js, active backend: wasm here): the same train step and inference;
 *   3. runOnnxBench() from bench/onnx.ts (ONNX Runtime inference at B=128, no sweep);
 * then prints a ratio table (engine time / PyTorch time: < 1 means we are faster). Wall time on
 * these shared 2-core machines swings with other people's load, so CPU time and load average are
 * printed too. Without torch it prints one skip line and exits 0 (CI never depends on it).
 *
 *   node --import tsx bench/torch.ts [--steps 3] [--engine-steps 2] [--threads 2,1] [--batches 32,128]
 *                                    [--engine-log FILE] [--engine-workers N] [--no-onnx]
 *                                    [--blas openblas|system]
 *
 * --engine-log FILE parses a saved `bench/engine.ts` output instead of running it again.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findTorchPython } from './pytorch/python';

const here = path.dirname(fileURLToPath(import.meta.url));
const found = findTorchPython();
/** the Python with torch (bench/pytorch/python.ts: CIDER_PYTHON, else the first that imports torch) */
const PYTHON = 'found' in found ? found.found.python : (process.env.CIDER_PYTHON ?? '/usr/bin/python3');
/** the batch runOnnxBench measures */
const ONNX_BATCH = 128;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

interface Stat {
  wall_median: number;
  wall_min: number;
  cpu_median: number;
  cpu_min: number;
}

interface TorchResult {
  B: number;
  threads: number;
  default_threads: number;
  torch: string;
  train: Stat;
  infer: Stat;
  peak_rss_mb: number;
  load_before: number[];
  load_after: number[];
  blas: string;
}

/** best-of-N wall and CPU milliseconds of one figure */
interface Fig {
  wall: number;
  cpu: number;
}

interface EngineResult {
  B: number;
  note: string;
  train: Fig;
  infer: Fig;
}

const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

function torchSkipReason(): string | null {
  if ('reason' in found) return found.reason;
  if (!existsSync(PYTHON) && PYTHON.startsWith('/')) return `${PYTHON} not found`;
  const r = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
  if (r.status !== 0)
    return `torch is not importable by ${PYTHON} (apt-get install python3-torch): ${(r.stderr || '').trim().split('\n').at(-1)}`;
  return null;
}

function runTorch(steps: string, threads: string, batches: string, blas: string | null): TorchResult[] {
  const args = [
    path.join(here, 'pytorch', 'bench_torch.py'),
    '--steps',
    steps,
    '--threads',
    threads,
    '--batches',
    batches,
  ];
  if (blas) args.push('--blas', blas);
  const r = spawnSync(PYTHON, args, {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 24,
  });
  const out = r.stdout ?? '';
  for (const line of out.split('\n')) if (line && !line.startsWith('TORCH_BENCH_JSON ')) console.log(line);
  if (r.status !== 0) throw new Error(`bench_torch.py failed (${r.status ?? r.signal})`);
  const json = out.split('\n').find((l) => l.startsWith('TORCH_BENCH_JSON '));
  if (!json) throw new Error('bench_torch.py printed no TORCH_BENCH_JSON line');
  return JSON.parse(json.slice('TORCH_BENCH_JSON '.length)) as TorchResult[];
}

/** Parses bench/engine.ts output: per "B=..." block, best-of-N wall (ms/step) and best CPU. */
export function parseEngineOutput(text: string): EngineResult[] {
  const res: EngineResult[] = [];
  let cur: EngineResult | null = null;
  for (const line of text.split('\n')) {
    const b = /^B=(\d+)(.*?),/.exec(line);
    if (b) {
      const workers = /(\d+) thread\(s\) for training/.exec(line);
      cur = {
        B: Number(b[1]),
        note: [b[2].trim(), workers && workers[1] !== '1' ? `(${workers[1]} training threads)` : '']
          .filter(Boolean)
          .join(' '),
        train: { wall: NaN, cpu: NaN },
        infer: { wall: NaN, cpu: NaN },
      };
      res.push(cur);
      continue;
    }
    const t = /train step:\s+(\d+) ms\/step.*?cpu (\d+) ms/.exec(line);
    if (t && cur) cur.train = { wall: Number(t[1]), cpu: Number(t[2]) };
    const i = /inference \(missing \+ counterfactual views\):\s+(\d+) ms\/batch.*?cpu (\d+) ms/.exec(line);
    if (i && cur) cur.infer = { wall: Number(i[1]), cpu: Number(i[2]) };
  }
  return res;
}

function runEngine(steps: string, batches: string, workers: string): { results: EngineResult[]; backend: string } {
  const r = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(here, 'engine.ts'),
      '--batches',
      batches,
      '--steps',
      steps,
      // data-parallel training threads, if this engine.ts has --workers
      ...(workers ? ['--workers', workers] : []),
    ],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      env: process.env,
      maxBuffer: 1 << 24,
    },
  );
  process.stdout.write(r.stdout ?? '');
  if (r.status !== 0) throw new Error(`bench/engine.ts failed (${r.status ?? r.signal})`);
  return {
    results: parseEngineOutput(r.stdout),
    backend: /^backend (\S+)/m.exec(r.stdout)?.[1] ?? '?',
  };
}

const toMs = (v: string, unit: string) => Number(v) * (unit === 's' ? 1000 : 1);

/** ONNX Runtime B=128 inference (best of reps) from runOnnxBench's report lines. */
async function runOnnx(reps: number): Promise<Fig | null> {
  const { runOnnxBench } = await import('./onnx.js');
  const { lines } = await runOnnxBench({ reps, tfjsBatches: 1, sweep: false });
  for (const l of lines) {
    const m = /^\s+onnx\s+([\d.]+) (ms|s)\s+([\d.]+) (ms|s)/.exec(l);
    if (m) return { wall: toMs(m[1], m[2]), cpu: toMs(m[3], m[4]) };
  }
  return null;
}

const f0 = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : '-');
const ratio = (a: number, b: number) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? (a / b).toFixed(2) : '-');

async function main(): Promise<void> {
  const skip = torchSkipReason();
  if (skip) {
    console.log(`torch bench skipped: ${skip}`);
    return;
  }
  const steps = arg('steps', '3');
  const engineSteps = arg('engine-steps', '2');
  const threads = arg('threads', '2,1');
  const batches = arg('batches', '32,128');
  const blasIdx = process.argv.indexOf('--blas');
  const blas = blasIdx >= 0 ? process.argv[blasIdx + 1] : null;
  const engineLog = arg('engine-log', '');
  const engineWorkers = arg('engine-workers', '');

  console.log(`load average at start: ${load()}`);
  console.log('--- PyTorch (our port, bench/pytorch/bench_torch.py) ---');
  const torch = runTorch(steps, threads, batches, blas);
  console.log(`--- TF.js engine (bench/engine.ts${engineLog ? `, parsed from ${engineLog}` : ''}) ---`);
  const engine = engineLog
    ? {
        results: parseEngineOutput(readFileSync(engineLog, 'utf8')),
        backend: /^backend (\S+)/m.exec(readFileSync(engineLog, 'utf8'))?.[1] ?? '?',
      }
    : runEngine(engineSteps, batches, engineWorkers);
  if (engineLog)
    for (const e of engine.results)
      console.log(
        `B=${e.B}${e.note}: train ${e.train.wall} ms (cpu ${e.train.cpu}), inference ${e.infer.wall} ms (cpu ${e.infer.cpu})`,
      );
  let onnx: Fig | null = null;
  if (!process.argv.includes('--no-onnx')) {
    console.log('--- ONNX Runtime (bench/onnx.ts runOnnxBench, no sweep) ---');
    onnx = await runOnnx(Number(steps));
  }

  // Ratio table. Every figure is the best of its repetitions (bench/engine.ts and bench/onnx.ts
  // report best-of-N; the PyTorch medians are printed above). ratio = ours / PyTorch: < 1 = we are faster.
  const tfName = `tfjs-${engine.backend}`;
  console.log(`\n=== ours / PyTorch (best-of-N ms; ratio < 1 means ours is faster) ===`);
  console.log(
    '  B    what                     torch thr   torch wall   torch cpu    ours wall    ours cpu   wall ratio   cpu ratio',
  );
  for (const t of torch) {
    const e = engine.results.find((x) => x.B === t.B);
    const rows: [string, Fig | undefined, Stat][] = [
      [`${tfName} train step${e?.note ? '*' : ''}`, e?.train, t.train],
      [`${tfName} inference`, e?.infer, t.infer],
    ];
    if (onnx && t.B === ONNX_BATCH) rows.push(['onnx inference', onnx, t.infer]);
    for (const [what, ours, tt] of rows) {
      console.log(
        `  ${String(t.B).padEnd(4)} ${what.padEnd(24)} ${String(t.threads).padStart(9)} ${f0(tt.wall_min).padStart(12)} ${f0(tt.cpu_min).padStart(11)} ${f0(ours?.wall ?? NaN).padStart(12)} ${f0(ours?.cpu ?? NaN).padStart(11)} ${ratio(ours?.wall ?? NaN, tt.wall_min).padStart(12)} ${ratio(ours?.cpu ?? NaN, tt.cpu_min).padStart(11)}`,
      );
    }
  }
  const micro = engine.results.find((x) => x.note);
  if (micro)
    console.log(
      `  * ${tfName} at B=${micro.B} ${micro.note.replace(/^\(|\)$/g, '')} (exact gradient accumulation); PyTorch runs the whole batch`,
    );
  console.log(
    `  TF.js wasm runs on one thread; ONNX Runtime as configured in src/main/ml/onnx; PyTorch BLAS: ${torch[0]?.blas ?? '?'}`,
  );
  console.log(
    `  torch default threads in this build: ${torch[0]?.default_threads ?? '?'}; load average at end: ${load()}`,
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
