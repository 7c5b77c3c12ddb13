/**
 * Our BERT ONNX export against the TF.js encoder (ml/text/bert.ts, itself parity-tested against
 * Hugging Face): the tiny BERT on text tokenised by its WordPiece tokenizer, padded rows, a row
 * whose mask is all zero, gelu and gelu_new; features within 1e-4, for the ONNX Runtime-fused form
 * (the default) and the standard opset-17 form. The export is cached by a hash of the weights, and
 * identical rows are encoded once. ONNX Runtime's optimised graph of the fused form has one
 * Attention per layer, SkipLayerNormalization for both LayerNorms of a layer and BiasGelu.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { tf, initBackend } from '../../../../src/main/ml/backends/tf';
import { loadTextEncoder } from '../../../../src/main/ml/text';
import { OnnxBertEncoder } from '../../../../src/main/ml/text/onnxEncoder';
import { bertWeightsFingerprint, exportBertOnnx } from '../../../../src/main/ml/onnx/bertExport';
import { OnnxSession } from '../../../../src/main/ml/backends/onnx';
import { decodeMessage } from '../../../../src/main/ml/onnx/proto';
import { writeTinyBert } from '../../../helpers/tinyBert';
import { tempDir } from '../../../helpers/tmp';

before(async () => {
  await initBackend();
});

const hfWeights = (enc: { toHfTensors(): Record<string, { shape: number[]; data: Float32Array }> }) =>
  new Map(Object.entries(enc.toHfTensors()));

for (const act of ['gelu', 'gelu_new'] as const) {
  test(`ONNX BERT = TF.js BERT within 1e-4 on tokenised text (${act})`, async () => {
    const tiny = writeTinyBert({ config: { hidden_act: act }, seed: 4 });
    const bundle = await loadTextEncoder(tiny.dir, { trainable: false });
    const L = 12;
    const texts = ['this movie is really good', 'i think the plot was so boring , but the music !', 'fun', ''];
    const B = texts.length + 1;
    const ids3 = new Int32Array(B * 3 * L);
    texts.forEach((t, b) => {
      const e = bundle.tokenizer.encode(t, L);
      for (let r = 0; r < 3; r++) ids3.set(e.ids[r], b * 3 * L + r * L);
    });
    // the last row: real ids but an all-zero mask (uniform attention in HF's finfo.min convention),
    // segment ids 1 on its second half
    ids3.set(ids3.subarray(3 * L, 4 * L), (B - 1) * 3 * L);
    for (let t = L / 2; t < L; t++) ids3[(B - 1) * 3 * L + 2 * L + t] = 1;
    const cache = tempDir('cider-bert-onnx-');
    const onnx = await OnnxBertEncoder.open(bundle.config, hfWeights(bundle.encoder), { cacheDir: cache });
    try {
      const got = await onnx.encode(ids3, B, L);
      const want = tf.tidy(() => bundle.encoder.encode(tf.tensor3d(ids3, [B, 3, L], 'int32')).dataSync());
      assert.equal(got.length, want.length);
      let max = 0;
      let norm = 0;
      for (let i = 0; i < got.length; i++) {
        max = Math.max(max, Math.abs(got[i] - want[i]));
        norm = Math.max(norm, Math.abs(want[i]));
      }
      assert.ok(norm > 0.5, `features are not trivially small (${norm})`);
      assert.ok(max <= 1e-4, `max |ONNX (ORT-fused) - TF.js| = ${max}`);
      const standard = await OnnxBertEncoder.open(bundle.config, hfWeights(bundle.encoder), { ortFused: false });
      const std = await standard.encode(ids3, B, L);
      await standard.dispose();
      let maxStd = 0;
      for (let i = 0; i < std.length; i++) maxStd = Math.max(maxStd, Math.abs(std[i] - want[i]));
      assert.ok(maxStd <= 1e-4, `max |ONNX (standard) - TF.js| = ${maxStd}`);
      // cached by the weights' hash: the file is there, and a second open reuses it
      assert.deepEqual(readdirSync(cache), [`bert-${onnx.fingerprint}.onnx`]);
      assert.ok(existsSync(onnx.file!));
      // identical rows are encoded once; a second call is answered from the memo
      const twice = new Int32Array(2 * 3 * L);
      twice.set(ids3.subarray(0, 3 * L), 0);
      twice.set(ids3.subarray(0, 3 * L), 3 * L);
      const before = onnx.encodedRows;
      const fresh = await OnnxBertEncoder.open(bundle.config, hfWeights(bundle.encoder), { cacheDir: cache });
      const pair = await fresh.encode(twice, 2, L);
      assert.equal(fresh.encodedRows, 1, 'two identical rows, one encoder row');
      assert.deepEqual(pair.subarray(0, L * 32), pair.subarray(L * 32));
      assert.deepEqual(pair.subarray(0, L * 32), got.subarray(0, L * 32));
      await onnx.encode(ids3, B, L);
      assert.equal(onnx.encodedRows, before, 'every row came from the memo');
      await fresh.dispose();
    } finally {
      await onnx.dispose();
      bundle.encoder.dispose();
      tiny.cleanup();
    }
  });
}

test('the export hash changes with any weight and with the form of the graph', async () => {
  const tiny = writeTinyBert({ seed: 2 });
  const bundle = await loadTextEncoder(tiny.dir, { trainable: false });
  try {
    const w = hfWeights(bundle.encoder);
    const a = bertWeightsFingerprint(bundle.config, w);
    const t = w.get('encoder.layer.1.output.dense.bias')!;
    const changed = new Map(w);
    const data = t.data.slice();
    data[3] += 1e-6;
    changed.set('encoder.layer.1.output.dense.bias', { shape: t.shape, data });
    assert.notEqual(bertWeightsFingerprint(bundle.config, changed), a);
    assert.notEqual(bertWeightsFingerprint(bundle.config, w, undefined, false), a);
    assert.equal(exportBertOnnx(bundle.config, w).fingerprint, a);
  } finally {
    bundle.encoder.dispose();
    tiny.cleanup();
  }
});

/** op type -> count in the graph ONNX Runtime optimised (written through optimizedModelFilePath) */
async function optimisedOps(bytes: Uint8Array, dir: string, name: string): Promise<Map<string, number>> {
  const file = join(dir, `${name}.onnx`);
  // 'extended' is the last level that changes this graph ('all' adds layout transforms for
  // convolutions only, and warns when its graph is saved)
  const s = await OnnxSession.create(bytes, {
    providers: ['cpu'],
    optimizationLevel: 'extended',
    optimizedModelFile: file,
  });
  await s.release();
  const model = decodeMessage('ModelProto', readFileSync(file)) as { graph: { node: { op_type: string }[] } };
  const counts = new Map<string, number>();
  for (const n of model.graph.node) counts.set(n.op_type, (counts.get(n.op_type) ?? 0) + 1);
  return counts;
}

