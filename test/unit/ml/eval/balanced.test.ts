import { test } from 'node:test';
import assert from 'node:assert/strict';
import { balancedValidationWeights, biasStrengthOrder, describeBalanced } from '../../../../src/main/ml/eval/balanced';
import { biasDictionary, maciEvaluation } from '../../../../src/main/ml/eval/maci';
import { accuracy, classificationMetrics, weightedF1 } from '../../../../src/main/ml/eval/metrics';

/** (B, 3, L) text from per-sample ids, every position valid. */
function textBatch(rows: number[][]): Int32Array {
  const L = Math.max(...rows.map((r) => r.length));
  const out = new Int32Array(rows.length * 3 * L);
  rows.forEach((ids, b) => {
    out.set(ids, b * 3 * L);
    for (let t = 0; t < ids.length; t++) out[b * 3 * L + L + t] = 1;
  });
  return out;
}

// training split: word 2000 is a strong positive shortcut; 2001, 2002, 2004 even; 2011-2017 rare
const trainRows: number[][] = [];
const trainLabels: number[] = [];
for (let i = 0; i < 40; i++) {
  const y = i % 2 === 0 ? 2 : 0;
  trainRows.push([101, y === 2 || i % 10 === 1 ? 2000 : 2010 + (i % 8), i % 4 < 2 ? 2001 : 2004, 2002, 102]);
  trainLabels.push(y);
}
const dictionary = biasDictionary(textBatch(trainRows), 40, 5, { classes: trainLabels }, 3);

test('bias strength orders the dictionary by the chi-square of its class counts', () => {
  const order = biasStrengthOrder(dictionary);
  assert.equal(order[0], 2000, 'the shortcut is the strongest');
  assert.ok(!order.includes(2001), 'an even word is not in the dictionary');
  assert.ok(order.includes(2011), 'a rare one-class word is, weaker');
});

test('balanced weights make the shortcut carry no label information (no smoothing: exactly)', () => {
  // validation: 2000 present in 12 positives and 4 negatives, absent in 4 positives and 12 negatives
  const rows: number[][] = [];
  const labels: number[] = [];
  const add = (present: boolean, y: number, n: number) => {
    for (let i = 0; i < n; i++) {
      rows.push([101, present ? 2000 : 2003, 2002, 102]);
      labels.push(y);
    }
  };
  add(true, 2, 12);
  add(true, 0, 4);
  add(false, 2, 4);
  add(false, 0, 12);
  const b = balancedValidationWeights(textBatch(rows), 32, 4, labels, 3, dictionary, {
    minStratum: 8,
    smoothing: 0,
  });
  assert.deepEqual(b.words, [2000], '2002 is in every sample: it cannot split a stratum');
  assert.equal(b.strata.length, 2);
  // p(pos) = 1/2; in the "present" stratum p(pos | s) = 3/4 -> w = 2/3, p(neg | s) = 1/4 -> w = 2
  const present = b.strata.find((s) => s.present[0])!;
  assert.deepEqual(present.labelCounts, [4, 0, 12]);
  assert.ok(Math.abs(present.classWeights[2] / present.classWeights[0] - 1 / 3) < 1e-12);
  // weighted, the label distribution is the same in both strata
  for (const s of b.strata) {
    const pos = s.labelCounts[2] * s.classWeights[2];
    const neg = s.labelCounts[0] * s.classWeights[0];
    assert.ok(Math.abs(pos / (pos + neg) - 0.5) < 1e-12);
  }
  const sum = b.weights.reduce((a, w) => a + w, 0);
  assert.ok(Math.abs(sum - 32) < 1e-9, 'weights have mean 1');
  const sumSq = b.weights.reduce((a, w) => a + w * w, 0);
  assert.ok(Math.abs(b.effectiveSampleSize - (sum * sum) / sumSq) < 1e-9);
  // weights 2/3 and 2 (times a constant), 16 of each: (32)^2 / (16 * 4/9 + 16 * 4) * (mean-1 scaling) = 24
  assert.ok(Math.abs(b.effectiveSampleSize - 24) < 1e-9);
  assert.match(
    describeBalanced(b, (id) => `w${id}`),
    /2 strata by presence of w2000: .*effective sample size 24\.0 of 32/,
  );
});

test('a word that would leave a stratum below the minimum is not used; none left = one stratum, weight 1', () => {
  const rows = Array.from({ length: 30 }, (_, i) => [101, i < 3 ? 2000 : 2003, 102]);
  const labels = Array.from({ length: 30 }, (_, i) => (i % 2 ? 2 : 0));
  const b = balancedValidationWeights(textBatch(rows), 30, 3, labels, 3, dictionary, { minStratum: 5 });
  assert.deepEqual(b.words, []);
  assert.equal(b.strata.length, 1);
  assert.ok(b.weights.every((w) => Math.abs(w - 1) < 1e-12));
  assert.equal(b.effectiveSampleSize, 30);
  assert.match(describeBalanced(b), /one stratum \(the plain validation rule\)/);
});

