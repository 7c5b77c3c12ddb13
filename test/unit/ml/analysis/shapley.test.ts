/**
 * Exact modality Shapley values on a tiny trained CIDer: they sum to f(all) - f(none) for every
 * class, and equal a brute-force permutation average over all 3! orders whose coalition values
 * come from a separate path (runs/predict.ts over the whole test split with SMM-style keep masks,
 * batched differently). Also the counterfactual view of a frozen-BERT run, and no tensor leaks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { useBackend, tf } from '../../../../src/main/ml/backends/tf';
import { runTraining } from '../../../../src/main/ml/runs/train';
import { RunAnalyzer } from '../../../../src/main/ml/analysis/analyzer';
import { exactShapley, coalitionName } from '../../../../src/main/ml/analysis/shapley';
import { FeatureStore } from '../../../../src/main/data/featureStore';
import { openSplit, splitLayout } from '../../../../src/main/ml/runs/data';
import { predictSplit } from '../../../../src/main/ml/runs/predict';
import { missingMasks } from '../../../../src/main/ml/eval/missing';
import { trainingOptionsSchema } from '../../../../src/shared/contract/training';
import { tempDir } from '../../../helpers/datasets';
import { TINY_MODEL, writeSyntheticStore, writeTinyBaseCompatibleBert } from '../../../helpers/syntheticRuns';

const PERMS = [
  [0, 1, 2],
  [0, 2, 1],
  [1, 0, 2],
  [1, 2, 0],
  [2, 0, 1],
  [2, 1, 0],
];

/** phi_m = mean over the 6 orders of v(players before m, plus m) - v(players before m). */
function bruteForceShapley(v: (mask: number) => number[]): number[][] {
  const K = v(0).length;
  const phi = [0, 1, 2].map(() => new Array<number>(K).fill(0));
  for (const order of PERMS) {
    let S = 0;
    for (const m of order) {
      const before = v(S);
      S |= 1 << m;
      const after = v(S);
      for (let k = 0; k < K; k++) phi[m][k] += (after[k] - before[k]) / PERMS.length;
    }
  }
  return phi;
}

test('exactShapley on a known game: additive parts go to their player, an interaction is split evenly', () => {
  // v(S) = 1*[T] + 2*[A] + 3*[V] + 6*[T and V]
  const v = (S: number) => [(S & 1 ? 1 : 0) + (S & 2 ? 2 : 0) + (S & 4 ? 3 : 0) + (S & 1 && S & 4 ? 6 : 0)];
  const phi = exactShapley(Array.from({ length: 8 }, (_, S) => v(S)));
  [4, 2, 6].forEach((want, m) => assert.ok(Math.abs(phi[m][0] - want) < 1e-12, `player ${m}: ${phi[m][0]}`));
  const brute = bruteForceShapley(v);
  for (let m = 0; m < 3; m++) assert.ok(Math.abs(brute[m][0] - phi[m][0]) < 1e-12);
  assert.equal(coalitionName(5), 'TV');
});