test('ONNX Runtime runs the fused form as Attention, SkipLayerNormalization and BiasGelu per layer', async () => {
  const tiny = writeTinyBert({ seed: 5 });
  const bundle = await loadTextEncoder(tiny.dir, { trainable: false });
  const dir = tempDir('cider-bert-onnx-ops-');
  try {
    const layers = bundle.config.numHiddenLayers;
    assert.ok(layers >= 2);
    const w = hfWeights(bundle.encoder);
    const fused = await optimisedOps(exportBertOnnx(bundle.config, w).bytes, dir, 'fused');
    const n = (op: string) => fused.get(op) ?? 0;
    assert.equal(n('Attention'), layers, `ops: ${[...fused].join(' ')}`);
    assert.equal(n('SkipLayerNormalization'), 2 * layers);
    assert.equal(n('BiasGelu'), layers);
    // only the embeddings' LayerNorm is left unfused; no Softmax, Erf or Transpose remains
    assert.equal(n('LayerNormalization'), 1);
    for (const op of ['Softmax', 'Erf', 'Transpose', 'Reshape']) assert.equal(n(op), 0, `${op} left in the graph`);
    // the standard form as ORT optimises it: attention stays as Softmax + MatMuls (the reason for the fused form)
    const standard = await optimisedOps(exportBertOnnx(bundle.config, w, { ortFused: false }).bytes, dir, 'standard');
    assert.equal(standard.get('Softmax'), layers);
    assert.equal(standard.get('LayerNormalization'), 1 + 2 * layers);
  } finally {
    bundle.encoder.dispose();
    tiny.cleanup();
  }
});
