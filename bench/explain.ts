/**
 * What the explanation outputs of the ONNX export cost, MOSI unaligned shapes (L=50, Ta=375,
 * Tv=500, dl=768, d=32, 3 layers, 8 heads, 3 classes), random weights and data:
 * 1. plain prediction (B=128, missing + counterfactual views, log-probabilities only) on the
 *    same weights exported with the attention_rows/attention_weights branch (the default) and
 *    without it (what exporter version 1 wrote), alternated rep by rep;
 * 2. one inspector call as the analyzer makes it (the 8 coalition views of one sample, summaries,
 *    WSAM maps and one row's full attention weights) on ONNX Runtime and on TF.js.
 *
 *   node --import tsx bench/explain.ts [--reps 5]
 *
 * Shared machines: figures are medians of wall time and of this process's CPU time.
 */
import { initBackend } from '../src/main/ml/backends/tf.js';
import { Rng } from '../src/main/ml/random.js';
import { makeConfig } from '../src/main/ml/model/config.js';
import { initParams } from '../src/main/ml/model/params.js';
import { CiderModel } from '../src/main/ml/model/cider.js';
import { disposeParams } from '../src/main/ml/model/weights.js';
import { exportCiderOnnx, OnnxEngine } from '../src/main/ml/onnx/index.js';
import {
  evaluationConfounders,
  TfjsEngine,
  type InferenceBatch,
  type InferenceEngine,
  type InferenceOptions,
} from '../src/main/ml/inference.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (ms: number) => `${ms.toFixed(0)} ms`;

async function timed(f: () => Promise<unknown>): Promise<{ wall: number; cpu: number }> {
  const w = performance.now();
  const c = process.cpuUsage();
  await f();
  const d = process.cpuUsage(c);
  return { wall: performance.now() - w, cpu: (d.user + d.system) / 1000 };
}

async function main(): Promise<void> {
  const reps = Number(arg('reps', '5'));
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
  const randn = (n: number, s = 1) => Float32Array.from({ length: n }, () => rng.normal() * s);
  const params = initParams(cfg, 1111);
  const D = cfg.dl + cfg.da + cfg.dv;
  const conf = evaluationConfounders(randn(cfg.classes * D, 0.5), cfg.classes);
  const batchOf = (B: number, cf: boolean): InferenceBatch => {
    const mask = (T: number) => {
      const m = new Float32Array(B * T);
      for (let b = 0; b < B; b++) m.fill(1, b * T, b * T + Math.max(2, T - 3 * b));
      return m;
    };
    const textMask = mask(cfg.textLength);
    return {
      size: B,
      text: randn(B * cfg.textLength * cfg.dl, 0.5),
      textCf: cf ? randn(B * cfg.textLength * cfg.dl, 0.5) : undefined,
      textMask,
      textLengths: Array.from({ length: B }, (_, b) =>
        textMask.subarray(b * cfg.textLength, (b + 1) * cfg.textLength).reduce((a, x) => a + x, 0),
      ),
      audio: randn(B * cfg.audioLength * cfg.da),
      audioMask: mask(cfg.audioLength),
      vision: randn(B * cfg.visionLength * cfg.dv),
      visionMask: mask(cfg.visionLength),
    };
  };

  const withBranch = await OnnxEngine.load(exportCiderOnnx(cfg, params).bytes);
  const without = await OnnxEngine.load(exportCiderOnnx(cfg, params, { explanationOutputs: false }).bytes);
  const model = new CiderModel(cfg, params);
  const tfjs = await TfjsEngine.create(model);
  console.log(`${withBranch.detail}; TF.js ${backend.name}; ${reps} reps, medians`);

  const plain = batchOf(128, true);
  const plainOpts: InferenceOptions = { attention: false };
  const runs: Record<string, { wall: number[]; cpu: number[] }> = {
    with: { wall: [], cpu: [] },
    without: { wall: [], cpu: [] },
  };
  await withBranch.infer(plain, conf, plainOpts); // warm-up
  await without.infer(plain, conf, plainOpts);
  for (let r = 0; r < reps; r++) {
    const pair = [
      ['with', withBranch],
      ['without', without],
    ] as const;
    // alternate which goes first, so neither gains from running second
    for (const [k, e] of r % 2 ? [...pair].reverse() : pair) {
      const t = await timed(() => e.infer(plain, conf, plainOpts));
      runs[k].wall.push(t.wall);
      runs[k].cpu.push(t.cpu);
    }
  }
  const ratio = median(runs.with.wall) / median(runs.without.wall);
  console.log(
    `plain prediction B=128 (both views): with explanation outputs ${fmt(median(runs.with.wall))} wall / ${fmt(median(runs.with.cpu))} cpu, ` +
      `without ${fmt(median(runs.without.wall))} / ${fmt(median(runs.without.cpu))}; ratio ${ratio.toFixed(3)}`,
  );

  const inspector = batchOf(8, false);
  const explainOpts: InferenceOptions = { attention: true, attentionRows: [7] };
  for (const [name, e] of [
    ['ONNX Runtime', withBranch],
    [`TF.js ${backend.name}`, tfjs],
  ] as [string, InferenceEngine][]) {
    await e.infer(inspector, conf, explainOpts);
    const wall: number[] = [];
    const cpu: number[] = [];
    for (let r = 0; r < reps; r++) {
      const t = await timed(() => e.infer(inspector, conf, explainOpts));
      wall.push(t.wall);
      cpu.push(t.cpu);
    }
    console.log(
      `inspector call (8 views, 1 row of full attention weights) on ${name}: ${fmt(median(wall))} wall / ${fmt(median(cpu))} cpu`,
    );
  }
  await withBranch.dispose();
  await without.dispose();
  await tfjs.dispose();
  disposeParams(params);
}

void main();
