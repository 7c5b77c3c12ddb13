/**
 * The real task with a BERT model, beside PyTorch (issues 17 and 22): an RMFM sweep over MOSI-shaped
 * test samples from token ids to metrics, with BERT-base-shaped random weights (12 x 768, 12 heads,
 * 3072), the missing AND the counterfactual view at every rate (MACI's two views), run the way the
 * app runs it: a frozen-BERT run trained in a job, then an 'evaluate' job (MACI protocol) through
 * the job runner in its worker thread, BERT and CIDer on ONNX Runtime with every core.
 *
 * Also: the encoder alone at batch 32 (TF.js wasm, ONNX Runtime, PyTorch), one fine-tuning step of
 * BERT-base at batch 8 (TF.js wasm: forward + backward; one thread, since the data-parallel
 * path applies to CIDer at batch >= 32, not to BERT), and peak memory. The PyTorch side is
 * bench/pytorch/bert_sweep.py (BERT in torch.nn, CIDer = our port), run in the same bench by the
 * first Python that imports torch (bench/pytorch/python.ts; CIDER_PYTHON overrides) with
 * torch.set_num_threads(cores) and Debian's OpenBLAS in front when installed (libopenblas0-pthread:
 * Debian's torch otherwise runs its GEMMs on the reference BLAS, ~2 GFLOP/s). Ratios < 1 mean we
 * are faster. The load average is printed with every figure (shared machine).
 *
 *   node --import tsx bench/textpath.ts [--samples 686] [--rates 11] [--no-torch] [--tfjs-sweep]
 *                                       [--json FILE] [--write]
 *   node --import tsx bench/textpath.ts --write-from bench/results/textpath.json
 *
 * --tfjs-sweep also runs the sweep job with BERT on TF.js (CIDER_TEXT_ENGINE=tfjs): hours at full size.
 * The figures are written as JSON to --json (default bench/results/textpath.json, not committed).
 * --write then updates FINETUNE_BENCH in src/shared/textBench.ts (the Training tab's estimate) from
 * them; --write-from FILE does only that, from a JSON written before, and measures nothing.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBackend, tf } from '../src/main/ml/backends/tf';
import { BertEncoder } from '../src/main/ml/text/bert';
import { parseBertConfig, toHfConfigJson } from '../src/main/ml/text/config';
import { OnnxBertEncoder } from '../src/main/ml/text/onnxEncoder';
import { serializeSafetensors } from '../src/main/ml/io/safetensors';
import { Rng } from '../src/main/ml/random';
import { createApp } from '../src/main/services/app';
import type { JobRecord } from '../src/shared/types';
import type { RunRecord } from '../src/shared/contract/training';
import { registerSynthetic } from '../test/helpers/analysis';
import { findTorchPython } from './pytorch/python';
import { writeTextBench, type TextpathFigures } from './pytorch/textBenchFile';

const here = path.dirname(fileURLToPath(import.meta.url));
const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const argStr = (name: string): string | null => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : null;
};
const textBenchFile = path.join(here, '..', 'src', 'shared', 'textBench.ts');
const writeFrom = argStr('write-from');
if (writeFrom) {
  const figures = JSON.parse(readFileSync(writeFrom, 'utf8')) as TextpathFigures;
  console.log(writeTextBench(textBenchFile, figures));
  process.exit(0);
}
const jsonFile = argStr('json') ?? path.join(here, 'results', 'textpath.json');
const loadNow = () => loadavg().map((x) => Number(x.toFixed(2)));
const loadStr = (l: number[]) => `load ${l.map((x) => x.toFixed(2)).join(' ')}`;
const N = arg('samples', 686);
const RATES = arg('rates', 11);
const L = 50;
const B32 = 32;
const rates = RATES > 1 ? Array.from({ length: RATES }, (_, i) => i / (RATES - 1)) : [0];

let peakRss = process.memoryUsage().rss;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100);
const mb = (b: number) => `${(b / 2 ** 20).toFixed(0)} MB`;

const backend = await initBackend();
const config = parseBertConfig(
  toHfConfigJson({
    hiddenSize: 768,
    numHiddenLayers: 12,
    numAttentionHeads: 12,
    intermediateSize: 3072,
    hiddenAct: 'gelu',
    maxPositionEmbeddings: 512,
    typeVocabSize: 2,
    vocabSize: 30522,
    layerNormEps: 1e-12,
    hiddenDropoutProb: 0.1,
    attentionProbsDropoutProb: 0.1,
    padTokenId: 0,
  }),
  'bench config',
);
console.log(
  `TF.js ${backend.name}; ONNX Runtime intra-op threads ${availableParallelism()}; BERT-base shape, L = ${L}; ${N} samples x ${rates.length} rates; load ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);

const rng = new Rng(7);
function randomIds(B: number): Int32Array {
  const data = new Int32Array(B * 3 * L);
  for (let b = 0; b < B; b++) {
    const len = rng.int(10, L + 1);
    for (let i = 0; i < L; i++) {
      data[b * 3 * L + i] = i === 0 ? 101 : i === len - 1 ? 102 : i < len ? rng.int(1000, 30522) : 0;
      data[b * 3 * L + L + i] = i < len ? 1 : 0;
    }
  }
  return data;
}

// ---- the model folder (HF layout, random weights) and the encoder alone ----
const work = mkdtempSync(path.join(tmpdir(), 'cider-bench-textpath-'));
const bertDir = path.join(work, 'bert-base-random');
mkdirSync(bertDir);
const encoder = BertEncoder.random(config, 0, { trainable: false });
const hf = encoder.toHfTensors();
writeFileSync(path.join(bertDir, 'config.json'), JSON.stringify(toHfConfigJson(config), null, 2));
const vocab = Array.from({ length: 30522 }, (_, i) => `w${i}`);
vocab[0] = '[PAD]';
vocab[100] = '[UNK]';
vocab[101] = '[CLS]';
vocab[102] = '[SEP]';
vocab[103] = '[MASK]';
writeFileSync(path.join(bertDir, 'vocab.txt'), vocab.join('\n') + '\n');
writeFileSync(path.join(bertDir, 'model.safetensors'), serializeSafetensors(hf, { format: 'pt' }));

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
/** ONNX Runtime, batch 32: median of 3 batches (after one warm-up) */
async function onnxEncoderMs(ortFused: boolean): Promise<{ ms: number[]; load: number[] }> {
  const enc = await OnnxBertEncoder.open(config, new Map(Object.entries(hf)), { memoBytes: 0, ortFused });
  const ms: number[] = [];
  await enc.encode(randomIds(B32), B32, L);
  for (let r = 0; r < 3; r++) {
    const ids = randomIds(B32);
    const t0 = performance.now();
    await enc.encode(ids, B32, L);
    ms.push(performance.now() - t0);
  }
  await enc.dispose();
  return { ms, load: loadNow() };
}
const onnxFused = await onnxEncoderMs(true);
const onnxStandard = await onnxEncoderMs(false);
const onnxMs = onnxFused.ms;
const tfjsIds = tf.tensor3d(randomIds(B32), [B32, 3, L], 'int32');
const warm = encoder.encode(tfjsIds);
await warm.data();
warm.dispose();
let t0 = performance.now();
const once = encoder.encode(tfjsIds);
await once.data();
once.dispose();
const tfjsMs = performance.now() - t0;
const tfjsLoad = loadNow();
tfjsIds.dispose();
const fmt = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(', ');
console.log(
  `encoder alone, batch ${B32}: ONNX Runtime (fused Attention/SkipLayerNorm/BiasGelu) ${median(onnxMs).toFixed(0)} ms (${fmt(onnxMs)}; ${loadStr(onnxFused.load)}), standard opset-17 graph ${median(onnxStandard.ms).toFixed(0)} ms (${fmt(onnxStandard.ms)}; ${loadStr(onnxStandard.load)}), TF.js ${backend.name} ${tfjsMs.toFixed(0)} ms (${loadStr(tfjsLoad)})`,
);

