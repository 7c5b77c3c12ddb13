/** The encoder's weights, masks, dropout and gradients on the tiny BERT (active backend). */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initBackend } from '../../../../src/main/ml/backends/tf';
import { embeddingLookup, gelu, layerNorm, matMul } from '../../../../src/main/ml/text/bert';
import {
  loadTextEncoder,
  paramGroup,
  bertOptimizerGroups,
  TextModelError,
  type TextEncoderBundle,
} from '../../../../src/main/ml/text';
import { writeTinyBert, type TinyBert } from '../../../helpers/tinyBert';

let tiny: TinyBert;
before(async () => {
  await initBackend();
});

async function withTiny<T>(f: (b: TextEncoderBundle) => Promise<T> | T, trainable = true): Promise<T> {
  tiny = writeTinyBert();
  const b = await loadTextEncoder(tiny.dir, { trainable });
  try {
    return await f(b);
  } finally {
    b.encoder.dispose();
    tiny.cleanup();
  }
}

test('weights are named tf.Variables under HF names; Linear weights held (in, out); round trip to HF layout', async () => {
  const start = tf.memory().numTensors;
  await withTiny((b) => {
    const v = b.encoder.variables;
    assert.equal(v.size, 5 + 2 * 16);
    assert.deepEqual(v.get('encoder.layer.0.intermediate.dense.weight')!.shape, [32, 64]);
    assert.deepEqual(v.get('embeddings.word_embeddings.weight')!.shape, [
      tiny.tensors['embeddings.word_embeddings.weight'].shape[0],
      32,
    ]);
    assert.ok([...v.values()].every((x) => x.trainable));
    const hf = b.encoder.toHfTensors();
    for (const [name, t] of Object.entries(tiny.tensors)) {
      assert.deepEqual(hf[name].shape, t.shape, name);
      assert.deepEqual(Array.from(hf[name].data), Array.from(t.data), name);
    }
    b.encoder.setTrainable(false);
    assert.ok([...v.values()].every((x) => !x.trainable));
  });
  assert.equal(tf.memory().numTensors, start);
});

test('weight decay groups: no decay for biases and LayerNorm, decay for the rest', async () => {
  assert.equal(paramGroup('encoder.layer.3.attention.self.query.weight'), 'decay');
  assert.equal(paramGroup('embeddings.word_embeddings.weight'), 'decay');
  assert.equal(paramGroup('encoder.layer.3.attention.self.query.bias'), 'no_decay');
  assert.equal(paramGroup('encoder.layer.0.output.LayerNorm.weight'), 'no_decay');
  assert.equal(paramGroup('embeddings.LayerNorm.bias'), 'no_decay');
  await withTiny((b) => {
    const [decay, noDecay] = bertOptimizerGroups(b.encoder);
    assert.equal(decay.learningRate, 5e-5);
    assert.equal(decay.weightDecay, 0.001);
    assert.equal(noDecay.weightDecay, 0);
    // per layer: q, k, v, attention output, intermediate, output weights; + 3 embedding tables
    assert.equal(decay.names.length, 3 + 2 * 6);
    assert.equal(noDecay.names.length, 2 + 2 * 10);
    assert.equal(decay.variables.length + noDecay.variables.length, b.encoder.variables.size);
  });
});

test("padding is masked: changing padded token ids does not change the real tokens' features", async () => {
  await withTiny((b) => {
    const e = b.tokenizer.encode('I really love this movie!', 12);
    const rows = Int32Array.from([...e.ids[0], ...e.ids[1], ...e.ids[2]]);
    const other = rows.slice();
    for (let i = e.length; i < 12; i++) other[i] = 20 + i; // real words where [PAD] was
    const x = tf.tensor3d(Int32Array.from([...rows, ...other]), [2, 3, 12], 'int32');
    const out = b.encoder.encode(x);
    const real = tf.tidy(() => tf.slice(out, [0, 0, 0], [2, e.length, 32]).arraySync()) as number[][][];
    for (let t = 0; t < e.length; t++)
      for (let h = 0; h < 32; h++) assert.ok(Math.abs(real[0][t][h] - real[1][t][h]) < 1e-6);
    // and the mask matters: unmasking the pads changes the real tokens' features
    const unmasked = rows.slice();
    for (let i = 12; i < 24; i++) unmasked[i] = 1;
    const y = tf.tensor3d(unmasked, [1, 3, 12], 'int32');
    const out2 = b.encoder.encode(y);
    const d = tf.tidy(
      () =>
        tf
          .max(
            tf.abs(tf.sub(tf.slice(out2, [0, 0, 0], [1, e.length, 32]), tf.slice(out, [0, 0, 0], [1, e.length, 32]))),
          )
          .dataSync()[0],
    );
    assert.ok(d > 1e-3, `unmasking pads changed features by only ${d}`);
    tf.dispose([x, out, y, out2]);
  });
});

