import { test } from 'node:test';
import assert from 'node:assert/strict';
import { missingMasks } from '../../../../src/main/ml/eval/missing';
import { auilc, parseRates, runMissingSweep, standardRates, sweepCurves } from '../../../../src/main/ml/eval/sweep';

test('standard rates are exactly 0.0, 0.1, ..., 1.0', () => {
  assert.deepEqual(standardRates(), [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1]);
});

test('parseRates: start:stop:step is inclusive and float-safe', () => {
  // (1 - 0) / 0.1 = 10.000000000000002 -> 10 steps, 11 rates; 3 * 0.1 prints as 0.3
  assert.deepEqual(parseRates('0:1:0.1'), standardRates());
  assert.deepEqual(parseRates(' 0 : 1 : 0.1 '), standardRates());
  // 0.7 / 0.1 = 6.999999999999999 must still count 7 steps
  assert.deepEqual(parseRates('0:0.7:0.1'), [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]);
  // stop off the grid: the last rate is the last grid point below it
  assert.deepEqual(parseRates('0:1:0.3'), [0, 0.3, 0.6, 0.9]);
  assert.deepEqual(parseRates('0.2:0.2:0.1'), [0.2]);
  assert.deepEqual(parseRates('0:1:0.05').length, 21);
  assert.deepEqual(parseRates('1,0,0.25'), [0, 0.25, 1]);
  assert.deepEqual(parseRates('0.5'), [0.5]);
});

test('parseRates names what is wrong', () => {
  assert.throws(() => parseRates(''), /spec is empty/);
  assert.throws(() => parseRates('0:1'), /start:stop:step/);
  assert.throws(() => parseRates('0:1:0'), /step 0; it must be > 0/);
  assert.throws(() => parseRates('1:0:0.1'), /stop 0 below start 1/);
  assert.throws(() => parseRates('0:x:0.1'), /stop "x" that is not a number/);
  assert.throws(() => parseRates('0:2:0.5'), /rate 1.5 outside \[0, 1\]/);
  assert.throws(() => parseRates('0.1,0.1'), /repeats rate 0.1/);
});

test('AUILC is the trapezoidal area over [0, 1], also for non-uniform rates', () => {
  // constant 0.8 -> 0.8
  assert.equal(auilc([0, 0.5, 1], [0.8, 0.8, 0.8]), 0.8);
  // straight line from 0.9 at 0 to 0.5 at 1 -> (0.9 + 0.5) / 2 = 0.7
  assert.ok(
    Math.abs(
      auilc(
        standardRates(),
        standardRates().map((r) => 0.9 - 0.4 * r),
      ) - 0.7,
    ) < 1e-12,
  );
  // non-uniform, unsorted: rates 0, 0.2, 1 with metrics 1, 0.5, 0
  // = 0.2 * (1 + 0.5) / 2 + 0.8 * (0.5 + 0) / 2 = 0.15 + 0.2 = 0.35
  assert.ok(Math.abs(auilc([1, 0, 0.2], [0, 1, 0.5]) - 0.35) < 1e-12);
  assert.throws(() => auilc([0, 0.5], [1, 1]), /rates must span \[0, 1\]/);
  assert.throws(() => auilc([0, 1], [1]), /metrics has 1 values but rates has 2/);
  assert.throws(() => auilc([0, 1], [1, NaN]), /metrics has NaN at rate 1/);
  assert.throws(() => auilc([0, 0, 1], [1, 1, 1]), /repeats rate 0/);
});

test('sweepCurves gives one curve per metric, with a null AUILC for partial sweeps', () => {
  const curves = sweepCurves(
    [0, 1],
    [
      { Acc_7: 0.5, F1_7: 0.4 },
      { Acc_7: 0.3, F1_7: 0.2 },
    ],
  );
  // Acc_7: (0.5 + 0.3) / 2 = 0.4; F1_7: (0.4 + 0.2) / 2 = 0.3
  assert.ok(Math.abs(curves.Acc_7.auilc! - 0.4) < 1e-12);
  assert.ok(Math.abs(curves.F1_7.auilc! - 0.3) < 1e-12);
  assert.deepEqual(curves.Acc_7.values, [0.5, 0.3]);
  assert.equal(sweepCurves([0, 0.5], [{ m: 1 }, { m: 1 }]).m.auilc, null);
});

test('runMissingSweep scores each rate of a seeded protocol and summarises with AUILC', async () => {
  // 50 aligned samples of length 6 (4 droppable text tokens), all positive. The stand-in "model"
  // is right exactly when the sample's text is complete, so accuracy falls from 1 at rate 0 to 0 at rate 1.
  const layout = {
    batch: 50,
    textSteps: 8,
    audioSteps: 8,
    visionSteps: 8,
    textLengths: new Array(50).fill(6),
    aligned: true,
  };
  const predict = (keep: { text: Uint8Array }) => {
    const scores = new Float32Array(50 * 3);
    for (let b = 0; b < 50; b++) {
      const complete = keep.text.subarray(b * 8, b * 8 + 6).every((k) => k === 1);
      scores[b * 3 + (complete ? 2 : 0)] = 1;
    }
    return scores;
  };
  const seen: number[] = [];
  const result = await runMissingSweep({
    protocol: 'RMFM',
    rates: [1, 0, 0.5],
    layout,
    numClasses: 3,
    truth: { classes: new Array(50).fill(2) },
    predict,
    onProgress: (done, total, point) => seen.push(done / total, point.rate),
  });
  assert.deepEqual(result.rates, [0, 0.5, 1]);
  assert.equal(result.seed, 1111);
  assert.deepEqual(seen, [1 / 3, 0, 2 / 3, 0.5, 1, 1]);
  const acc = result.curves.Non0_acc_2!;
  assert.equal(acc.values[0], 1);
  assert.equal(acc.values[2], 0);
  // the middle value is the share of samples whose 4 tokens all survive rate 0.5, recomputed from the masks
  const mid = missingMasks(layout, { kind: 'RMFM', rate: 0.5 }, 1111);
  let complete = 0;
  for (let b = 0; b < 50; b++) if (mid.text.subarray(b * 8, b * 8 + 6).every((k) => k === 1)) complete++;
  assert.equal(acc.values[1], complete / 50);
  // trapezoid over 0, 0.5, 1: 0.5 * (1 + m) / 2 + 0.5 * (m + 0) / 2 = 0.25 + 0.5 m
  assert.ok(Math.abs(acc.auilc! - (0.25 + 0.5 * (complete / 50))) < 1e-12);
  const controller = new AbortController();
  controller.abort();
  await assert.rejects(
    runMissingSweep({
      protocol: 'RMFM',
      rates: [0],
      layout,
      numClasses: 3,
      truth: { classes: new Array(50).fill(2) },
      predict,
      signal: controller.signal,
    }),
  );
});