// ---- one fine-tuning step at batch 8 on TF.js: forward + backward (the optimizer update is left
// out on both sides: Adam's two moments of BERT-base on top of weights, gradients and activations
// do not fit wasm's 4 GB heap in one process after the inference figures above) ----
encoder.setTrainable(true);
const ids8 = tf.tensor3d(randomIds(8), [8, 3, L], 'int32');
const fineTuneStep = async () => {
  const { value, grads } = tf.variableGrads(
    () => tf.mean(tf.square(encoder.encode(ids8, { training: true }))) as tf.Scalar,
  );
  await value.data();
  await Object.values(grads)[0].data();
  tf.dispose([value, ...Object.values(grads)]);
};
await fineTuneStep();
t0 = performance.now();
await fineTuneStep();
const fineTuneMs = performance.now() - t0;
const fineTuneLoad = loadNow();
ids8.dispose();
encoder.dispose();
console.log(
  `fine-tune step (forward + backward), batch 8, TF.js ${backend.name} (one thread): ${fineTuneMs.toFixed(0)} ms (${loadStr(fineTuneLoad)})`,
);

// ---- the sweep through the job runner ----
const dataDir = path.join(work, 'data');
const app = createApp({ dataDir, mode: 'cli', seedDemo: false });
async function call<T>(method: string, args: unknown): Promise<T> {
  const env = await app.dispatch(method, args);
  if (!env.ok) throw new Error(`${method}: ${env.error.code} ${env.error.message}`);
  return env.value as T;
}
const ds = await registerSynthetic(app, {
  name: 'mosi-shaped',
  sizes: { train: 16, valid: 16, test: N },
  aligned: false,
  L,
  Ta: 375,
  Tv: 500,
  da: 5,
  dv: 20,
  dl: 8,
  seed: 3,
});
const started = await call<{ run: RunRecord; job: JobRecord }>('runs.start', {
  datasetId: ds.id,
  options: { maxEpochs: 1, batchSize: 16, evalBatchSize: 128, text: { kind: 'frozen', modelDir: bertDir } },
});
const trained = await app.runner.wait(started.job.id);
if (trained.status !== 'succeeded') throw new Error(`training failed: ${JSON.stringify(trained.error)}`);

