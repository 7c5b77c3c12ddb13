/**
 * Engine benchmark: one MSSD training step and one inference batch (missing + counterfactual
 * views) at B=32 and B=128 with MOSI unaligned shapes (L=50, Ta=375, Tv=500, dl=768, da=5,
 * dv=20, d=32, 3 layers, 8 heads), random weights and data, on the active backend
 * (CIDER_TF_BACKEND=wasm|cpu|tensorflow to force one). Text features are precomputed: BERT is
 * not part of this measurement.
 *
 *   node --import tsx bench/engine.ts [--batches 32,128] [--steps 1] [--micro 64] [--workers 1]
 *
 * The machines are shared: wall time swings 2-3x with other people's load, so each figure is
 * also given as this process's CPU time (wasm runs on one thread), and with --steps N the
 * fastest of N repetitions is reported next to the mean.
 *
 * --workers N runs the training step data-parallel on N threads (ml/parallel: this thread plus
 * N - 1 replica workers). CPU time is then the whole process's (all threads), and wall time is
 * what matters, so the 1-minute load average is printed before and after each timing: a figure
 * taken with a load above ~0.5 had other work competing for the two cores.
 */
import { initBackend, tf } from '../src/main/ml/backends/tf.js';
import { Rng } from '../src/main/ml/random.js';
import { makeConfig, type CiderConfig } from '../src/main/ml/model/config.js';
import { countParams, initParams } from '../src/main/ml/model/params.js';
import { CiderModel, type ViewInputs } from '../src/main/ml/model/cider.js';
import { disposeParams } from '../src/main/ml/model/weights.js';
import { Adam, ciderParamGroups } from '../src/main/ml/train/adam.js';
import { precomputedText } from '../src/main/ml/train/text.js';
import { rmfmTrainingMasks } from '../src/main/ml/train/masks.js';
import { evalConfounders, inferLogProbs, trainStep, type TrainBatch } from '../src/main/ml/train/step.js';
import { ReplicaPool, trainStepParallel } from '../src/main/ml/parallel/pool.js';
import { loadavg } from 'node:os';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

const batches = arg('batches', '32,128').split(',').map(Number);
const steps = Number(arg('steps', '1'));
// B=128 in one piece needs ~3.2 GB of the 4 GB wasm heap; micro-batches of 64 (exact gradient
// accumulation) keep it near 1.6 GB. --micro 0 runs whole batches.
const microArg = Number(arg('micro', '64'));
const workers = Number(arg('workers', '1'));
const load = () => loadavg()[0].toFixed(2);

function randn(rng: Rng, n: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.normal() * scale;
  return out;
}

function wasmHeapBytes(): number | null {
  const b = tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } };
  return b.wasm?.HEAPU8 ? b.wasm.HEAPU8.buffer.byteLength : null;
}

interface Timing {
  wall: number;
  cpu: number;
}

/** Wall and CPU (user + system) milliseconds from now until the returned function is called. */
function startTiming(): () => Timing {
  const w = performance.now();
  const c = process.cpuUsage();
  return () => {
    const d = process.cpuUsage(c);
    return { wall: performance.now() - w, cpu: (d.user + d.system) / 1000 };
  };
}

function describe(ts: Timing[]): string {
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const walls = ts.map((t) => t.wall);
  const cpus = ts.map((t) => t.cpu);
  return `cpu ${Math.min(...cpus).toFixed(0)} ms${ts.length > 1 ? ` (best of ${ts.length}; wall mean ${mean(walls).toFixed(0)}, cpu mean ${mean(cpus).toFixed(0)})` : ''}`;
}

const mb = (n: number) => `${(n / 2 ** 20).toFixed(0)} MB`;

function makeData(cfg: CiderConfig, B: number, rng: Rng) {
  const { textLength: L, audioLength: Ta, visionLength: Tv } = cfg;
  const lens = Array.from({ length: B }, () => rng.int(8, L + 1));
  const aLens = Array.from({ length: B }, () => rng.int(50, Ta + 1));
  const vLens = Array.from({ length: B }, () => rng.int(50, Tv + 1));
  const maskOf = (T: number, ls: number[]) => {
    const m = new Float32Array(B * T);
    ls.forEach((len, b) => m.fill(1, b * T, b * T + len));
    return m;
  };
  const tm = maskOf(L, lens);
  const am = maskOf(Ta, aLens);
  const vm = maskOf(Tv, vLens);
  const keep = rmfmTrainingMasks(rng, B, tm, lens, am, vm);
  const labels = Int32Array.from({ length: B }, () => rng.int(0, cfg.classes));
  return { lens, tm, am, vm, keep, labels };
}

