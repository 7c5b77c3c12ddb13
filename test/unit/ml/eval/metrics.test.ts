import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  classLabelsFromRegression,
  roundHalfToEven,
  sevenClassLabel,
  threeClassLabel,
} from '../../../../src/main/ml/eval/labels';
import {
  accuracy,
  classificationMetrics,
  confusionMatrix,
  predictClasses,
  selectionMetric,
  selectionMetricName,
  sevenClassMetrics,
  threeClassMetrics,
  weightedF1,
} from '../../../../src/main/ml/eval/metrics';

const close = (actual: number, expected: number, what: string) =>
  assert.ok(Math.abs(actual - expected) < 1e-12, `${what}: ${actual} != ${expected}`);

test('roundHalfToEven matches Python round / numpy.round on halves', () => {
  // Python: [round(x) for x in (0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.4, 0.6, -0.6)] == [0, 2, 2, 0, -2, -2, 0, 1, -1]
  const xs = [0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.4, 0.6, -0.6];
  const expected = [0, 2, 2, 0, -2, -2, 0, 1, -1];
  assert.deepEqual(
    xs.map((x) => roundHalfToEven(x) + 0),
    expected,
  );
  // float32(0.5000001) is above the half and rounds up even though it prints close to 0.5
  assert.equal(roundHalfToEven(Math.fround(0.5000001)), 1);
});

test('3-class and 7-class labels from regression scores', () => {
  assert.deepEqual([-0.2, 0, -0, 0.2, -3, 3].map(threeClassLabel), [0, 1, 1, 2, 0, 2]);
  // 7-class = round(clip(s, -3, 3)) + 3 with banker's rounding:
  // -3 -> 0; -2.5 -> -2 -> 1; -0.5 -> -0 -> 3; 0.5 -> 0 -> 3 (Math.round would give 4);
  // 1.5 -> 2 -> 5; 2.5 -> 2 -> 5 (Math.round would give 6); 3.4 -> clip 3 -> 6; -3.6 -> clip -3 -> 0
  assert.deepEqual([-3, -2.5, -0.5, 0.5, 1.5, 2.5, 3.4, -3.6].map(sevenClassLabel), [0, 1, 3, 3, 5, 5, 6, 0]);
  assert.deepEqual(Array.from(classLabelsFromRegression(new Float32Array([-1, 0, 0.5]), 3)), [0, 1, 2]);
  assert.throws(() => classLabelsFromRegression([0, NaN], 7), /scores\[1\] is NaN/);
});

// Eight samples, truth and scores (negative, neutral, positive):
//   i  truth  scores            pred3  has0 pred (neg vs pos score)
//   0  0      .7 .2 .1          0      0
//   1  0      .2 .5 .3          1      1 (.2 < .3)
//   2  0      .1 .2 .7          2      1
//   3  1      .3 .6 .1          1      0 (.3 > .1)
//   4  1      .1 .3 .6          2      1
//   5  2      .1 .1 .8          2      1
//   6  2      .2 .6 .2          1      0 (tie .2 = .2 -> first, negative, like numpy.argmax)
//   7  2      .5 .3 .2          0      0
const scores8 = [
  0.7, 0.2, 0.1, 0.2, 0.5, 0.3, 0.1, 0.2, 0.7, 0.3, 0.6, 0.1, 0.1, 0.3, 0.6, 0.1, 0.1, 0.8, 0.2, 0.6, 0.2, 0.5, 0.3,
  0.2,
];
const truth8 = [0, 0, 0, 1, 1, 2, 2, 2];

test('3-class metrics on a hand-computed case', () => {
  const m = threeClassMetrics(new Float32Array(scores8), { classes: truth8 });
  assert.equal(m.n, 8);
  assert.equal(m.nonNeutralCount, 6);
  // Acc_3: hits at i0, i3, i5 -> 3/8
  close(m.values.Acc_3, 3 / 8, 'Acc_3');
  // F1 per class = 2tp / (2tp + fp + fn):
  //   class 0: tp 1 (i0), fp 1 (i7), fn 2 (i1, i2) -> 2/5, support 3
  //   class 1: tp 1 (i3), fp 2 (i1, i6), fn 1 (i4)  -> 2/5, support 2
  //   class 2: tp 1 (i5), fp 2 (i2, i4), fn 2 (i6, i7) -> 2/6, support 3
  //   weighted: (3*2/5 + 2*2/5 + 3*2/6) / 8 = (1.2 + 0.8 + 1) / 8 = 0.375
  close(m.values.F1_3, 0.375, 'F1_3');
  // Has0: truth 0 0 0 1 1 1 1 1, prediction 0 1 1 0 1 1 0 0 -> hits i0, i4, i5 -> 3/8
  close(m.values.Has0_acc_2, 3 / 8, 'Has0_acc_2');
  //   class 0: tp 1, fp 3 (i3, i6, i7), fn 2 (i1, i2) -> 2/7, support 3
  //   class 1: tp 2 (i4, i5), fp 2 (i1, i2), fn 3 (i3, i6, i7) -> 4/9, support 5
  //   weighted: (3*2/7 + 5*4/9) / 8 = (54/63 + 140/63) / 8 = 194/504
  close(m.values.Has0_F1, 194 / 504, 'Has0_F1');
  // Non0: drop i3, i4. (truth, pred3): (0,0) (0,1) (0,2) (2,2) (2,1) (2,0) -> 2 hits / 6
  close(m.values.Non0_acc_2, 2 / 6, 'Non0_acc_2');
  //   class 0: tp 1, fp 1 (i7), fn 2 -> 2/5, support 3; class 2: tp 1, fp 1 (i2), fn 2 -> 2/5, support 3
  //   class 1 (predicted neutral, i1 and i6): support 0, weight 0 -> (3*2/5 + 3*2/5) / 6 = 0.4
  close(m.values.Non0_F1, 0.4, 'Non0_F1');
  assert.deepEqual(m.confusion.threeClass, [
    [1, 1, 1],
    [0, 1, 1],
    [1, 1, 1],
  ]);
  assert.deepEqual(m.confusion.has0, [
    [1, 2],
    [3, 2],
  ]);
  assert.deepEqual(m.confusion.non0, [
    [1, 1, 1],
    [1, 1, 1],
  ]);
  assert.equal(selectionMetricName(3), 'Non0_acc_2');
  close(selectionMetric(m), 2 / 6, 'selection');
});

