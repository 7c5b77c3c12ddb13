/**
 * BERT-base-shaped encoder throughput on the active TensorFlow.js backend (random weights):
 * 12 layers, hidden 768, 12 heads, intermediate 3072, vocab 30522, L = 50 (MOSI/MOSEI's text
 * length), batches of 8 and 32. Reports ms per batch, samples per second and peak memory
 * (tensor bytes at the peak of one forward pass from tf.profile, and the process RSS).
 *
 *   node --import tsx bench/bert.ts            inference (frozen mode's one-off cost per sample)
 *   node --import tsx bench/bert.ts --train    also forward + backward at B = 8 (fine-tune mode)
 * CIDER_TF_BACKEND=wasm|cpu|tensorflow forces a backend.
 */
import { initBackend, tf } from '../src/main/ml/backends/tf';
import { BertEncoder } from '../src/main/ml/text/bert';
import { parseBertConfig, toHfConfigJson } from '../src/main/ml/text/config';
import { Rng } from '../src/main/ml/random';

const L = 50;
const BATCHES = [8, 32];

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
const encoder = BertEncoder.random(config, 0, { trainable: false });
console.log(
  `backend ${backend.name} (${backend.reason}); BERT-base shape, ${(encoder.numParameters() / 1e6).toFixed(1)} M parameters, L = ${L}`,
);

function randomIds(B: number, rng: Rng): tf.Tensor3D {
  const data = new Int32Array(B * 3 * L);
  for (let b = 0; b < B; b++) {
    // realistic padding: 10..50 real tokens, [CLS] first and [SEP] last
    const len = rng.int(10, L + 1);
    for (let i = 0; i < L; i++) {
      data[b * 3 * L + i] = i === 0 ? 101 : i === len - 1 ? 102 : i < len ? rng.int(1000, 30522) : 0;
      data[b * 3 * L + L + i] = i < len ? 1 : 0;
    }
  }
  return tf.tensor3d(data, [B, 3, L], 'int32');
}

let peakRss = process.memoryUsage().rss;
const rows: string[] = [];
const rng = new Rng(7);
for (const B of BATCHES) {
  const ids = randomIds(B, rng);
  // warm-up: compiles kernels and grows the wasm heap once
  const warm = encoder.encode(ids);
  await warm.data();
  warm.dispose();
  const prof = await tf.profile(() => encoder.encode(ids));
  if (prof.result instanceof tf.Tensor) prof.result.dispose();
  const reps = B <= 8 ? 3 : 2;
  const t0 = performance.now();
  for (let r = 0; r < reps; r++) {
    const out = encoder.encode(ids);
    await out.data();
    out.dispose();
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }
  const ms = (performance.now() - t0) / reps;
  ids.dispose();
  rows.push(
    `B=${String(B).padStart(2)}  ${ms.toFixed(0).padStart(6)} ms/batch  ${((B * 1000) / ms).toFixed(1).padStart(6)} samples/s  peak tensors ${(prof.peakBytes / 2 ** 20).toFixed(0)} MB`,
  );
  console.log(rows[rows.length - 1]);
}

if (process.argv.includes('--train')) {
  encoder.setTrainable(true);
  const B = 8;
  const ids = randomIds(B, rng);
  const step = () => {
    const { value, grads } = tf.variableGrads(() => tf.mean(encoder.encode(ids, { training: true })) as tf.Scalar);
    const done = value.data();
    return done.then(() => tf.dispose([value, ...Object.values(grads)]));
  };
  // the warm-up step is profiled for its peak; the second one is timed
  let pending: Promise<void> = Promise.resolve();
  const prof = await tf.profile(() => {
    pending = step();
    return [];
  });
  await pending;
  const t0 = performance.now();
  await step();
  const ms = performance.now() - t0;
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  console.log(
    `train B=${B}: forward + backward ${ms.toFixed(0)} ms/batch, ${((B * 1000) / ms).toFixed(1)} samples/s  peak tensors ${(prof.peakBytes / 2 ** 20).toFixed(0)} MB`,
  );
  ids.dispose();
}
console.log(
  `peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MB (weights ${((encoder.numParameters() * 4) / 2 ** 20).toFixed(0)} MB)`,
);
encoder.dispose();
