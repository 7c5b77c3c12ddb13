/**
 * Where the engine's time goes: one MSSD training step (and one inference batch) at MOSI
 * unaligned shapes, with every kernel of the active backend wrapped by a timer. Prints the
 * kernel count, the sum of kernel times against the wall time (the rest is per-op overhead in
 * tfjs-core: tape, tidy scopes, shape checks), and the top kernels by time, keyed by kernel
 * name, attributes that matter (transposeA/B, perm) and input shapes, split into forward
 * (inside CiderModel.forward) and everything else (backward pass, losses, optimizer).
 *
 *   CIDER_TF_BACKEND=wasm node --import tsx bench/profile-engine.ts [--batch 32] [--micro 0] [--top 30]
 */
import { initBackend, tf } from '../src/main/ml/backends/tf.js';
import { Rng } from '../src/main/ml/random.js';
import { makeConfig } from '../src/main/ml/model/config.js';
import { initParams } from '../src/main/ml/model/params.js';
import { CiderModel, type ViewInputs } from '../src/main/ml/model/cider.js';
import { disposeParams } from '../src/main/ml/model/weights.js';
import { Adam, ciderParamGroups } from '../src/main/ml/train/adam.js';
import { precomputedText } from '../src/main/ml/train/text.js';
import { rmfmTrainingMasks } from '../src/main/ml/train/masks.js';
import { evalConfounders, inferLogProbs, trainStep, type TrainBatch } from '../src/main/ml/train/step.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

const B = Number(arg('batch', '32'));
const microArg = Number(arg('micro', '0'));
const top = Number(arg('top', '30'));

interface Stat {
  n: number;
  ms: number;
}
const stats = new Map<string, Stat>();
const byName = new Map<string, Stat>();
let phase: 'forward' | 'other' = 'other';
let recording = false;

function attrKey(name: string, attrs: Record<string, unknown> | undefined): string {
  if (!attrs) return '';
  if (name === 'BatchMatMul' || name === '_FusedMatMul')
    return ` tA=${attrs.transposeA ? 1 : 0} tB=${attrs.transposeB ? 1 : 0}`;
  if (name === 'Transpose') return ` perm=${JSON.stringify(attrs.perm)}`;
  return '';
}

/** Replace every kernel of the backend by a timed wrapper. */
function instrument(backend: string): void {
  for (const k of tf.getKernelsForBackend(backend)) {
    const inner = k.kernelFunc;
    tf.unregisterKernel(k.kernelName, backend);
    tf.registerKernel({
      ...k,
      kernelFunc: (params) => {
        if (!recording) return inner(params);
        const t0 = performance.now();
        const out = inner(params);
        const ms = performance.now() - t0;
        const shapes = Object.values(params.inputs)
          .map((t) => (t ? `[${(t as tf.TensorInfo).shape.join(',')}]` : '-'))
          .join(' ');
        const key = `${phase.padEnd(7)} ${k.kernelName}${attrKey(k.kernelName, params.attrs as Record<string, unknown>)} ${shapes}`;
        const s = stats.get(key) ?? { n: 0, ms: 0 };
        s.n++;
        s.ms += ms;
        stats.set(key, s);
        const nk = `${phase.padEnd(7)} ${k.kernelName}`;
        const t = byName.get(nk) ?? { n: 0, ms: 0 };
        t.n++;
        t.ms += ms;
        byName.set(nk, t);
        return out;
      },
    });
  }
}

function report(title: string, wallMs: number): void {
  let n = 0;
  let ms = 0;
  for (const s of stats.values()) {
    n += s.n;
    ms += s.ms;
  }
  console.log(
    `\n== ${title}: wall ${wallMs.toFixed(0)} ms, ${n} kernels, kernel time ${ms.toFixed(0)} ms (${((100 * ms) / wallMs).toFixed(0)}%), overhead ${(wallMs - ms).toFixed(0)} ms`,
  );
  const sorted = (m: Map<string, Stat>) => [...m.entries()].sort((a, b) => b[1].ms - a[1].ms);
  console.log('-- by kernel');
  for (const [k, s] of sorted(byName).slice(0, 20))
    console.log(`${s.ms.toFixed(0).padStart(7)} ms ${String(s.n).padStart(6)}x  ${k}`);
  console.log('-- by kernel, attributes and shapes');
  for (const [k, s] of sorted(stats).slice(0, top))
    console.log(`${s.ms.toFixed(0).padStart(7)} ms ${String(s.n).padStart(6)}x  ${k}`);
  stats.clear();
  byName.clear();
}

