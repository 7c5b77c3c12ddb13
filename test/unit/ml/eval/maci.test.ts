import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  REFERENCE_PROTOCOL_LABEL,
  biasDictionary,
  coefficientOfVariation,
  counterfactualText,
  debiasedScores,
  maciEvaluation,
  selectTau,
  tauGrid,
} from '../../../../src/main/ml/eval/maci';

/** (B, 3, L) text from per-sample ids and lengths; padding positions keep whatever ids are given. */
function textBatch(rows: number[][], lengths: number[]): Int32Array {
  const L = rows[0].length;
  const out = new Int32Array(rows.length * 3 * L);
  rows.forEach((ids, b) => {
    out.set(ids, b * 3 * L);
    for (let t = 0; t < lengths[b]; t++) out[b * 3 * L + L + t] = 1;
  });
  return out;
}

// Four training samples (L = 7). Junk ids in padding (2004) and [UNK] (100) must not be counted.
const rows = [
  [101, 2000, 2000, 2001, 2005, 102, 0], // class 0 negative
  [101, 2002, 2000, 102, 0, 0, 0], //       class 1 neutral
  [101, 2001, 2003, 2000, 2005, 102, 0], // class 2 positive
  [101, 2001, 2003, 100, 102, 2004, 2004], // class 2 positive, length 5
];
const train = textBatch(rows, [6, 4, 6, 5]);
const labels = { classes: [0, 1, 2, 2] };

test('3-class bias dictionary on a hand-counted split', () => {
  // counts (neg, neu, pos): 2000 (2,1,1) total 4; 2001 (1,0,2) total 3; 2003 (0,0,2) total 2;
  // 2005 (1,0,1); 2002 (0,1,0) seen only in neutral -> skipped (the reference would reuse a previous cv)
  // cv over (neg, pos), population std: 2000: mean 1.5, std 0.5 -> 1/3; 2001: 1/3; 2003: mean 1, std 1 -> 1;
  // 2005: std 0 -> cv 0 < 0.1, dropped
  const d = biasDictionary(train, 4, 7, labels, 3);
  assert.deepEqual(
    d.words.map((w) => [w.id, w.counts, w.total]),
    [
      [2000, [2, 1, 1], 4],
      [2001, [1, 0, 2], 3],
      [2003, [0, 0, 2], 2],
    ],
  );
  assert.ok(Math.abs(d.words[0].cv - 1 / 3) < 1e-15, 'ddof = 0: with ddof = 1 it would be 0.4714');
  assert.equal(d.words[2].cv, 1);
  assert.deepEqual(d.ids, [2000, 2001, 2003]);
  assert.equal(d.skippedNeutralOnly, 1);
  assert.equal(d.candidateCount, 5);
  // K = 2 keeps the two most frequent
  assert.deepEqual(biasDictionary(train, 4, 7, labels, 3, { size: 2 }).ids, [2000, 2001]);
  // regression truth gives the same dictionary: -1 -> 0, 0 -> 1, 0.5 -> 2, 2 -> 2
  assert.deepEqual(biasDictionary(train, 4, 7, { regression: [-1, 0, 0.5, 2] }, 3), d);
});

test('cv threshold is inclusive and frequency ties break by ascending id', () => {
  // word 600: 11 negative and 9 positive occurrences -> mean 10, std 1, cv exactly 0.1 -> kept;
  // word 601: 10 and 10 -> cv 0 -> dropped. Words 3001 and 2999 both total 2 -> 2999 ranks first.
  const L = 25;
  const neg = [101, ...new Array(11).fill(600), ...new Array(10).fill(601), 3001, 2999, 102];
  const pos = [101, ...new Array(9).fill(600), ...new Array(10).fill(601), 3001, 2999, 102, 0, 0];
  const d = biasDictionary(textBatch([neg, pos], [L, L - 2]), 2, L, { classes: [0, 2] }, 3);
  assert.deepEqual(
    d.words.map((w) => [w.id, w.total, w.cv]),
    [[600, 20, 0.1]],
  );
  // 2999 and 3001 occur once per class -> cv 0, so check the tie-break with minCv 0:
  // 600 and 601 both total 20 -> 600 first; 2999 and 3001 both total 2 -> 2999 first
  assert.deepEqual(
    biasDictionary(textBatch([neg, pos], [L, L - 2]), 2, L, { classes: [0, 2] }, 3, { minCv: 0 }).words.map(
      (w) => w.id,
    ),
    [600, 601, 2999, 3001],
  );
});

