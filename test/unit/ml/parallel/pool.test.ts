/**
 * Data-parallel training step (ml/parallel): two threads give the single-thread losses and
 * updates, are reproducible from the seed, and leave no tensors or workers behind. Tiny fixture
 * shapes; each pool starts one replica worker (a few seconds).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, useBackend } from '../../../../src/main/ml/backends/tf.js';
import { Rng } from '../../../../src/main/ml/random.js';
import { CiderModel } from '../../../../src/main/ml/model/cider.js';
import { initParams } from '../../../../src/main/ml/model/params.js';
import { disposeParams, paramsFromTensors } from '../../../../src/main/ml/model/weights.js';
import { Adam, ciderParamGroups } from '../../../../src/main/ml/train/adam.js';
import { trainStep, type MissingViewMasks, type StepLosses } from '../../../../src/main/ml/train/step.js';
import {
  liveReplicaWorkers,
  ReplicaPool,
  shareRows,
  trainStepParallel,
} from '../../../../src/main/ml/parallel/pool.js';
import {
  adamStepBound,
  asTensor,
  compare,
  confounders,
  fixtureBatch,
  loadFixture,
  rmfmBatchMasks,
} from '../fixture.js';

test('shares: contiguous, whole micro-batches, as even as possible', () => {
  assert.deepEqual(shareRows(4, 2), [
    [0, 2],
    [2, 2],
  ]);
  assert.deepEqual(shareRows(5, 2), [
    [0, 3],
    [3, 2],
  ]);
  assert.deepEqual(shareRows(128, 2, 64), [
    [0, 64],
    [64, 64],
  ]);
  assert.deepEqual(shareRows(100, 2, 32), [
    [0, 64],
    [64, 36],
  ]);
  assert.deepEqual(shareRows(1, 2), [[0, 1]]);
  assert.deepEqual(shareRows(40, 1, 16), [[0, 40]]);
});

const LOSS_KEYS: (keyof StepLosses)[] = [
  'taskFull',
  'taskMissing',
  'joint',
  'attention',
  'reconText',
  'reconAudio',
  'reconVision',
  'total',
];

test('2 threads = 1 thread (losses and updated weights; with dropout, = micro-batches of the share), seeded runs repeat exactly, nothing leaks', async () => {
  await useBackend('wasm');
  const f = loadFixture('unaligned-3class');
  const batch = fixtureBatch(f);
  const conf = confounders(f);
  const fixtureMasks: MissingViewMasks = {
    textKeep: asTensor(f, 'input.text_keep') as tf.Tensor2D,
    audioKeep: asTensor(f, 'input.audio_keep') as tf.Tensor2D,
    visionKeep: asTensor(f, 'input.vision_keep') as tf.Tensor2D,
  };
  const before = liveReplicaWorkers();

  // dropout off: two steps on the fixture weights, one thread vs two
  const run = async (threads: number, microBatchSize?: number) => {
    const model = new CiderModel(f.config, paramsFromTensors(f.config, f.tensors, { prefix: 'weight.' }).params);
    const opt = new Adam({ groups: ciderParamGroups(() => false) });
    const pool = threads > 1 ? await ReplicaPool.create(model, threads) : null;
    const losses: StepLosses[] = [];
    for (let s = 0; s < 2; s++)
      losses.push(
        pool
          ? await trainStepParallel(pool, model, opt, batch, fixtureMasks, conf)
          : trainStep(model, opt, batch, fixtureMasks, conf, { microBatchSize }),
      );
    await pool?.dispose();
    const values = new Map([...model.params].map(([k, v]) => [k, Float32Array.from(v.dataSync())]));
    opt.dispose();
    disposeParams(model.params);
    return { losses, values };
  };
  const one = await run(1);
  const two = await run(2);
  // the same partition on one thread (micro-batches of 2) sums the same two shares: equal bits
  const split = await run(1, 2);
  assert.deepEqual(split.losses, two.losses);
  for (const [k, v] of split.values) assert.deepEqual(v, two.values.get(k), k);
  for (let s = 0; s < 2; s++) {
    for (const k of LOSS_KEYS) {
      const a = one.losses[s][k];
      const b = two.losses[s][k];
      assert.ok(Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(a)), `step ${s + 1} loss ${k}: ${a} vs ${b}`);
    }
  }
  assert.ok(
    Math.abs(one.losses[0].taskFull - f.losses.task_full) < 1e-5,
    'first complete-view loss is the fixture one',
  );
  // Two MSSD steps = four Adam updates on gradients that agree to float rounding. A parameter
  // with a real gradient moves the same way on one thread and on two (float32 resolution of the
  // update); one whose TRUE gradient is zero gets pure rounding noise, which Adam normalises to a
  // step of up to ~lr in a direction the noise picks (fixture.ts adamStepBound), so one thread and
  // two may differ there by up to 2 * lr * bound per update: that is the bound, not float32 eps.
  const lr = 1e-3;
  let noiseBound = 0;
  for (let t = 1; t <= 4; t++) noiseBound += 2 * lr * adamStepBound(t);
  let worst = 0;
  for (const [k, v] of one.values) worst = Math.max(worst, compare(v, two.values.get(k)!).maxAbs);
  if (process.env.CIDER_TEST_VERBOSE) console.log(`max parameter difference ${worst} (Adam noise bound ${noiseBound})`);
  assert.ok(worst <= noiseBound, `max parameter difference ${worst} exceeds Adam's noise bound ${noiseBound}`);
  let typical = 0;
  let n = 0;
  for (const [k, v] of one.values) {
    const w = two.values.get(k)!;
    for (let i = 0; i < v.length; i++) typical += Math.abs(v[i] - w[i]);
    n += v.length;
  }
  assert.ok(typical / n < 1e-5, `mean parameter difference ${typical / n}`);

  // dropout on, random init, fresh RMFM masks: two threads repeat exactly from the seed
  const cfg = {
    ...f.config,
    dropouts: { relu: 0.1, residual: 0.1, attention: 0.1, embedding: 0.2, output: 0.3 },
    positional: 'temporal' as const,
  };
  const seeded = async (threads: number, microBatchSize?: number) => {
    const model = new CiderModel(cfg, initParams(cfg, 5));
    const opt = new Adam({ groups: ciderParamGroups(() => false) });
    const pool = threads > 1 ? await ReplicaPool.create(model, threads) : null;
    const rng = new Rng(42);
    const losses: number[] = [];
    const counts: number[] = [];
    for (let s = 0; s < 3; s++) {
      const masks = rmfmBatchMasks(rng, batch);
      const r = pool
        ? await trainStepParallel(pool, model, opt, batch, masks, conf, { rng })
        : trainStep(model, opt, batch, masks, conf, { rng, microBatchSize });
      tf.dispose([masks.textKeep, masks.audioKeep, masks.visionKeep]);
      losses.push(...LOSS_KEYS.map((k) => r[k]));
      counts.push(tf.memory().numTensors);
    }
    await pool?.dispose();
    const values = new Map([...model.params].map(([k, v]) => [k, Float32Array.from(v.dataSync())]));
    opt.dispose();
    disposeParams(model.params);
    return { losses, values, counts, next: rng.next() };
  };
  const a = await seeded(2);
  const b = await seeded(2);
  assert.deepEqual(a.losses, b.losses);
  for (const [k, v] of a.values) assert.deepEqual(v, b.values.get(k), k);
  // and equal, dropout masks included, to one thread with micro-batches of the share; the
  // step's rng is left where the one-thread step leaves it
  const c = await seeded(1, 2);
  assert.deepEqual(a.losses, c.losses);
  for (const [k, v] of a.values) assert.deepEqual(v, c.values.get(k), k);
  assert.equal(a.next, c.next);
  assert.ok(a.losses.every(Number.isFinite));
  // the first step creates the Adam moments; after that the count must be flat
  assert.equal(a.counts[1], a.counts[2], `tensors after steps: ${a.counts.join(', ')}`);
  assert.equal(liveReplicaWorkers(), before, 'every replica worker has exited');
  tf.dispose([fixtureMasks.textKeep, fixtureMasks.audioKeep, fixtureMasks.visionKeep]);
});