function randn(rng: Rng, n: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.normal() * scale;
  return out;
}

async function main(): Promise<void> {
  const choice = await initBackend();
  console.log(`backend ${choice.name}, B=${B}${microArg ? `, micro-batches of ${microArg}` : ''}`);
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
  const { textLength: L, audioLength: Ta, visionLength: Tv } = cfg;
  const rng = new Rng(1111);
  const params = initParams(cfg, 1111);
  const model = new CiderModel(cfg, params);
  const forward = model.forward.bind(model);
  model.forward = (...a: Parameters<CiderModel['forward']>) => {
    phase = 'forward';
    try {
      return forward(...a);
    } finally {
      phase = 'other';
    }
  };
  const opt = new Adam({ groups: ciderParamGroups(() => false) });
  const lens = Array.from({ length: B }, () => rng.int(8, L + 1));
  const maskOf = (T: number, lo: number) => {
    const m = new Float32Array(B * T);
    for (let b = 0; b < B; b++) m.fill(1, b * T, b * T + rng.int(lo, T + 1));
    return m;
  };
  const tm = new Float32Array(B * L);
  lens.forEach((len, b) => tm.fill(1, b * L, b * L + len));
  const am = maskOf(Ta, 50);
  const vm = maskOf(Tv, 50);
  const keep = rmfmTrainingMasks(rng, B, tm, lens, am, vm);
  const text = tf.tensor3d(randn(rng, B * L * cfg.dl, 0.5), [B, L, cfg.dl]);
  const textM = tf.tensor3d(randn(rng, B * L * cfg.dl, 0.5), [B, L, cfg.dl]);
  const batch: TrainBatch = {
    text: precomputedText(text, textM),
    textMask: tf.tensor2d(tm, [B, L]),
    textLengths: lens,
    audio: tf.tensor3d(randn(rng, B * Ta * cfg.da), [B, Ta, cfg.da]),
    audioMask: tf.tensor2d(am, [B, Ta]),
    vision: tf.tensor3d(randn(rng, B * Tv * cfg.dv), [B, Tv, cfg.dv]),
    visionMask: tf.tensor2d(vm, [B, Tv]),
    labels: tf.tensor1d(
      Int32Array.from({ length: B }, () => rng.int(0, cfg.classes)),
      'int32',
    ),
  };
  const masks = {
    textKeep: tf.tensor2d(keep.text, [B, L]),
    audioKeep: tf.tensor2d(keep.audio, [B, Ta]),
    visionKeep: tf.tensor2d(keep.vision, [B, Tv]),
  };
  const dict = tf.tensor2d(randn(rng, cfg.classes * (cfg.dl + cfg.da + cfg.dv), 0.5), [
    cfg.classes,
    cfg.dl + cfg.da + cfg.dv,
  ]);
  const conf = { dictionary: dict, prior: tf.tensor1d([0.4, 0.1, 0.5]) };
  const micro = microArg > 0 && microArg < B ? microArg : undefined;

  instrument(tf.getBackend());
  trainStep(model, opt, batch, masks, conf, { rng, microBatchSize: micro }); // warm-up
  recording = true;
  let t0 = performance.now();
  trainStep(model, opt, batch, masks, conf, { rng, microBatchSize: micro });
  report('training step', performance.now() - t0);

  const testConf = evalConfounders(dict);
  const missingView: ViewInputs = {
    text: textM,
    textMask: batch.textMask,
    textLengths: lens,
    audio: tf.tidy(() => tf.mul(batch.audio, masks.audioKeep.expandDims(2)) as tf.Tensor3D),
    audioMask: batch.audioMask,
    vision: tf.tidy(() => tf.mul(batch.vision, masks.visionKeep.expandDims(2)) as tf.Tensor3D),
    visionMask: batch.visionMask,
  };
  recording = false;
  await inferLogProbs(model, missingView, text, testConf, B);
  recording = true;
  t0 = performance.now();
  await inferLogProbs(model, missingView, text, testConf, B);
  report('inference (missing + counterfactual views)', performance.now() - t0);
  recording = false;
  disposeParams(params);
  opt.dispose();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