test('7-class dictionary uses all seven counts', () => {
  // word 500 once in classes 0, 3 and 6: counts (1,0,0,1,0,0,1), mean 3/7,
  // variance (3*(4/7)^2 + 4*(3/7)^2) / 7 = 84/343 = 12/49, std sqrt(12)/7, cv sqrt(12)/3 = 1.1547
  const t = textBatch(
    [
      [101, 500, 102],
      [101, 500, 102],
      [101, 500, 102],
    ],
    [3, 3, 3],
  );
  const d = biasDictionary(t, 3, 3, { classes: [0, 3, 6] }, 7);
  assert.deepEqual(d.words[0].counts, [1, 0, 0, 1, 0, 0, 1]);
  assert.ok(Math.abs(d.words[0].cv - Math.sqrt(12) / 3) < 1e-12);
  assert.ok(Math.abs(coefficientOfVariation([1, 0, 0, 1, 0, 0, 1]) - 1.1547005383792515) < 1e-12);
  assert.equal(d.skippedNeutralOnly, 0);
});

test('counterfactual text keeps special tokens and dictionary words, masks the rest, leaves padding', () => {
  const missingViewText = textBatch([[101, 2001, 2003, 100, 102, 2004, 2004]], [5]);
  const cf = counterfactualText(missingViewText, 1, 7, [2000, 2003]);
  // 2001 -> [MASK]; 2003 is a dictionary word; [UNK] from the missing view stays; padding junk stays
  assert.deepEqual(Array.from(cf.subarray(0, 7)), [101, 103, 2003, 100, 102, 2004, 2004]);
  assert.deepEqual(
    Array.from(cf.subarray(7)),
    Array.from(missingViewText.subarray(7)),
    'attention mask and segments unchanged',
  );
  const d = biasDictionary(train, 4, 7, labels, 3);
  assert.deepEqual(Array.from(counterfactualText(train, 4, 7, d).subarray(0, 7)), [101, 2000, 2000, 2001, 103, 102, 0]);
  assert.throws(() => counterfactualText(missingViewText, 2, 7, d), /text has 21 entries, expected 42/);
});

test('tau grid and debiased scores', () => {
  const taus = tauGrid();
  assert.equal(taus.length, 31);
  assert.equal(taus[3], 0.3);
  assert.equal(taus[30], 3);
  // [-1, -2, -0.8] - 1 * [-2, -3, -0.5] = [1, 1, -0.3]
  assert.deepEqual(Array.from(debiasedScores([-1, -2, -0.8], [-2, -3, -0.5], 1)), [1, 1, -0.8 + 0.5]);
  // tau 0 is exactly the missing view, even with -inf counterfactual log-probabilities
  assert.deepEqual(Array.from(debiasedScores([-1, -Infinity, -2], [-Infinity, -Infinity, 0], 0)), [-1, -Infinity, -2]);
  assert.throws(() => debiasedScores([-Infinity], [-Infinity], 0.5), /give NaN at flat index 0/);
});

// Validation (3-class), missing m and counterfactual c log-probabilities (neg, neu, pos):
//   v0 truth neg: m (-1, -2, -0.8), c (-2, -3, -0.5)
//      tau 0 -> pos (wrong); tau 1 -> (1, 1, -0.3) -> neg (first max) right; tau 2 -> (3, 4, 0.2) -> neu (wrong)
//   v1 truth pos: m (-1.5, -2, -0.5), c (-1, -2, -1.5)
//      tau 0 -> pos; tau 1 -> (-0.5, 0, 1) -> pos; tau 2 -> (0.5, 2, 2.5) -> pos
//   Non0_acc_2: tau 0: 1/2, tau 1: 2/2, tau 2: 1/2 -> tau 1 is selected
const validation = {
  missing: [-1, -2, -0.8, -1.5, -2, -0.5],
  counterfactual: [-2, -3, -0.5, -1, -2, -1.5],
  truth: { classes: [0, 2] },
};
// Test:
//   t0 truth neg: m (-0.5, -2, -1), c (-0.2, -3, -3)
//      tau 0 -> neg; tau 1 -> (-0.3, 1, 2) -> pos; tau 2 -> (-0.1, 4, 5) -> pos.  Has0 (neg vs pos): 0, 1, 1
//   t1 truth pos: m (-0.7, -2, -0.9), c (-0.5, -3, -2)
//      tau 0 -> neg; tau 1 -> (-0.2, 1, 1.1) -> pos; tau 2 -> (0.3, 4, 3.1) -> neu.    Has0: 0, 1, 1
//   t2 truth neu: m (-1, -0.5, -2), c (-1, -1, -1.6)
//      tau 0 -> neu; tau 1 -> (0, 0.5, -0.4) -> neu; tau 2 -> (1, 1.5, 1.2) -> neu.   Has0: 0, 0, 1
//   Non0_acc_2 (t0, t1): tau 0: 1/2, tau 1: 1/2, tau 2: 0
//   Acc_3: tau 0: 2/3 (t0, t2), tau 1: 2/3 (t1, t2), tau 2: 1/3 (t2)
//   Has0_acc_2 (truth 0, 1, 1): tau 0: 1/3 (t0), tau 1: 1/3 (t1), tau 2: 2/3 (t1, t2)
const testSplit = {
  missing: [-0.5, -2, -1, -0.7, -2, -0.9, -1, -0.5, -2],
  counterfactual: [-0.2, -3, -3, -0.5, -3, -2, -1, -1, -1.6],
  truth: { classes: [0, 2, 1] },
};

