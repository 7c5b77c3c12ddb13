/**
 * Diagnostic (not part of `npm run bench`): what ONNX Runtime's graph optimiser makes of our BERT
 * export (onnx/bertExport.ts), and what it is worth. Loads the BERT-base-shaped export in both
 * forms (`fused`: ORT's Attention / SkipLayerNormalization / BiasGelu written by the exporter, the
 * default; `standard`: plain opset-17 ops) at the chosen graphOptimizationLevels, writes each
 * optimised graph, counts its op types and times --batches batches of 32 at L = 50, interleaving
 * the variants round by round so a burst of other people's load hits all of them (wall median and
 * minimum, process CPU time, load average before and after: the machine is shared).
 *
 *   node --import tsx bench/profile-bertonnx.ts [--layers 12] [--batches 8] [--forms standard,fused]
 *                                               [--levels disabled,basic,extended,all] [--threads N]
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { OnnxSession } from '../src/main/ml/backends/onnx';
import { exportBertOnnx } from '../src/main/ml/onnx/bertExport';
import { parseBertConfig, toHfConfigJson } from '../src/main/ml/text/config';
import { expectedBertTensors } from '../src/main/ml/text/weights';
import { Rng } from '../src/main/ml/random';
import { decodeMessage } from '../src/main/ml/onnx/proto';

const argOf = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const layers = Number(argOf('layers', '12'));
const batches = Number(argOf('batches', '8'));
const forms = argOf('forms', 'standard,fused').split(',') as ('standard' | 'fused')[];
const levels = argOf('levels', 'all').split(',') as ('disabled' | 'basic' | 'extended' | 'all')[];
const config = parseBertConfig(
  toHfConfigJson({
    hiddenSize: 768,
    numHiddenLayers: layers,
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
const rng = new Rng(1);
const weights = new Map<string, { shape: number[]; data: Float32Array }>();
for (const [name, shape] of expectedBertTensors(config)) {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  if (name.endsWith('LayerNorm.weight')) data.fill(1);
  else if (!name.endsWith('.bias')) for (let k = 0; k < n; k++) data[k] = 0.02 * rng.normal();
  weights.set(name, { shape, data });
}
const B = 32;
const L = 50;
const feeds = () => {
  const ids = new BigInt64Array(B * L);
  const mask = new BigInt64Array(B * L);
  for (let b = 0; b < B; b++) {
    const len = rng.int(10, L + 1);
    for (let t = 0; t < L; t++) {
      ids[b * L + t] = BigInt(t < len ? rng.int(1000, 30522) : 0);
      mask[b * L + t] = t < len ? 1n : 0n;
    }
  }
  return {
    input_ids: { type: 'int64' as const, data: ids, dims: [B, L] },
    attention_mask: { type: 'int64' as const, data: mask, dims: [B, L] },
    token_type_ids: { type: 'int64' as const, data: new BigInt64Array(B * L), dims: [B, L] },
  };
};
const dir = mkdtempSync(path.join(tmpdir(), 'cider-bertonnx-'));
const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
const threads = Number(argOf('threads', String(availableParallelism())));
console.log(`BERT ${layers} x 768, batch ${B}, L = ${L}, ${threads} intra-op threads; load ${load()}`);
const runs: { name: string; s: OnnxSession; ops: string; wall: number[]; cpu: number[] }[] = [];
for (const form of forms)
  for (const level of levels) {
    const { bytes } = exportBertOnnx(config, weights, { ortFused: form === 'fused' });
    const file = path.join(dir, `${form}-${level}.onnx`);
    const s = await OnnxSession.create(bytes, {
      providers: ['cpu'],
      threads,
      optimizationLevel: level,
      optimizedModelFile: file,
    });
    const model = decodeMessage('ModelProto', readFileSync(file)) as {
      graph: { node: { op_type: string }[] };
    };
    const counts = new Map<string, number>();
    for (const n of model.graph.node) counts.set(n.op_type, (counts.get(n.op_type) ?? 0) + 1);
    const ops = [...counts]
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    await s.run(feeds());
    runs.push({ name: `${form} ${level}`, s, ops, wall: [], cpu: [] });
  }
// interleaved (the order alternates each round), so a burst of other people's load hits every variant
for (let r = 0; r < batches; r++)
  for (const x of r % 2 ? runs : [...runs].reverse()) {
    const f = feeds();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await x.s.run(f);
    x.wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    x.cpu.push((c.user + c.system) / 1000);
  }
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const x of runs) {
  await x.s.release();
  console.log(
    `${x.name.padEnd(18)} wall median ${median(x.wall).toFixed(0)} ms, min ${Math.min(...x.wall).toFixed(0)} ms per batch ${B} (${x.wall.map((v) => v.toFixed(0)).join('/')}); process CPU median ${median(x.cpu).toFixed(0)} ms; ops: ${x.ops}`,
  );
}
console.log(`load at the end ${load()}`);
rmSync(dir, { recursive: true, force: true });
