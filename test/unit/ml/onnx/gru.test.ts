/**
 * The ONNX GRU node the exporter emits (addGru) equals the model's PyTorch-gate GRU
 * (model/layers.ts gru) over a long sequence, for two batch sizes through one graph (the zero
 * initial state follows the batch); with linear_before_reset = 0 it would not.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, useBackend } from '../../../../src/main/ml/backends/tf.js';
import { OnnxSession } from '../../../../src/main/ml/backends/onnx.js';
import { gru } from '../../../../src/main/ml/model/layers.js';
import { Rng } from '../../../../src/main/ml/random.js';
import { GraphBuilder, serializeModel } from '../../../../src/main/ml/onnx/graph.js';
import { addGru, ONNX_IR_VERSION, ONNX_OPSET } from '../../../../src/main/ml/onnx/export.js';
import { compare } from '../fixture.js';

test('ONNX GRU (linear_before_reset = 1, gates reordered) = PyTorch GRU, T = 50, B = 1 and 7', async () => {
  await useBackend('wasm');
  const H = 8;
  const I = 5;
  const T = 50;
  const rng = new Rng(42);
  const r = (n: number, s = 1) => Float32Array.from({ length: n }, () => (rng.next() * 2 - 1) * s);
  const w = {
    weightIh: r(3 * H * I, 0.6),
    weightHh: r(3 * H * H, 0.6),
    biasIh: r(3 * H, 0.5),
    biasHh: r(3 * H, 0.5),
  };
  const build = (linearBeforeReset: number) => {
    const g = new GraphBuilder();
    const x = g.input('x', 'float', ['n', T, I]);
    let y = addGru(g, x, w, H, 'g');
    if (linearBeforeReset === 0) {
      // same node with the ONNX default gates, to show the attribute matters
      const node = g.nodes.find((n) => n.op_type === 'GRU')!;
      (node.attribute as { name: string; i: number }[]).find((a) => a.name === 'linear_before_reset')!.i = 0;
    }
    y = g.op('Transpose', [y], { perm: [1, 0, 2] });
    g.output('y', y, 'float', ['n', T, H]);
    return serializeModel(g, 'gru', {
      producer: 'test',
      producerVersion: '0',
      opset: ONNX_OPSET,
      irVersion: ONNX_IR_VERSION,
      metadata: {},
    });
  };
  const session = await OnnxSession.create(build(1), { threads: 1 });
  const other = await OnnxSession.create(build(0), { threads: 1 });
  for (const B of [1, 7]) {
    const x = r(B * T * I);
    const expected = tf.tidy(() =>
      gru(tf.tensor3d(x, [B, T, I]), {
        weightIh: tf.tensor2d(w.weightIh, [3 * H, I]),
        weightHh: tf.tensor2d(w.weightHh, [3 * H, H]),
        biasIh: tf.tensor1d(w.biasIh),
        biasHh: tf.tensor1d(w.biasHh),
      }).dataSync(),
    );
    const got = (await session.run({ x: { type: 'float32', data: x, dims: [B, T, I] } })).y;
    assert.deepEqual(got.dims, [B, T, H]);
    const d = compare(got.data, expected);
    assert.ok(d.maxAbs < 1e-5, `B=${B}: max |diff| ${d.maxAbs.toExponential(2)}`);
    const wrong = compare((await other.run({ x: { type: 'float32', data: x, dims: [B, T, I] } })).y.data, expected);
    assert.ok(wrong.maxAbs > 1e-3, `linear_before_reset = 0 should differ (got ${wrong.maxAbs})`);
  }
  await session.release();
  await other.release();
});