test('dropout only in training mode', async () => {
  await withTiny((b) => {
    const { data } = b.tokenizer.encodeBatch(['the movie was great'], 8);
    const x = tf.tensor3d(data, [1, 3, 8], 'int32');
    const a = b.encoder.encode(x);
    const a2 = b.encoder.encode(x);
    const t = b.encoder.encode(x, { training: true });
    assert.deepEqual(Array.from(a.dataSync()), Array.from(a2.dataSync()));
    assert.notDeepEqual(Array.from(a.dataSync()), Array.from(t.dataSync()));
    tf.dispose([x, a, a2, t]);
  });
});

test('fine-tune: every BERT variable gets a gradient (embedding lookup differentiable on wasm); frozen: none', async () => {
  const start = tf.memory().numTensors;
  await withTiny((b) => {
    const { data } = b.tokenizer.encodeBatch(['the movie was great', 'boring'], 8);
    const x = tf.tensor3d(data, [2, 3, 8], 'int32');
    const { value, grads } = tf.variableGrads(
      () => tf.mean(tf.square(b.encoder.encode(x, { training: true }))) as tf.Scalar,
    );
    for (const name of b.encoder.variables.keys()) {
      const g = grads[`${[...b.encoder.variables.entries()].find(([n]) => n === name)![1].name}`];
      assert.ok(g, `no gradient for ${name}`);
      assert.deepEqual(g.shape, b.encoder.variables.get(name)!.shape);
    }
    // rows of the word table for tokens not in the batch get exactly zero gradient
    const wg = grads[b.encoder.variables.get('embeddings.word_embeddings.weight')!.name].arraySync() as number[][];
    const used = new Set(Array.from(data.subarray(0, 8)).concat(Array.from(data.subarray(24, 32))));
    for (let r = 0; r < wg.length; r++) {
      const nz = wg[r].some((g) => g !== 0);
      assert.equal(nz, used.has(r), `row ${r}`);
    }
    tf.dispose([value, ...Object.values(grads)]);
    b.encoder.setTrainable(false);
    // with BERT frozen only the model on top (here one scalar) receives gradients
    const init = tf.scalar(2);
    const head = tf.variable(init, true, 'frozen-test-head');
    init.dispose();
    const frozen = tf.variableGrads(() => tf.mul(tf.mean(b.encoder.encode(x)), head) as tf.Scalar);
    assert.deepEqual(Object.keys(frozen.grads), [head.name]);
    tf.dispose([frozen.value, ...Object.values(frozen.grads), head, x]);
  });
  assert.equal(tf.memory().numTensors, start);
});

test('embedding lookup gradient sums repeated ids (scatter-add) like a one-hot product', () => {
  const init = tf.randomNormal([6, 3]);
  const table = tf.variable(init, true, 'emb-grad-test');
  init.dispose();
  const ids = tf.tensor1d([1, 4, 1, 1, 0], 'int32');
  const r = tf.randomNormal([5, 3]);
  const g1 = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(embeddingLookup(t as tf.Variable, ids), r)))(table);
  // one-hot built as int32 then cast (engine notes: wasm's float oneHot returned int bit patterns)
  const onehot = tf.cast(tf.oneHot(ids, 6), 'float32');
  const g2 = tf.matMul(onehot, r, true, false);
  const d = tf.tidy(() => tf.max(tf.abs(tf.sub(g1, g2))).dataSync()[0]);
  assert.ok(d < 1e-6, `max diff ${d}`);
  tf.dispose([table, ids, r, g1, onehot, g2]);
});

