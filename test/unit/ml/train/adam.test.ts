/** Adam against hand-computed PyTorch steps; state keyed by name; parameter groups. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, useBackend } from '../../../../src/main/ml/backends/tf.js';
import { Adam, ciderParamGroups, isNoDecay } from '../../../../src/main/ml/train/adam.js';

/** torch.optim.Adam on one scalar, in float64 */
function torchAdam(p0: number, grads: number[], lr: number, wd: number, b1 = 0.9, b2 = 0.999, eps = 1e-8): number[] {
  let p = p0;
  let m = 0;
  let v = 0;
  const out: number[] = [];
  grads.forEach((g0, i) => {
    const t = i + 1;
    const g = g0 + wd * p;
    m = b1 * m + (1 - b1) * g;
    v = b2 * v + (1 - b2) * g * g;
    const denom = Math.sqrt(v) / Math.sqrt(1 - b2 ** t) + eps;
    p = p - (lr / (1 - b1 ** t)) * (m / denom);
    out.push(p);
  });
  return out;
}

for (const backend of ['wasm', 'cpu'] as const) {
  test(`Adam matches hand-computed PyTorch steps (${backend})`, async () => {
    await useBackend(backend);
    const vars = new Map<string, tf.Variable>([
      ['text_model.encoder.dense.weight', tf.variable(tf.tensor1d([1, -2, 1e-3]))],
      ['text_model.encoder.dense.bias', tf.variable(tf.tensor1d([0.5, 0.25, -4]))],
      ['proj1.weight', tf.variable(tf.tensor1d([3, 0, -1]))],
    ]);
    const opt = new Adam({ groups: ciderParamGroups((n) => n.startsWith('text_model.')) });
    assert.equal(opt.groupOf('text_model.encoder.dense.weight').name, 'bert-decay');
    assert.equal(opt.groupOf('text_model.encoder.dense.bias').name, 'bert-no-decay');
    assert.equal(opt.groupOf('proj1.weight').name, 'other');
    const gradSeq = [
      [0.5, -1, 1e-6],
      [0.1, 0.2, -3],
      [-0.7, 0.05, 0.3],
    ];
    const before = new Map([...vars].map(([k, v]) => [k, Array.from(v.dataSync())]));
    for (const g of gradSeq) {
      const grads = new Map([...vars.keys()].map((k) => [k, tf.tensor1d(g)] as [string, tf.Tensor]));
      opt.step(vars, grads);
      for (const t of grads.values()) t.dispose();
    }
    const settings: Record<string, [number, number]> = {
      'text_model.encoder.dense.weight': [5e-5, 0.001],
      'text_model.encoder.dense.bias': [5e-5, 0],
      'proj1.weight': [1e-3, 0],
    };
    for (const [name, v] of vars) {
      const [lr, wd] = settings[name];
      const got = Array.from(v.dataSync());
      before.get(name)!.forEach((p0, i) => {
        const want = torchAdam(
          p0,
          gradSeq.map((g) => g[i]),
          lr,
          wd,
        ).at(-1)!;
        // float32 parameters: compare the update size, which is what Adam computes
        assert.ok(Math.abs(got[i] - want) <= 1e-7 * Math.max(1, Math.abs(want)), `${name}[${i}]: ${got[i]} vs ${want}`);
      });
      assert.equal(opt.stepsOf(name), 3);
    }
    opt.dispose();
    for (const v of vars.values()) v.dispose();
  });
}

test('Adam keys state by name: a parameter first seen later starts its own step count', async () => {
  await useBackend('wasm');
  const a = tf.variable(tf.tensor1d([1]));
  const b = tf.variable(tf.tensor1d([2]));
  const vars = new Map([
    ['proj1.weight', a],
    ['recon_text.weight', b],
  ]);
  const opt = new Adam({ groups: ciderParamGroups(() => false) });
  const g = (x: number) => tf.tensor1d([x]);
  opt.step(vars, new Map([['proj1.weight', g(1)]])); // complete view: no recon gradient
  assert.equal(opt.stepsOf('recon_text.weight'), 0);
  assert.equal(b.dataSync()[0], 2, 'a parameter without a gradient is not touched');
  opt.step(
    vars,
    new Map([
      ['recon_text.weight', g(0.5)],
      ['proj1.weight', g(-1)],
    ]),
  ); // different set and order of gradients
  assert.equal(opt.stepsOf('proj1.weight'), 2);
  assert.equal(opt.stepsOf('recon_text.weight'), 1);
  // first Adam step moves by lr * g / (|g| + eps) = ~lr
  assert.ok(Math.abs(b.dataSync()[0] - torchAdam(2, [0.5], 1e-3, 0)[0]) < 1e-7);
  assert.ok(Math.abs(a.dataSync()[0] - torchAdam(1, [1, -1], 1e-3, 0)[1]) < 1e-7);
  opt.dispose();
  a.dispose();
  b.dispose();
});

test('no-decay names follow the BERT convention', () => {
  assert.ok(isNoDecay('text_model.model.encoder.layer.0.attention.output.LayerNorm.weight'));
  assert.ok(isNoDecay('text_model.model.encoder.layer.0.attention.self.query.bias'));
  assert.ok(!isNoDecay('text_model.model.encoder.layer.0.attention.self.query.weight'));
});
