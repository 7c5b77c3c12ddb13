/**
 * Training step, masks, one-hot, inference views, weight IO and the text-encoder hook, on the
 * tiny fixture shapes (fast on 2 cores).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { tf, useBackend } from '../../../../src/main/ml/backends/tf.js';
import { Rng } from '../../../../src/main/ml/random.js';
import { CiderModel } from '../../../../src/main/ml/model/cider.js';
import { initParams } from '../../../../src/main/ml/model/params.js';
import {
  disposeParams,
  loadParams,
  paramsFromTensors,
  saveParams,
  WeightsError,
} from '../../../../src/main/ml/model/weights.js';
import { Adam, ciderParamGroups } from '../../../../src/main/ml/train/adam.js';
import { nllLoss, oneHotFloat } from '../../../../src/main/ml/train/losses.js';
import { rmfmTrainingMasks } from '../../../../src/main/ml/train/masks.js';
import { encodedText, missingIds, type TextEncoder } from '../../../../src/main/ml/train/text.js';
import {
  completeViewPass,
  disposeGrads,
  evalConfounders,
  inferLogProbs,
  missingViewPass,
  trainStep,
  type GradMap,
  type MissingViewMasks,
  type Teacher,
} from '../../../../src/main/ml/train/step.js';
import {
  asTensor,
  compare,
  confounders,
  fixtureBatch,
  get,
  loadFixture,
  rmfmBatchMasks,
  view,
  type Fixture,
} from '../fixture.js';

function modelOf(f: Fixture): CiderModel {
  return new CiderModel(f.config, paramsFromTensors(f.config, f.tensors, { prefix: 'weight.' }).params);
}

function fixtureMasks(f: Fixture): MissingViewMasks {
  return {
    textKeep: asTensor(f, 'input.text_keep') as tf.Tensor2D,
    audioKeep: asTensor(f, 'input.audio_keep') as tf.Tensor2D,
    visionKeep: asTensor(f, 'input.vision_keep') as tf.Tensor2D,
  };
}

const paramValues = (m: CiderModel) => new Map([...m.params].map(([k, v]) => [k, Float32Array.from(v.dataSync())]));

function maxParamDiff(a: CiderModel, b: CiderModel): number {
  let worst = 0;
  for (const [k, v] of a.params) worst = Math.max(worst, compare(v.dataSync(), b.params.get(k)!.dataSync()).maxAbs);
  return worst;
}

const disposeTeachers = (ts: Teacher[]) => ts.forEach((t) => tf.dispose([t.joint, t.text, ...t.attention.flat()]));

for (const backend of ['wasm', 'cpu'] as const) {
  test(`one-hot is a real float 0/1 and the NLL uses it (${backend})`, async () => {
    await useBackend(backend);
    const labels = tf.tensor1d([2, 0, 1], 'int32');
    const oh = oneHotFloat(labels, 3);
    assert.equal(oh.dtype, 'float32');
    assert.deepEqual(Array.from(oh.dataSync()), [0, 0, 1, 1, 0, 0, 0, 1, 0]);
    const logp = tf.log(tf.tensor2d([0.2, 0.3, 0.5, 0.6, 0.3, 0.1, 0.25, 0.5, 0.25], [3, 3]));
    const nll = nllLoss(logp as tf.Tensor2D, labels).dataSync()[0];
    assert.ok(Math.abs(nll - -(Math.log(0.5) + Math.log(0.6) + Math.log(0.5)) / 3) < 1e-6);
    tf.dispose([labels, oh, logp]);
  });
}

test('micro-batches give the whole-batch losses and gradients (reference positional offsets included)', async () => {
  await useBackend('wasm');
  const f = loadFixture('unaligned-3class');
  const model = modelOf(f);
  const batch = fixtureBatch(f);
  const masks = fixtureMasks(f);
  const conf = confounders(f);
  const run = (micro?: number) => {
    const full = completeViewPass(model, batch, conf, { microBatchSize: micro });
    const miss = missingViewPass(model, batch, masks, conf, full.teachers, { microBatchSize: micro });
    disposeTeachers(full.teachers);
    return { fullLoss: full.loss, fullGrads: full.grads, losses: miss.losses, grads: miss.grads };
  };
  const whole = run();
  const split = run(3); // uneven: 3 + 1 rows
  assert.ok(Math.abs(whole.fullLoss - split.fullLoss) < 1e-6);
  for (const [k, v] of Object.entries(whole.losses))
    assert.ok(
      Math.abs(v - split.losses[k as keyof typeof split.losses]) <= 1e-6 * Math.max(1, Math.abs(v)),
      `loss ${k}`,
    );
  const check = (a: GradMap, b: GradMap) => {
    assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
    for (const [k, g] of a) {
      const d = compare(b.get(k)!.dataSync(), g.dataSync());
      assert.ok(d.maxAbs <= 1e-5 * (d.maxAbs / Math.max(d.scaled, 1e-300)) + 1e-8, `grad ${k}: ${d.maxAbs}`);
    }
  };
  check(whole.grads, split.grads);
  check(whole.fullGrads, split.fullGrads);
  [whole.grads, split.grads, whole.fullGrads, split.fullGrads].forEach(disposeGrads);
  disposeParams(model.params);
});

test('trainStep: reference quirk sums step-1 and step-2 gradients; the switch turns it off', async () => {
  await useBackend('wasm');
  const f = loadFixture('aligned-7class');
  const batch = fixtureBatch(f);
  const masks = fixtureMasks(f);
  const conf = confounders(f);
  const manual = (accumulate: boolean) => {
    const m = modelOf(f);
    const opt = new Adam({ groups: ciderParamGroups(() => false) });
    const full = completeViewPass(m, batch, conf);
    opt.step(m.params, full.grads);
    const miss = missingViewPass(m, batch, masks, conf, full.teachers);
    if (accumulate) for (const [k, g] of full.grads) miss.grads.set(k, tf.add(miss.grads.get(k)!, g));
    opt.step(m.params, miss.grads);
    disposeGrads(full.grads);
    disposeGrads(miss.grads);
    disposeTeachers(full.teachers);
    opt.dispose();
    return m;
  };
  const viaStep = (accumulate?: boolean) => {
    const m = modelOf(f);
    const opt = new Adam({ groups: ciderParamGroups(() => false) });
    const losses = trainStep(
      m,
      opt,
      batch,
      masks,
      conf,
      accumulate === undefined ? {} : { accumulateFullViewGrad: accumulate },
    );
    // step 1 runs on the fixture weights (no dropout); step 2 already on updated weights
    assert.ok(
      Math.abs(losses.taskFull - f.losses.task_full) < 1e-5,
      'complete-view loss of the first step is the fixture one',
    );
    opt.dispose();
    return m;
  };
  const quirk = viaStep();
  const off = viaStep(false);
  const mq = manual(true);
  const mo = manual(false);
  assert.ok(maxParamDiff(quirk, mq) < 1e-7, 'default = step-1 gradients kept for step 2');
  assert.ok(maxParamDiff(off, mo) < 1e-7, 'accumulateFullViewGrad: false = cleared');
  assert.ok(maxParamDiff(quirk, off) > 1e-5, 'the two settings differ');
  // the recon heads only moved in step 2 (one Adam step of ~lr)
  for (const m of [quirk, mq, off, mo]) disposeParams(m.params);
});

test('trainStep is reproducible from its seed and does not leak tensors', async () => {
  await useBackend('wasm');
  const f = loadFixture('unaligned-3class');
  const cfg = {
    ...f.config,
    dropouts: { relu: 0.1, residual: 0.1, attention: 0.1, embedding: 0.2, output: 0.3 },
    positional: 'temporal' as const,
  };
  const batch = fixtureBatch(f);
  const conf = confounders(f);
  const runOnce = (steps: number, watchLeaks: boolean) => {
    const model = new CiderModel(cfg, initParams(cfg, 5));
    const opt = new Adam({ groups: ciderParamGroups(() => false) });
    const rng = new Rng(42);
    const counts: number[] = [];
    const losses: number[] = [];
    for (let s = 0; s < steps; s++) {
      const masks = rmfmBatchMasks(rng, batch);
      const r = trainStep(model, opt, batch, masks, conf, { rng, microBatchSize: s % 2 ? 2 : undefined });
      tf.dispose([masks.textKeep, masks.audioKeep, masks.visionKeep]);
      losses.push(r.total, r.taskFull);
      if (watchLeaks) counts.push(tf.memory().numTensors);
    }
    const values = paramValues(model);
    opt.dispose();
    disposeParams(model.params);
    return { counts, losses, values };
  };
  const a = runOnce(4, true);
  const b = runOnce(4, false);
  assert.deepEqual(a.losses, b.losses);
  for (const [k, v] of a.values) assert.deepEqual(v, b.values.get(k), k);
  assert.ok(a.losses.every(Number.isFinite));
  // the first step creates the Adam moments; after that the count must be flat
  assert.equal(a.counts[1], a.counts[2], `tensors after steps: ${a.counts.join(', ')}`);
  assert.equal(a.counts[2], a.counts[3], `tensors after steps: ${a.counts.join(', ')}`);
});

test('RMFM training masks: [CLS]/[SEP] kept, padding untouched, about half dropped, seeded', () => {
  const B = 64;
  const L = 20;
  const T = 30;
  const lens = Array.from({ length: B }, (_, b) => 5 + (b % 15));
  const tm = new Float32Array(B * L);
  lens.forEach((len, b) => tm.fill(1, b * L, b * L + len));
  const am = new Float32Array(B * T).fill(1);
  for (let b = 0; b < B; b++) am.fill(0, b * T + 25, (b + 1) * T);
  const k1 = rmfmTrainingMasks(new Rng(3), B, tm, lens, am, am);
  const k2 = rmfmTrainingMasks(new Rng(3), B, tm, lens, am, am);
  assert.deepEqual(k1, k2);
  let dropped = 0;
  let present = 0;
  for (let b = 0; b < B; b++) {
    assert.equal(k1.text[b * L], 1, '[CLS] kept');
    assert.equal(k1.text[b * L + lens[b] - 1], 1, '[SEP] kept');
    for (let l = lens[b]; l < L; l++) assert.equal(k1.text[b * L + l], 0, 'padding is not "kept"');
    for (let t = 25; t < T; t++) assert.equal(k1.audio[b * T + t], 0);
    for (let t = 0; t < 25; t++) {
      present++;
      dropped += 1 - k1.audio[b * T + t];
    }
  }
  const rate = dropped / present; // E[r] = 1/2
  assert.ok(rate > 0.45 && rate < 0.55, `drop rate ${rate}`);
  const k3 = rmfmTrainingMasks(new Rng(3), B, tm, lens, am, am);
  const k4 = rmfmTrainingMasks(new Rng(4), B, tm, lens, am, am);
  assert.deepEqual(k1.audio, k3.audio);
  assert.notDeepEqual(k3.audio, k4.audio);
});

test('inference: missing and counterfactual log-probs in chunks; eval confounders', async () => {
  await useBackend('wasm');
  const f = loadFixture('unaligned-3class');
  const model = modelOf(f);
  const r = await inferLogProbs(
    model,
    view(f, 'missing'),
    asTensor(f, 'input.text_cf') as tf.Tensor3D,
    confounders(f),
    3,
  );
  for (const [got, key] of [
    [r.missingView, 'out.test.pred_m'],
    [r.counterfactualView, 'out.test.cf_pred_m'],
  ] as const) {
    const d = compare(got, get(f, key).data as Float32Array);
    assert.ok(d.scaled < 2e-5, `${key}: ${d.maxAbs}`);
  }
  const dict = tf.tensor2d([1, 2, 3, 5, 7, 9], [2, 3]);
  const ev = evalConfounders(dict);
  assert.deepEqual(Array.from(ev.prior.dataSync()), [0.5, 0.5]);
  assert.deepEqual(Array.from(ev.dictionary.dataSync()), [3, 4.5, 6, 3, 4.5, 6]);
  const before = tf.memory().numTensors;
  await inferLogProbs(model, view(f, 'missing'), asTensor(f, 'input.text_cf') as tf.Tensor3D, confounders(f), 2);
  assert.ok(tf.memory().numTensors - before <= 2 * 8, 'only the view inputs built for the call remain');
  disposeParams(model.params);
});

test('checkpoints round-trip through safetensors with the reference names; bad files are named', async () => {
  await useBackend('wasm');
  const f = loadFixture('aligned-7class');
  const model = modelOf(f);
  const dir = mkdtempSync(path.join(tmpdir(), 'cider-ckpt-'));
  try {
    const file = path.join(dir, 'ckpt.safetensors');
    await saveParams(model.params, file, { step: '1' });
    const back = loadParams(f.config, file);
    assert.equal(back.params.size, model.params.size);
    for (const [k, v] of model.params) assert.deepEqual(back.params.get(k)!.dataSync(), v.dataSync(), k);
    disposeParams(back.params);
    const broken = new Map(f.tensors);
    broken.delete('weight.proj1.bias');
    assert.throws(
      () => paramsFromTensors(f.config, broken, { prefix: 'weight.', source: 'x.safetensors' }),
      (e: Error) => e instanceof WeightsError && /x\.safetensors: missing 1 .*proj1\.bias/.test(e.message),
    );
    const wrong = new Map(f.tensors);
    wrong.set('weight.proj1.bias', { dtype: 'F32', shape: [3], data: new Float32Array(3) });
    assert.throws(
      () => paramsFromTensors(f.config, wrong, { prefix: 'weight.' }),
      /proj1\.bias is \[3\], expected \[96\]/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
    disposeParams(model.params);
  }
});

test('shape errors at the model boundary say which input is wrong', async () => {
  await useBackend('wasm');
  const f = loadFixture('aligned-7class');
  const model = modelOf(f);
  const v = view(f, 'full');
  assert.throws(
    () => model.forward({ ...v, audio: tf.zeros([4, 12, 6]) as tf.Tensor3D }, confounders(f)),
    /audio \(B, Ta, da\): got shape \[4, 12, 6\], expected \[4, 12, 5\]/,
  );
  assert.throws(
    () => model.forward(v, { ...confounders(f), prior: tf.zeros([3]) as tf.Tensor1D }),
    /class prior \(C\)/,
  );
  disposeParams(model.params);
});

test('text-encoder hook: dropped tokens become [UNK], encoder variables train in the BERT group', async () => {
  await useBackend('wasm');
  const f = loadFixture('aligned-7class');
  const model = modelOf(f);
  const { dl, textLength: L } = f.config;
  const B = 4;
  const rng = new Rng(9);
  const V = 120;
  const emb = tf.variable(tf.randomNormal([V, dl], 0, 0.5, 'float32', 9));
  const ln = tf.variable(tf.ones([dl]));
  const encoder: TextEncoder = {
    variables: new Map([
      ['text_model.embeddings.word_embeddings.weight', emb],
      ['text_model.embeddings.LayerNorm.weight', ln],
    ]),
    // one-hot matmul rather than gather: gather's gradient kernel (UnsortedSegmentSum) is missing on wasm
    encode: (ids) =>
      tf.mul(
        tf.matMul(oneHotFloat(ids.reshape([-1]) as tf.Tensor1D, V), emb).reshape([ids.shape[0], ids.shape[1], dl]),
        ln,
      ) as tf.Tensor3D,
  };
  const idsArr = new Int32Array(B * L).map((_, i) =>
    i % L === 0 ? 101 : i % L === L - 1 ? 102 : (1000 % V) + (i % 7),
  );
  const ids = tf.tensor2d(idsArr, [B, L], 'int32');
  const keep = asTensor(f, 'input.text_keep') as tf.Tensor2D;
  const textMask = asTensor(f, 'input.text_mask') as tf.Tensor2D;
  const mIds = missingIds(ids, keep, textMask).dataSync();
  const keepArr = keep.dataSync();
  const maskArr = textMask.dataSync();
  assert.ok(
    Array.from(maskArr).some((m) => m < 0.5),
    'the fixture has padding',
  );
  // dropped valid tokens become [UNK]; padding stays padding
  for (let i = 0; i < B * L; i++) assert.equal(mIds[i], maskArr[i] > 0.5 && keepArr[i] <= 0.5 ? 100 : idsArr[i]);
  const batch = {
    ...fixtureBatch(f),
    text: encodedText(encoder, {
      ids,
      mask: asTensor(f, 'input.text_mask') as tf.Tensor2D,
      segments: tf.zerosLike(ids) as tf.Tensor2D,
    }),
  };
  const opt = new Adam({ groups: ciderParamGroups((n) => n.startsWith('text_model.')) });
  const embBefore = emb.dataSync().slice();
  const losses = trainStep(model, opt, batch, fixtureMasks(f), confounders(f), { rng });
  assert.ok(Number.isFinite(losses.total));
  assert.equal(opt.stepsOf('text_model.embeddings.word_embeddings.weight'), 2);
  assert.equal(opt.groupOf('text_model.embeddings.LayerNorm.weight').name, 'bert-no-decay');
  // row 100 ([UNK]) is only used by the missing view; it moved, by about the BERT lr
  const row = (a: ArrayLike<number>) => Array.from(a).slice(100 * dl, 101 * dl);
  const moved = row(emb.dataSync()).map((x, i) => Math.abs(x - row(embBefore)[i]));
  assert.ok(Math.max(...moved) > 0 && Math.max(...moved) < 2e-4, `UNK row moved by ${Math.max(...moved)}`);
  opt.dispose();
  tf.dispose([emb, ln, ids]);
  disposeParams(model.params);
});
