import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auilc, parseRates, standardRates, sweepCurves } from '../../../src/main/ml/eval/sweep';

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
  assert.ok(Math.abs(auilc(standardRates(), standardRates().map((r) => 0.9 - 0.4 * r)) - 0.7) < 1e-12);
  // non-uniform, unsorted: rates 0, 0.2, 1 with metrics 1, 0.5, 0
  // = 0.2 * (1 + 0.5) / 2 + 0.8 * (0.5 + 0) / 2 = 0.15 + 0.2 = 0.35
  assert.ok(Math.abs(auilc([1, 0, 0.2], [0, 1, 0.5]) - 0.35) < 1e-12);
  assert.throws(() => auilc([0, 0.5], [1, 1]), /rates must span \[0, 1\]/);
  assert.throws(() => auilc([0, 1], [1]), /metrics has 1 values but rates has 2/);
  assert.throws(() => auilc([0, 1], [1, NaN]), /metrics has NaN at rate 1/);
  assert.throws(() => auilc([0, 0, 1], [1, 1, 1]), /repeats rate 0/);
});

test('sweepCurves gives one curve per metric, with a null AUILC for partial sweeps', () => {
  const curves = sweepCurves([0, 1], [
    { Acc_7: 0.5, F1_7: 0.4 },
    { Acc_7: 0.3, F1_7: 0.2 },
  ]);
  // Acc_7: (0.5 + 0.3) / 2 = 0.4; F1_7: (0.4 + 0.2) / 2 = 0.3
  assert.ok(Math.abs(curves.Acc_7.auilc! - 0.4) < 1e-12);
  assert.ok(Math.abs(curves.F1_7.auilc! - 0.3) < 1e-12);
  assert.deepEqual(curves.Acc_7.values, [0.5, 0.3]);
  assert.equal(sweepCurves([0, 0.5], [{ m: 1 }, { m: 1 }]).m.auilc, null);
});