async function sweepJob(textEngine: 'onnx' | 'tfjs'): Promise<{ s: number; note: string; job: JobRecord }> {
  if (textEngine === 'tfjs') process.env.CIDER_TEXT_ENGINE = 'tfjs';
  const start = performance.now();
  const job = await call<JobRecord>('runs.evaluate', {
    id: started.run.id,
    options: { protocols: ['MACI'], rates, checkpoint: 'best' },
  });
  delete process.env.CIDER_TEXT_ENGINE;
  const done = await app.runner.wait(job.id);
  const s = (performance.now() - start) / 1000;
  if (done.status !== 'succeeded') throw new Error(`sweep job failed: ${JSON.stringify(done.error)}`);
  return { s, note: (done.result as { textNote: string }).textNote, job: done };
}
const ours = await sweepJob('onnx');
const sweepLoad = loadNow();
const logs = await call<{ message: string }[]>('jobs.logs', { id: ours.job.id });
console.log(
  `sweep job (evaluate, MACI: missing + counterfactual views, ${N} test + 16 validation samples x ${rates.length} rates): ${ours.s.toFixed(1)} s wall; ${ours.note}`,
);
for (const l of logs.filter((x) => /TF\.js backend|engine/.test(x.message))) console.log(`  job log: ${l.message}`);
const tfjsSweep = process.argv.includes('--tfjs-sweep') ? await sweepJob('tfjs') : null;
if (tfjsSweep) console.log(`sweep job with BERT on TF.js ${backend.name}: ${tfjsSweep.s.toFixed(1)} s wall`);
await app.close();
clearInterval(sampler);
const ourPeak = peakRss;

