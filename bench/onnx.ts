/**
 * ONNX vs TF.js inference bench, MOSI unaligned shapes (L=50, Ta=375, Tv=500, dl=768, da=5, dv=20,
 * d=32, 3 layers, 8 heads, 3 classes), random weights and data (text features precomputed: BERT
 * is not measured):
 * 1. one inference batch at B=128 (missing + counterfactual views, log-probabilities only);
 * 2. a full 11-rate RMFM sweep over a 686-sample split (masks from eval missingMasks, dropped text
 *    positions get a fixed [UNK]-like feature vector, dropped frames are zeroed), in chunks of 128.
 * ONNX runs the whole sweep; TF.js runs the same path (inferLogProbs) on --tfjs-batches chunks of
 * 128 and the sweep time is extrapolated from them (it says so).
 *
 *   node --import tsx bench/onnx.ts [--reps 2] [--tfjs-batches 1] [--no-sweep]
 *
 * Shared machines: each figure is given as wall time and this process's CPU time.
 */
import { fileURLToPath } from 'node:url';
import { initBackend, tf } from '../src/main/ml/backends/tf.js';
import { Rng } from '../src/main/ml/random.js';
import { makeConfig, type CiderConfig } from '../src/main/ml/model/config.js';
import { initParams } from '../src/main/ml/model/params.js';
import { CiderModel, type ViewInputs } from '../src/main/ml/model/cider.js';
import { disposeParams } from '../src/main/ml/model/weights.js';
import { evalConfounders, inferLogProbs } from '../src/main/ml/train/step.js';
import { missingMasks, sweepProtocol, standardRates, type MissingLayout } from '../src/main/ml/eval/index.js';
import { exportCiderOnnx, OnnxEngine } from '../src/main/ml/onnx/index.js';
import type { InferenceBatch, InferenceConfounders } from '../src/main/ml/inference.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

interface Timing {
  wall: number;
  cpu: number;
}

function startTiming(): () => Timing {
  const w = performance.now();
  const c = process.cpuUsage();
  return () => {
    const d = process.cpuUsage(c);
    return { wall: performance.now() - w, cpu: (d.user + d.system) / 1000 };
  };
}