test('MACI: tau chosen on validation, applied to test; reference protocol beside it', () => {
  const r = maciEvaluation({ numClasses: 3, validation, test: testSplit, taus: [0, 1, 2] });
  assert.equal(r.selectionMetric, 'Non0_acc_2');
  assert.equal(r.selectedTau, 1);
  assert.deepEqual(r.validationCurve, [0.5, 1, 0.5]);
  assert.equal(r.validation.numClasses === 3 && r.validation.values.Non0_acc_2, 1);
  assert.ok(r.test.numClasses === 3);
  assert.equal(r.test.values.Non0_acc_2, 0.5);
  assert.equal(r.test.values.Acc_3, 2 / 3);
  assert.equal(r.test.values.Has0_acc_2, 1 / 3);
  assert.ok(r.testWithoutDebiasing.numClasses === 3);
  assert.deepEqual(r.testWithoutDebiasing.confusion.threeClass, [
    [1, 0, 0],
    [0, 1, 0],
    [1, 0, 0],
  ]);
  assert.deepEqual(r.testCurves.Acc_3, [2 / 3, 2 / 3, 1 / 3]);
  // reference protocol: each metric its own tau on TEST, smallest tau on ties
  assert.equal(r.referenceProtocol.label, REFERENCE_PROTOCOL_LABEL);
  assert.equal(REFERENCE_PROTOCOL_LABEL, 'reference protocol (max over tau on test)');
  assert.deepEqual(r.referenceProtocol.values.Non0_acc_2, { value: 0.5, tau: 0 });
  assert.deepEqual(r.referenceProtocol.values.Acc_3, { value: 2 / 3, tau: 0 });
  assert.deepEqual(r.referenceProtocol.values.Has0_acc_2, { value: 2 / 3, tau: 2 });
});

test('selectTau breaks ties by the smallest tau, whatever the grid order', () => {
  // one positive sample predicted positive at every tau: all taus tie at Non0_acc_2 = 1
  const split = { missing: [-2, -2, -0.1], counterfactual: [-1, -1, -1], truth: { classes: [2] } };
  assert.equal(selectTau(split, 3, [2, 0.5, 1]).tau, 0.5);
  assert.equal(selectTau(split, 3).tau, 0);
  assert.throws(() => selectTau(split, 3, []), /taus is empty/);
});

test("selectTau: the run's selection metric, ties broken by the validation loss (issue 15)", () => {
  // two samples, truth positive and neutral. The positive one has a uniform counterfactual, so its
  // prediction (and Non0_acc_2, which only counts it) is the same at every tau; the neutral one's
  // debiased scores move towards neutral as tau grows, so the loss falls with tau
  const split = {
    missing: [-3, -2, -0.2, -3, -0.9, -0.6],
    counterfactual: [-1, -1, -1, -1, -3, -1],
    truth: { classes: [2, 1] },
  };
  const taus = [0, 0.2, 0.4];
  const byMetric = selectTau(split, 3, taus);
  assert.equal(byMetric.selectionMetric, 'Non0_acc_2');
  assert.deepEqual(byMetric.curve, [1, 1, 1]);
  // the tie is broken by the lower loss, not by the smallest tau
  assert.equal(byMetric.tau, 0.4);
  const byLoss = selectTau(split, 3, taus, 'validation_loss');
  assert.equal(byLoss.tau, 0.4);
  assert.ok(byLoss.curve[0] > byLoss.curve[1] && byLoss.curve[1] > byLoss.curve[2], `losses ${byLoss.curve}`);
  // Acc_3: the neutral sample is wrong at tau 0 (argmax positive), right at 0.2 and 0.4; the tie
  // between 0.2 and 0.4 goes to the lower loss
  const byAcc3 = selectTau(split, 3, taus, 'Acc_3');
  assert.deepEqual(byAcc3.curve, [0.5, 1, 1]);
  assert.equal(byAcc3.tau, 0.4);
});

test('bad dictionary arguments are named', () => {
  assert.throws(
    () => biasDictionary(train, 4, 7, { classes: [0, 1] }, 3),
    /truth has 2 samples but scores have 4 rows/,
  );
  assert.throws(() => biasDictionary(train, 3, 7, labels, 3), /text has 84 entries, expected 63/);
  assert.throws(() => biasDictionary(train, 4, 7, labels, 5 as never), /numClasses must be 3 or 7/);
});
