/**
 * Diagnostic (not part of `npm run bench`): what ONNX Runtime's graph optimiser makes of our BERT
 * export (onnx/bertExport.ts), and what it is worth. Loads the BERT-base-shaped export at
 * graphOptimizationLevel 'disabled', 'basic', 'extended' and 'all', writes each optimised graph,
 * counts its op types (fused ones: LayerNormalization / SkipLayerNormalization, Gelu / BiasGelu /
 * FastGelu, Attention / MultiHeadAttention, FusedMatMul) and times batch 32 at L = 50.
 *
 *   node --import tsx bench/profile-bertonnx.ts [--layers 12]
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { OnnxSession } from '../src/main/ml/backends/onnx';
import { exportBertOnnx } from '../src/main/ml/onnx/bertExport';
import { parseBertConfig, toHfConfigJson } from '../src/main/ml/text/config';
import { expectedBertTensors } from '../src/main/ml/text/weights';
import { Rng } from '../src/main/ml/random';
import { decodeMessage } from '../src/main/ml/onnx/proto';

const i = process.argv.indexOf('--layers');
const layers = i >= 0 ? Number(process.argv[i + 1]) : 12;
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
const { bytes } = exportBertOnnx(config, weights);
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
for (const level of ['disabled', 'basic', 'extended', 'all'] as const) {
  const file = path.join(dir, `${level}.onnx`);
  const s = await OnnxSession.create(bytes, {
    providers: ['cpu'],
    threads: availableParallelism(),
    optimizationLevel: level,
    optimizedModelFile: file,
  });
  const model = decodeMessage('ModelProto', readFileSync(file)) as {
    graph: { node: { op_type: string }[] };
  };
  const counts = new Map<string, number>();
  for (const n of model.graph.node) counts.set(n.op_type, (counts.get(n.op_type) ?? 0) + 1);
  await s.run(feeds());
  const ms: number[] = [];
  for (let r = 0; r < 3; r++) {
    const f = feeds();
    const t0 = performance.now();
    await s.run(f);
    ms.push(performance.now() - t0);
  }
  await s.release();
  const ops = [...counts]
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  console.log(`${level.padEnd(9)} ${ms.map((x) => x.toFixed(0)).join('/')} ms per batch ${B}; ops: ${ops}`);
}
rmSync(dir, { recursive: true, force: true });