const fmt = (ms: number) => (ms >= 10000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(0)} ms`);

function randn(rng: Rng, n: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.normal() * scale;
  return out;
}

/** A random split of N samples at MOSI unaligned shapes, with valid lengths. */
function randomSplit(cfg: CiderConfig, N: number, rng: Rng) {
  const { textLength: L, audioLength: Ta, visionLength: Tv } = cfg;
  const textLengths = Int32Array.from({ length: N }, () => rng.int(8, L + 1));
  const audioLengths = Int32Array.from({ length: N }, () => rng.int(Ta / 2, Ta + 1));
  const visionLengths = Int32Array.from({ length: N }, () => rng.int(Tv / 2, Tv + 1));
  const maskOf = (T: number, lens: Int32Array) => {
    const m = new Float32Array(N * T);
    lens.forEach((len, b) => m.fill(1, b * T, b * T + len));
    return m;
  };
  return {
    N,
    text: randn(rng, N * L * cfg.dl, 0.5),
    textCf: randn(rng, N * L * cfg.dl, 0.5),
    audio: randn(rng, N * Ta * cfg.da),
    vision: randn(rng, N * Tv * cfg.dv),
    textLengths,
    audioLengths,
    visionLengths,
    textMask: maskOf(L, textLengths),
    audioMask: maskOf(Ta, audioLengths),
    visionMask: maskOf(Tv, visionLengths),
  };
}
type Split = ReturnType<typeof randomSplit>;

/** The RMFM missing view at `rate` (whole split), as an InferenceBatch. */
function rmfmView(cfg: CiderConfig, s: Split, rate: number, unk: Float32Array): InferenceBatch {
  const layout: MissingLayout = {
    batch: s.N,
    textSteps: cfg.textLength,
    audioSteps: cfg.audioLength,
    visionSteps: cfg.visionLength,
    textLengths: s.textLengths,
    audioLengths: s.audioLengths,
    visionLengths: s.visionLengths,
    aligned: cfg.aligned,
  };
  const keep = missingMasks(layout, sweepProtocol('RMFM', rate));
  const text = s.text.slice();
  for (let i = 0; i < s.N * cfg.textLength; i++)
    if (s.textMask[i] === 1 && keep.text[i] === 0) text.set(unk, i * cfg.dl);
  const zero = (frames: Float32Array, valid: Float32Array, k: Uint8Array, dim: number) => {
    const out = frames.slice();
    for (let i = 0; i < k.length; i++) if (valid[i] === 1 && k[i] === 0) out.fill(0, i * dim, (i + 1) * dim);
    return out;
  };
  return {
    size: s.N,
    text,
    textCf: s.textCf,
    textMask: s.textMask,
    textLengths: s.textLengths,
    audio: zero(s.audio, s.audioMask, keep.audio, cfg.da),
    audioMask: s.audioMask,
    vision: zero(s.vision, s.visionMask, keep.vision, cfg.dv),
    visionMask: s.visionMask,
  };
}

function rowsOf(b: InferenceBatch, start: number, size: number, cfg: CiderConfig): InferenceBatch {
  const r = (a: Float32Array, per: number) => a.subarray(start * per, (start + size) * per);
  return {
    size,
    text: r(b.text, cfg.textLength * cfg.dl),
    textCf: b.textCf ? r(b.textCf, cfg.textLength * cfg.dl) : undefined,
    textMask: r(b.textMask, cfg.textLength),
    textLengths: Array.from(b.textLengths).slice(start, start + size),
    audio: r(b.audio, cfg.audioLength * cfg.da),
    audioMask: r(b.audioMask, cfg.audioLength),
    vision: r(b.vision, cfg.visionLength * cfg.dv),
    visionMask: r(b.visionMask, cfg.visionLength),
    offset: start,
  };
}

/** The TF.js inference path (train/step.ts inferLogProbs) on one InferenceBatch. */
async function tfjsLogProbs(model: CiderModel, b: InferenceBatch, dict: tf.Tensor2D, chunk: number): Promise<void> {
  const c = model.config;
  const B = b.size;
  const view: ViewInputs = {
    text: tf.tensor3d(b.text, [B, c.textLength, c.dl]),
    textMask: tf.tensor2d(b.textMask, [B, c.textLength]),
    textLengths: b.textLengths,
    audio: tf.tensor3d(b.audio, [B, c.audioLength, c.da]),
    audioMask: tf.tensor2d(b.audioMask, [B, c.audioLength]),
    vision: tf.tensor3d(b.vision, [B, c.visionLength, c.dv]),
    visionMask: tf.tensor2d(b.visionMask, [B, c.visionLength]),
  };
  const cf = tf.tensor3d(b.textCf!, [B, c.textLength, c.dl]);
  const conf = evalConfounders(dict);
  await inferLogProbs(model, view, cf, conf, chunk);
  tf.dispose([
    view.text,
    view.textMask,
    view.audio,
    view.audioMask,
    view.vision,
    view.visionMask,
    cf,
    conf.dictionary,
    conf.prior,
  ]);
}

export interface OnnxBenchResult {
  lines: string[];
}

export async function runOnnxBench(
  opts: { reps?: number; tfjsBatches?: number; sweep?: boolean } = {},
): Promise<OnnxBenchResult> {
  const reps = opts.reps ?? 2;
  const tfjsBatches = opts.tfjsBatches ?? 1;
  const B = 128;
  const N = 686;
  const rates = standardRates();
  const lines: string[] = [];
  const log = (s: string) => {
    lines.push(s);
    console.log(s);
  };
  const backend = await initBackend();
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
  const rng = new Rng(2024);
  const params = initParams(cfg, 1111);
  const model = new CiderModel(cfg, params);
  const D = cfg.dl + cfg.da + cfg.dv;
  const dictData = randn(rng, cfg.classes * D, 0.5);
  // eval-mode confounders (spec 2.9): every entry the entries' mean, uniform prior
  const dict = tf.tensor2d(dictData, [cfg.classes, D]);
  const evalConf = evalConfounders(dict);
  const conf: InferenceConfounders = {
    dictionary: evalConf.dictionary.dataSync() as Float32Array,
    prior: evalConf.prior.dataSync() as Float32Array,
  };
  tf.dispose([evalConf.dictionary, evalConf.prior]);
  const unk = randn(rng, cfg.dl, 0.5);

  let t = startTiming();
  const exp = exportCiderOnnx(cfg, params);
  const tExport = t();
  t = startTiming();
  const onnx = await OnnxEngine.load(exp.bytes);
  const tLoad = t();
  log(
    `ONNX vs TF.js inference, MOSI unaligned shapes (L=50, Ta=375, Tv=500, dl=768, da=5, dv=20), random weights and data`,
  );
  log(`  engines: onnx = ${onnx.detail}; tfjs-${backend.name} = TensorFlow.js ${tf.version.tfjs} ${backend.name}`);
  log(
    `  export: ${(exp.bytes.length / 1e6).toFixed(2)} MB in ${fmt(tExport.wall)}; load + check (session, tiny batch): ${fmt(tLoad.wall)}`,
  );

  const split = randomSplit(cfg, N, rng);
  const full = rmfmView(cfg, split, 0.5, unk);
  const batch = rowsOf(full, 0, B, cfg);

  // 1. one batch of 128
  await onnx.infer(batch, conf, { attention: false }); // warm-up
  const onnxT: Timing[] = [];
  for (let r = 0; r < reps; r++) {
    t = startTiming();
    await onnx.infer(batch, conf, { attention: false });
    onnxT.push(t());
  }
  const tfT: Timing[] = [];
  for (let r = 0; r < tfjsBatches; r++) {
    t = startTiming();
    await tfjsLogProbs(model, batch, dict, B);
    tfT.push(t());
  }
  const best = (ts: Timing[]) => ts.reduce((a, b) => (b.wall < a.wall ? b : a));
  const ob = best(onnxT);
  const tb = best(tfT);
  let t2 = startTiming();
  await onnx.infer(batch, conf, { attention: true });
  const oa = t2();
  t2 = startTiming();
  await onnx.infer({ ...batch, textCf: undefined }, conf, { attention: false });
  const om = t2();
  log(`  batch B=${B} (missing + counterfactual views), best of ${reps} ONNX / ${tfjsBatches} TF.js:`);
  log(`    engine       wall/batch   cpu/batch   samples/s`);
  log(
    `    onnx         ${fmt(ob.wall).padStart(9)}   ${fmt(ob.cpu).padStart(9)}   ${((B * 1000) / ob.wall).toFixed(1).padStart(8)}`,
  );
  log(
    `    tfjs-${backend.name.padEnd(7)} ${fmt(tb.wall).padStart(9)}   ${fmt(tb.cpu).padStart(9)}   ${((B * 1000) / tb.wall).toFixed(1).padStart(8)}   speed-up ${(tb.wall / ob.wall).toFixed(1)}x wall, ${(tb.cpu / ob.cpu).toFixed(1)}x cpu`,
  );
  log(
    `    (onnx with attention summaries + WSAM maps fetched: ${fmt(oa.wall)} wall, ${fmt(oa.cpu)} cpu; missing view only, text_cf with 0 rows: ${fmt(om.wall)} wall, ${fmt(om.cpu)} cpu)`,
  );

  // 2. full RMFM sweep over the split
  if (opts.sweep ?? true) {
    const chunks = Math.ceil(N / B);
    let sweepT: Timing = { wall: 0, cpu: 0 };
    let maskMs = 0;
    for (const rate of rates) {
      const m = performance.now();
      const view = rmfmView(cfg, split, rate, unk);
      maskMs += performance.now() - m;
      t = startTiming();
      const out = await onnx.infer(view, conf, {
        attention: false,
        chunkSize: B,
      });
      const d = t();
      sweepT = { wall: sweepT.wall + d.wall, cpu: sweepT.cpu + d.cpu };
      if (out.logProbs.length !== N * cfg.classes || !out.logProbs.every(Number.isFinite))
        throw new Error(`sweep rate ${rate}: bad output`);
    }
    const per = (tb.wall * N) / B; // TF.js per rate, extrapolated from the measured batch(es)
    const perCpu = (tb.cpu * N) / B;
    log(`  RMFM sweep, ${rates.length} rates x ${N} samples (${chunks} chunks of <= ${B} per rate), both views:`);
    log(
      `    onnx         ${fmt(sweepT.wall).padStart(9)} wall, ${fmt(sweepT.cpu)} cpu (measured; + ${fmt(maskMs)} building masks/views), ${((rates.length * N * 1000) / sweepT.wall).toFixed(1)} samples/s`,
    );
    log(
      `    tfjs-${backend.name.padEnd(7)} ${fmt(per * rates.length).padStart(9)} wall, ${fmt(perCpu * rates.length)} cpu (EXTRAPOLATED from ${tfjsBatches} measured batch(es) of ${B}: x ${((N * rates.length) / B).toFixed(1)}), ${((B * 1000) / tb.wall).toFixed(1)} samples/s`,
    );
  }
  await onnx.dispose();
  dict.dispose();
  disposeParams(params);
  return { lines };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  runOnnxBench({
    reps: Number(arg('reps', '2')),
    tfjsBatches: Number(arg('tfjs-batches', '1')),
    sweep: !process.argv.includes('--no-sweep'),
  }).catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
