/**
 * Our BERT ONNX export against the TF.js encoder (ml/text/bert.ts, itself parity-tested against
 * Hugging Face): the tiny BERT on text tokenised by its WordPiece tokenizer, padded rows, a row
 * whose mask is all zero, gelu and gelu_new; features within 1e-4. The export is cached by a hash
 * of the weights, and identical rows are encoded once.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { before, test } from 'node:test';
import { tf, initBackend } from '../../../../src/main/ml/backends/tf';
import { loadTextEncoder } from '../../../../src/main/ml/text';
import { OnnxBertEncoder } from '../../../../src/main/ml/text/onnxEncoder';
import { bertWeightsFingerprint, exportBertOnnx } from '../../../../src/main/ml/onnx/bertExport';
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
      assert.ok(max <= 1e-4, `max |ONNX - TF.js| = ${max}`);
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

test('the export hash changes with any weight; the graph uses opset 17 LayerNormalization and the GELU pattern', async () => {
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
    const text = Buffer.from(exportBertOnnx(bundle.config, w).bytes).toString('latin1');
    // node names are <op>_<index>: one LayerNormalization node per LayerNorm (embeddings + 2 per layer)
    assert.equal(text.match(/LayerNormalization_\d+/g)?.length, 1 + 2 * 2);
    assert.ok(text.includes('Erf') && text.includes('Softmax'));
  } finally {
    bundle.encoder.dispose();
    tiny.cleanup();
  }
});