async function main(): Promise<void> {
  const choice = await initBackend();
  console.log(`backend ${choice.name} (${choice.reason}), tfjs ${choice.tfjsVersion}`);
  const cfg = makeConfig({
    aligned: false,
    classes: 3,
    textLength: 50,
    audioLength: 375,
    visionLength: 500,
    dl: 768,
    da: 5,
    dv: 20,
  });
  for (const B of batches) {
    const micro = microArg > 0 && microArg < B ? microArg : undefined;
    const rng = new Rng(1111);
    const params = initParams(cfg, 1111);
    const model = new CiderModel(cfg, params);
    const opt = new Adam({ groups: ciderParamGroups(() => false) });
    const d = makeData(cfg, B, rng);
    const { textLength: L, audioLength: Ta, visionLength: Tv } = cfg;
    const text = tf.tensor3d(randn(rng, B * L * cfg.dl, 0.5), [B, L, cfg.dl]);
    const textM = tf.tensor3d(randn(rng, B * L * cfg.dl, 0.5), [B, L, cfg.dl]);
    const textCf = tf.tensor3d(randn(rng, B * L * cfg.dl, 0.5), [B, L, cfg.dl]);
    const batch: TrainBatch = {
      text: precomputedText(text, textM),
      textMask: tf.tensor2d(d.tm, [B, L]),
      textLengths: d.lens,
      audio: tf.tensor3d(randn(rng, B * Ta * cfg.da), [B, Ta, cfg.da]),
      audioMask: tf.tensor2d(d.am, [B, Ta]),
      vision: tf.tensor3d(randn(rng, B * Tv * cfg.dv), [B, Tv, cfg.dv]),
      visionMask: tf.tensor2d(d.vm, [B, Tv]),
      labels: tf.tensor1d(d.labels, 'int32'),
    };
    const masks = {
      textKeep: tf.tensor2d(d.keep.text, [B, L]),
      audioKeep: tf.tensor2d(d.keep.audio, [B, Ta]),
      visionKeep: tf.tensor2d(d.keep.vision, [B, Tv]),
    };
    const dict = tf.tensor2d(randn(rng, cfg.classes * (cfg.dl + cfg.da + cfg.dv), 0.5), [
      cfg.classes,
      cfg.dl + cfg.da + cfg.dv,
    ]);
    const trainConf = { dictionary: dict, prior: tf.tensor1d([0.4, 0.1, 0.5]) };
    const testConf = evalConfounders(dict);
    let rssPeak = process.memoryUsage().rss;
    const sample = () => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss));

    const pool = workers > 1 ? await ReplicaPool.create(model, workers) : null;
    const step = async () => {
      if (pool) await trainStepParallel(pool, model, opt, batch, masks, trainConf, { rng, microBatchSize: micro });
      else trainStep(model, opt, batch, masks, trainConf, { rng, microBatchSize: micro });
    };
    // warm-up step (kernel set-up, Adam state), then timed steps
    await step();
    sample();
    const stepT: Timing[] = [];
    const loadBefore = load();
    for (let s = 0; s < steps; s++) {
      const t = startTiming();
      await step();
      stepT.push(t());
      sample();
    }
    const loadAfter = load();
    const stepMs = Math.min(...stepT.map((t) => t.wall));
    const prof = await tf.profile(step);
    await pool?.dispose();
    sample();

    const missingView: ViewInputs = {
      text: textM,
      textMask: batch.textMask,
      textLengths: d.lens,
      audio: tf.tidy(() => tf.mul(batch.audio, masks.audioKeep.expandDims(2)) as tf.Tensor3D),
      audioMask: batch.audioMask,
      vision: tf.tidy(() => tf.mul(batch.vision, masks.visionKeep.expandDims(2)) as tf.Tensor3D),
      visionMask: batch.visionMask,
    };
    await inferLogProbs(model, missingView, textCf, testConf, B);
    const inferT: Timing[] = [];
    for (let s = 0; s < steps; s++) {
      const t = startTiming();
      await inferLogProbs(model, missingView, textCf, testConf, B);
      inferT.push(t());
    }
    const inferMs = Math.min(...inferT.map((t) => t.wall));
    const profInfer = await tf.profile(async () => {
      await inferLogProbs(model, missingView, textCf, testConf, B);
    });
    sample();
    const heap = wasmHeapBytes();
    console.log(
      [
        `B=${B}${micro ? ` (micro-batches of ${micro})` : ''}, ${countParams(params)} CIDer parameters, ${workers} thread(s) for training`,
        `  train step:  ${stepMs.toFixed(0)} ms/step (best wall), ${((B * 1000) / stepMs).toFixed(1)} samples/s, ${describe(stepT)}, peak tensor bytes ${mb(prof.peakBytes)} (this thread), load average ${loadBefore} -> ${loadAfter}`,
        `  inference (missing + counterfactual views): ${inferMs.toFixed(0)} ms/batch, ${((B * 1000) / inferMs).toFixed(1)} samples/s, ${describe(inferT)}, peak tensor bytes ${mb(profInfer.peakBytes)}`,
        `  memory: tf.memory() ${tf.memory().numTensors} tensors / ${mb(tf.memory().numBytes)} live; ${heap ? `wasm heap ${mb(heap)}; ` : ''}process rss peak ${mb(rssPeak)}, heapUsed ${mb(process.memoryUsage().heapUsed)}`,
      ].join('\n'),
    );
    tf.dispose([
      text,
      textM,
      textCf,
      batch.textMask,
      batch.audio,
      batch.audioMask,
      batch.vision,
      batch.visionMask,
      batch.labels,
      masks.textKeep,
      masks.audioKeep,
      masks.visionKeep,
      dict,
      trainConf.prior,
      testConf.dictionary,
      testConf.prior,
      missingView.audio,
      missingView.vision,
    ]);
    opt.dispose();
    disposeParams(params);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