test("matMul with explicit-transpose gradients equals tf.matMul's gradients (2-D and batched 4-D)", () => {
  const start = tf.memory().numTensors;
  for (const [sa, sb] of [
    [
      [5, 7],
      [7, 3],
    ],
    [
      [2, 3, 5, 4],
      [2, 3, 4, 6],
    ],
  ]) {
    const a = tf.randomNormal(sa);
    const b = tf.randomNormal(sb);
    const r = tf.randomNormal([...sa.slice(0, -1), sb[sb.length - 1]]);
    const ours = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(matMul(x, y), r)))([a, b]);
    const ref = tf.grads((x: tf.Tensor, y: tf.Tensor) =>
      tf.sum(tf.mul(tf.matMul(x as tf.Tensor3D, y as tf.Tensor3D), r)),
    )([a, b]);
    for (let i = 0; i < 2; i++) {
      const d = tf.tidy(() => tf.max(tf.abs(tf.sub(ours[i], ref[i]))).dataSync()[0]);
      assert.ok(d < 1e-5, `gradient ${i} for shapes ${sa} x ${sb}: max diff ${d}`);
    }
    tf.dispose([a, b, r, ...ours, ...ref]);
  }
  assert.equal(tf.memory().numTensors, start);
});

test('GELU and LayerNorm hand-written gradients equal autodiff of the plain formulas', () => {
  const start = tf.memory().numTensors;
  const [x, g, b, r] = tf.tidy(() => [
    tf.mul(tf.randomNormal([6, 8]), 2),
    tf.add(1, tf.mul(0.3, tf.randomNormal([8]))),
    tf.mul(0.3, tf.randomNormal([8])),
    tf.randomNormal([6, 8]),
  ]);
  const plainGelu = (z: tf.Tensor) => tf.mul(tf.mul(z, 0.5), tf.add(1, tf.erf(tf.mul(z, Math.SQRT1_2))));
  const plainLn = (z: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => {
    const mean = tf.mean(z, -1, true);
    const xc = tf.sub(z, mean);
    return tf.add(tf.mul(tf.div(xc, tf.sqrt(tf.add(tf.mean(tf.square(xc), -1, true), 1e-12))), gg), bb);
  };
  const pairs: [tf.Tensor[], tf.Tensor[], tf.Tensor, tf.Tensor][] = [
    [
      tf.grads((z: tf.Tensor) => tf.sum(tf.mul(gelu(z), r)))([x]),
      tf.grads((z: tf.Tensor) => tf.sum(tf.mul(plainGelu(z), r)))([x]),
      gelu(x),
      tf.tidy(() => plainGelu(x)),
    ],
    [
      tf.grads((z: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(layerNorm(z, gg, bb, 1e-12), r)))([
        x,
        g,
        b,
      ]),
      tf.grads((z: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(plainLn(z, gg, bb), r)))([x, g, b]),
      layerNorm(x, g, b, 1e-12),
      tf.tidy(() => plainLn(x, g, b)),
    ],
  ];
  for (const [ours, ref, yOurs, yRef] of pairs) {
    const dy = tf.tidy(() => tf.max(tf.abs(tf.sub(yOurs, yRef))).dataSync()[0]);
    assert.ok(dy < 1e-5, `forward differs by ${dy}`);
    ours.forEach((t, i) => {
      const d = tf.tidy(() => tf.max(tf.abs(tf.sub(t, ref[i]))).dataSync()[0]);
      assert.ok(d < 1e-4, `gradient ${i}: max diff ${d}`);
    });
    tf.dispose([...ours, ...ref, yOurs, yRef]);
  }
  tf.dispose([x, g, b, r]);
  assert.equal(tf.memory().numTensors, start);
});

test('input shapes are checked at the boundary', async () => {
  await withTiny((b) => {
    const bad = tf.zeros([2, 2, 8], 'int32');
    assert.throws(
      () => b.encoder.encode(bad),
      (e: Error) => e instanceof TextModelError && /\(B, 3, L\)/.test(e.message),
    );
    const long = tf.zeros([1, 3, 65], 'int32');
    assert.throws(() => b.encoder.encode(long), /max_position_embeddings 64/);
    tf.dispose([bad, long]);
  });
});