test('modality Shapley values of a trained run: efficiency and brute force over independently computed coalitions', async () => {
  await useBackend('wasm');
  const tmp = tempDir('cider-shapley-');
  try {
    // unaligned, so WSAM maps are produced too
    const { dir } = await writeSyntheticStore(path.join(tmp.dir, 'ds'), {
      sizes: { train: 24, valid: 8, test: 10 },
      aligned: false,
    });
    const options = trainingOptionsSchema.parse({
      batchSize: 12,
      maxEpochs: 1,
      model: TINY_MODEL,
    });
    const r = await runTraining({
      datasetDir: dir,
      runDir: path.join(tmp.dir, 'run'),
      options,
    });
    const a = await RunAnalyzer.open({
      checkpointFile: r.bestCheckpoint!,
      datasetDir: dir,
    });
    const before = tf.memory().numTensors;
    const index = 3;
    const s = await a.datasetSample(dir, 'test', index);
    const x = await a.explain(s, { mode: 'complete' });
    assert.equal(tf.memory().numTensors, before, 'explain leaks no tensor');

    const C = 3;
    assert.ok(Math.abs(x.probabilities.reduce((p, q) => p + q, 0) - 1) < 1e-5);
    // efficiency: the three values sum to f(all) - f(none), per class
    for (let c = 0; c < C; c++) {
      const sum = x.shapley.text[c] + x.shapley.audio[c] + x.shapley.vision[c];
      assert.ok(Math.abs(sum - (x.subsets.TAV[c] - x.subsets[''][c])) < 1e-6, `class ${c}: ${sum}`);
    }

    // coalition values from another path: the whole test split, SMM-style masks, evaluation batching
    const store = await FeatureStore.open(dir);
    const test = await openSplit(store, 'test', 3);
    const values: number[][] = [];
    for (let S = 0; S < 8; S++) {
      const keep = missingMasks(splitLayout(test), {
        kind: 'RMFM_same',
        rates: {
          text: S & 1 ? 0 : 1,
          audio: S & 2 ? 0 : 1,
          vision: S & 4 ? 0 : 1,
        },
      });
      const pred = await predictSplit(a.run.engine, test, a.text, a.run.conf, {
        batchSize: 4,
        keep,
      });
      values.push(Array.from(pred.logProbs.subarray(index * C, (index + 1) * C), Math.exp));
    }
    await store.close();
    for (let S = 0; S < 8; S++) {
      const name = coalitionName(S);
      for (let c = 0; c < C; c++)
        assert.ok(
          Math.abs(values[S][c] - x.subsets[name][c]) < 1e-5,
          `coalition ${name || '{}'} class ${c}: ${values[S][c]} vs ${x.subsets[name][c]}`,
        );
    }
    const brute = bruteForceShapley((S) => values[S]);
    const m = ['text', 'audio', 'vision'] as const;
    for (let p = 0; p < 3; p++)
      for (let c = 0; c < C; c++) assert.ok(Math.abs(brute[p][c] - x.shapley[m[p]][c]) < 1e-5, `${m[p]} class ${c}`);

    // attention summary rows are shares of the full softmax, WSAM rows are distributions over valid frames
    for (const row of x.attention.segments)
      assert.ok(Math.abs(row.reduce((p, q) => p + q, 0) - 1) < 1e-3 || row.reduce((p, q) => p + q, 0) < 1);
    assert.equal(x.attention.words.length, s.textLength);
    assert.ok(x.wsam);
    assert.equal(x.wsam.audio.length, s.textLength - 2);
    for (const row of x.wsam.audio) assert.ok(Math.abs(row.reduce((p, q) => p + q, 0) - 1) < 1e-3);
    assert.equal(x.wsam.audio[0].length, s.audioLength);

    // the simulator: text off drops every droppable token, and efficiency still holds
    const off = await a.explain(s, {
      mode: 'toggles',
      text: false,
      audio: true,
      vision: true,
    });
    assert.equal(off.dropped.text, 1);
    assert.ok(off.tokens.slice(1, -1).every((t) => t.dropped));
    assert.deepEqual(off.probabilities, off.subsets.TAV);
    const sum0 = off.shapley.text[0] + off.shapley.audio[0] + off.shapley.vision[0];
    assert.ok(Math.abs(sum0 - (off.subsets.TAV[0] - off.subsets[''][0])) < 1e-6);
    assert.ok(Math.abs(off.shapley.text[0]) < 1e-6, 'a modality already missing contributes nothing');
    a.dispose();
  } finally {
    tmp.cleanup();
  }
});

test('counterfactual view of a frozen-BERT run: automatic text keeps bias words, an edit changes the counterfactual prediction', async () => {
  await useBackend('wasm');
  const tmp = tempDir('cider-cf-');
  const bert = writeTinyBaseCompatibleBert();
  try {
    const { dir } = await writeSyntheticStore(path.join(tmp.dir, 'ds'), {
      sizes: { train: 24, valid: 6, test: 6 },
    });
    const options = trainingOptionsSchema.parse({
      batchSize: 12,
      maxEpochs: 1,
      model: TINY_MODEL,
      text: { kind: 'frozen', modelDir: bert.dir },
    });
    const r = await runTraining({
      datasetDir: dir,
      runDir: path.join(tmp.dir, 'run'),
      options,
      cacheDir: path.join(tmp.dir, 'c'),
    });
    const a = await RunAnalyzer.open({
      checkpointFile: r.bestCheckpoint!,
      datasetDir: dir,
      cacheDir: path.join(tmp.dir, 'c'),
    });
    const s = await a.datasetSample(dir, 'test', 0);
    const auto = await a.counterfactual(s, { mode: 'complete' });
    assert.ok(auto.available);
    // every position keeps its id when it is special or a bias word, and is [MASK] otherwise
    const ids = Array.from(s.ids3.subarray(0, s.textLength));
    auto.automatic.forEach((t, i) =>
      assert.equal(t.id, t.special || a.dictionary.ids.includes(ids[i]) ? ids[i] : 103, `position ${i}`),
    );
    assert.equal(auto.debiased.length, 31);
    assert.equal(
      auto.debiased[0].prediction,
      auto.factual.indexOf(Math.max(...auto.factual)),
      'tau 0 is the plain prediction',
    );
    const edited = [101, 104, 105, 104, 102];
    const e = await a.counterfactual(s, { mode: 'complete' }, edited);
    assert.deepEqual(
      e.scored.map((t) => t.id),
      edited,
    );
    assert.deepEqual(e.factual, auto.factual);
    assert.notDeepEqual(e.counterfactual, auto.counterfactual);
    a.dispose();
  } finally {
    bert.cleanup();
    tmp.cleanup();
  }
});