// ---- PyTorch, same run ----
interface TorchSweep {
  torch: string;
  python: string;
  threads: number;
  default_threads: number;
  encoder_ms_b32: number;
  encoder_walls: number[];
  sweep_s: number;
  finetune_ms_b8: number;
  peak_rss_mb: number;
  load_end: number[];
}
let torch: TorchSweep | null = null;
let torchNote = '';
const threads = availableParallelism();
const py = process.argv.includes('--no-torch') ? null : findTorchPython();
if (!py) torchNote = 'skipped (--no-torch)';
else if ('reason' in py) torchNote = `skipped: ${py.reason}`;
else {
  const openblas = '/usr/lib/x86_64-linux-gnu/openblas-pthread';
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    OPENBLAS_NUM_THREADS: String(threads),
  };
  const blas = existsSync(path.join(openblas, 'libblas.so.3'))
    ? 'OpenBLAS (libopenblas0-pthread, LD_LIBRARY_PATH)'
    : "the system's libblas.so.3 (apt-get install libopenblas0-pthread for OpenBLAS)";
  if (blas.startsWith('OpenBLAS'))
    env.LD_LIBRARY_PATH = openblas + (env.LD_LIBRARY_PATH ? `:${env.LD_LIBRARY_PATH}` : '');
  console.log(
    `PyTorch: ${py.found.python} (torch ${py.found.torch}), torch.set_num_threads(${threads}) (its default here: ${py.found.defaultThreads}), BLAS: ${blas}; ${loadStr(loadNow())}`,
  );
  const p = spawnSync(
    py.found.python,
    [
      path.join(here, 'pytorch', 'bert_sweep.py'),
      '--samples',
      String(N),
      '--rates',
      String(rates.length),
      '--threads',
      String(threads),
    ],
    { env, encoding: 'utf8', maxBuffer: 1 << 24, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  if (p.status !== 0) torchNote = `failed (exit ${p.status ?? p.signal})`;
  else {
    const line = p.stdout.split('\n').find((l) => l.startsWith('TORCH_SWEEP_JSON '));
    torch = JSON.parse(line!.slice('TORCH_SWEEP_JSON '.length)) as TorchSweep;
    torchNote = `${py.found.python}, torch ${torch.torch}, ${torch.threads} threads, ${blas}`;
    console.log(p.stdout.split('\n')[0]);
  }
}
if (!torch) console.log(`PyTorch: ${torchNote}`);
rmSync(work, { recursive: true, force: true });

const ratio = (a: number, b: number | undefined) => (b ? (a / b).toFixed(2) : 'n/a');
const torchLoad = torch ? loadStr(torch.load_end) : '';
console.log(
  `\nBERT-base shape (12 x 768, 12 heads, 3072), L = ${L}, ${N} samples x ${rates.length} rates, ${threads} cores; PyTorch: ${torchNote}`,
);
console.log(
  'figure                                          ours            PyTorch         ratio (ours / PyTorch)  load (1, 5, 15 min) at ours',
);
const row = (name: string, a: string, b: string, r: string, l: string) =>
  console.log(`${name.padEnd(47)} ${a.padEnd(15)} ${b.padEnd(15)} ${r.padEnd(23)} ${l}`);
const tEnc = torch ? `${torch.encoder_ms_b32.toFixed(0)} ms` : '-';
row(
  'encoder alone, batch 32 (ONNX Runtime, fused)',
  `${median(onnxMs).toFixed(0)} ms`,
  tEnc,
  ratio(median(onnxMs), torch?.encoder_ms_b32),
  loadStr(onnxFused.load),
);
row(
  'encoder alone, batch 32 (ONNX Runtime, standard)',
  `${median(onnxStandard.ms).toFixed(0)} ms`,
  tEnc,
  ratio(median(onnxStandard.ms), torch?.encoder_ms_b32),
  loadStr(onnxStandard.load),
);
row(
  `encoder alone, batch 32 (TF.js ${backend.name})`,
  `${tfjsMs.toFixed(0)} ms`,
  tEnc,
  ratio(tfjsMs, torch?.encoder_ms_b32),
  loadStr(tfjsLoad),
);
row(
  `sweep ${N} x ${rates.length} rates, job runner`,
  `${ours.s.toFixed(1)} s`,
  torch ? `${torch.sweep_s.toFixed(1)} s` : '-',
  ratio(ours.s, torch?.sweep_s),
  loadStr(sweepLoad),
);
if (tfjsSweep)
  row(
    `  same, BERT on TF.js ${backend.name}`,
    `${tfjsSweep.s.toFixed(1)} s`,
    torch ? `${torch.sweep_s.toFixed(1)} s` : '-',
    ratio(tfjsSweep.s, torch?.sweep_s),
    '',
  );
row(
  `fine-tune step, batch 8 (TF.js ${backend.name})`,
  `${fineTuneMs.toFixed(0)} ms`,
  torch ? `${torch.finetune_ms_b8.toFixed(0)} ms` : '-',
  ratio(fineTuneMs, torch?.finetune_ms_b8),
  loadStr(fineTuneLoad),
);
row('peak memory (process RSS)', mb(ourPeak), torch ? `${torch.peak_rss_mb.toFixed(0)} MB` : '-', '', '');
if (torch) {
  console.log(`PyTorch's side finished at ${torchLoad}`);
  const met = (r: number, target: number) => (r <= target ? 'met' : 'NOT met');
  console.log(
    `targets: sweep <= 0.5x PyTorch: ${met(ours.s / torch.sweep_s, 0.5)} (${ratio(ours.s, torch.sweep_s)}); encoder <= 1x PyTorch per batch of 32: ${met(median(onnxMs) / torch.encoder_ms_b32, 1)} (${ratio(median(onnxMs), torch.encoder_ms_b32)})`,
  );
}
const figures: TextpathFigures = {
  date: new Date().toISOString(),
  samples: N,
  rates: rates.length,
  L,
  cores: threads,
  onnxMs: median(onnxMs),
  onnxStandardMs: median(onnxStandard.ms),
  tfjsMs,
  tfjsBackend: backend.name,
  sweepS: ours.s,
  fineTuneMs,
  fineTuneBatch: 8,
  peakRssMb: ourPeak / 2 ** 20,
  load: {
    onnx: onnxFused.load,
    onnxStandard: onnxStandard.load,
    tfjs: tfjsLoad,
    fineTune: fineTuneLoad,
    sweep: sweepLoad,
  },
  torch,
};
mkdirSync(path.dirname(jsonFile), { recursive: true });
writeFileSync(jsonFile, JSON.stringify(figures, null, 2) + '\n');
console.log(`figures written to ${path.relative(process.cwd(), jsonFile) || jsonFile}`);
console.log(`BENCH_TEXTPATH_JSON ${JSON.stringify(figures)}`);
if (process.argv.includes('--write')) console.log(writeTextBench(textBenchFile, figures));