test('Non0: a neutral prediction is an error and a false negative of the true class only', () => {
  // truth negative, positive; predictions neutral, positive
  const m = threeClassMetrics([0, 1, 0, 0, 0, 1], { classes: [0, 2] });
  // accuracy 1/2; F1: class 0 tp 0 -> 0 (support 1); class 2 tp 1 fp 0 fn 0 -> 1 (support 1) -> 0.5.
  // (Had the neutral prediction been read as "positive", class 2 would have fp 1 -> 2/3, F1 1/3.)
  close(m.values.Non0_acc_2, 0.5, 'Non0_acc_2');
  close(m.values.Non0_F1, 0.5, 'Non0_F1');
});

test('Non0 metrics are NaN when every truth is neutral', () => {
  const m = threeClassMetrics([0, 1, 0], { classes: [1] });
  assert.ok(Number.isNaN(m.values.Non0_acc_2) && Number.isNaN(m.values.Non0_F1));
  close(m.values.Acc_3, 1, 'Acc_3');
});

test('truth given as regression scores gives the same 3-class metrics', () => {
  const a = threeClassMetrics(scores8, { classes: truth8 });
  const b = threeClassMetrics(scores8, { regression: [-1.2, -0.4, -3, 0, 0, 0.2, 1.8, 3] });
  assert.deepEqual(a, b);
});

test("7-class metrics on a hand-computed case, truth from regression with banker's rounding", () => {
  // truth scores -> labels: -3->0, -2.5->1, -0.5->3, 0.5->3, 1.5->5, 2.5->5, 3.4->6, 0.4->3
  const regression = [-3, -2.5, -0.5, 0.5, 1.5, 2.5, 3.4, 0.4];
  const predicted = [0, 1, 3, 4, 5, 6, 6, 2];
  const scores = new Float64Array(8 * 7).fill(-5);
  predicted.forEach((c, i) => (scores[i * 7 + c] = -0.1));
  const m = sevenClassMetrics(scores, { regression });
  // hits i0, i1, i2, i4, i6 -> 5/8
  close(m.values.Acc_7, 5 / 8, 'Acc_7');
  // class 0: 1 (support 1); class 1: 1 (support 1); class 3: tp 1, fn 2 -> 2/4 (support 3);
  // class 5: tp 1, fn 1 -> 2/3 (support 2); class 6: tp 1, fp 1 -> 2/3 (support 1); classes 2, 4: support 0.
  // weighted: (1 + 1 + 3*1/2 + 2*2/3 + 2/3) / 8 = 5.5 / 8
  close(m.values.F1_7, 5.5 / 8, 'F1_7');
  assert.equal(m.confusion.sevenClass[3][4], 1);
  assert.equal(m.confusion.sevenClass[3][2], 1);
  assert.equal(m.confusion.sevenClass[5][6], 1);
  assert.equal(selectionMetricName(7), 'Acc_7');
  assert.equal(classificationMetrics(scores, 7, { regression }).numClasses, 7);
});

test('weightedF1 follows sklearn zero_division=0 for a class never predicted', () => {
  // sklearn f1_score([0,0,1,1], [0,0,0,0], average='weighted', zero_division=0):
  // class 0: tp 2, fp 2 -> 4/6; class 1: never predicted -> 0; (2*4/6 + 2*0)/4 = 1/3
  close(weightedF1([0, 0, 1, 1], [0, 0, 0, 0]), 1 / 3, 'F1');
  close(accuracy([0, 0, 1, 1], [0, 0, 0, 0]), 0.5, 'acc');
  assert.ok(Number.isNaN(weightedF1([], [])));
});

test('argmax takes the first maximum and -Infinity log-probabilities are fine', () => {
  assert.deepEqual(Array.from(predictClasses([0, 0, 0, -Infinity, -1, -1], 3)), [0, 1]);
});

test('bad arguments are named', () => {
  assert.throws(
    () => threeClassMetrics([0, 1], { classes: [0] }),
    /scores has 2 entries, not a multiple of numClasses=3/,
  );
  assert.throws(() => threeClassMetrics([0, 1, 0], { classes: [0, 1] }), /truth has 2 samples but scores have 1 rows/);
  assert.throws(
    () => threeClassMetrics([0, 1, 0], { classes: [3] }),
    /truth.classes\[0\] must be an integer class in 0..2/,
  );
  assert.throws(() => threeClassMetrics([0, NaN, 0], { classes: [0] }), /scores has NaN at row 0, column 1/);
  assert.throws(() => confusionMatrix([0], [5], 3), /prediction\[0\]/);
});