test('bad input names the argument', () => {
  assert.throws(
    () => balancedValidationWeights(textBatch([[101, 102]]), 1, 2, [5], 3, dictionary),
    /labels\[0\].*must be a class in 0\.\.2, got 5/,
  );
  assert.throws(() => balancedValidationWeights(new Int32Array(5), 1, 2, [0], 3, dictionary), /text/);
});

test('sample weights: all ones change nothing; integer weights equal repeated samples', () => {
  const truth = [0, 0, 1, 2, 2, 1, 0];
  const pred = [0, 1, 1, 2, 0, 1, 2];
  const ones = truth.map(() => 1);
  assert.equal(accuracy(truth, pred, ones), accuracy(truth, pred));
  assert.equal(weightedF1(truth, pred, ones), weightedF1(truth, pred));
  const w = [1, 2, 1, 3, 1, 1, 2];
  const rep = (xs: number[]) => xs.flatMap((x, i) => new Array<number>(w[i]).fill(x));
  assert.ok(Math.abs(accuracy(truth, pred, w) - accuracy(rep(truth), rep(pred))) < 1e-12);
  assert.ok(Math.abs(weightedF1(truth, pred, w) - weightedF1(rep(truth), rep(pred))) < 1e-12);
  assert.throws(() => accuracy(truth, pred, [1, 2]), /weights.*7 samples/);
  assert.throws(() => accuracy(truth, pred, [1, 1, 1, -1, 1, 1, 1]), /weights\[3\]/);
  // Non0 metrics weigh only the non-neutral samples
  const scores = pred.flatMap((p) => [p === 0 ? 1 : 0, p === 1 ? 1 : 0, p === 2 ? 1 : 0]);
  const m = classificationMetrics(scores, 3, { classes: truth }, w);
  const non0 = truth.map((_, i) => i).filter((i) => truth[i] !== 1);
  const expected = accuracy(
    non0.map((i) => truth[i]),
    non0.map((i) => pred[i]),
    non0.map((i) => w[i]),
  );
  assert.equal((m.values as Record<string, number>).Non0_acc_2, expected);
});

test('maciEvaluation: the three rules side by side; the balanced rule needs its weights', () => {
  // validation: the missing view follows a shortcut; the counterfactual view is the shortcut alone.
  // Samples 0-5 agree with the shortcut (weakly in the missing view: debiasing flips them), 6-7
  // contradict it (label positive, shortcut says negative: debiasing fixes them).
  const lp = (pPos: number) => [Math.log(1 - pPos), Math.log(1e-6), Math.log(pPos)];
  const missing = [0.6, 0.6, 0.6, 0.4, 0.4, 0.4, 0.4, 0.4].flatMap(lp);
  const counterfactual = [0.9, 0.9, 0.9, 0.1, 0.1, 0.1, 0.1, 0.1].flatMap(lp);
  const truth = { classes: [2, 2, 2, 0, 0, 0, 2, 2] };
  const split = { missing, counterfactual, truth };
  assert.throws(
    () => maciEvaluation({ numClasses: 3, validation: split, test: split, tauRule: 'balanced' }),
    /balanced tau rule needs the validation weights/,
  );
  // weights that up-weight the contradicting samples, as the balanced rule would
  const weights = Float64Array.from([0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 3, 3]);
  const balanced = {
    rule: 'balanced' as const,
    weights,
    words: [2000],
    strata: [],
    n: 8,
    effectiveSampleSize: 4,
    minStratum: 1,
    maxWords: 4,
    smoothing: 0,
  };
  const e = maciEvaluation({ numClasses: 3, validation: split, test: split, balanced, tauRule: 'balanced' });
  assert.equal(e.tauRule, 'balanced');
  assert.equal(e.byRule.validation.tau, 0, 'unweighted, debiasing does not pay');
  assert.ok(e.byRule.balanced!.tau > 0, 'weighted, it does');
  assert.equal(e.selectedTau, e.byRule.balanced!.tau);
  assert.deepEqual(e.test, e.byRule.balanced!.test);
  assert.equal(e.balanced!.effectiveSampleSize, 4);
  assert.ok(!('weights' in e.balanced!), 'per-sample weights are not part of the result');
  const plain = maciEvaluation({ numClasses: 3, validation: split, test: split });
  assert.equal(plain.tauRule, 'validation');
  assert.equal(plain.byRule.balanced, null);
  assert.equal(plain.selectedTau, 0);
});
