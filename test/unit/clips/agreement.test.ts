import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cohenKappa, fleissKappa, krippendorffAlpha, projectAgreement } from '../../../src/main/clips/agreement';
import type { Annotation } from '../../../src/shared/clips';

// Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", the 4 observers x 12 units
// example with missing values: nominal alpha 0.743, interval alpha 0.849.
const _ = null;
const observers = [
  [1, 2, 3, 3, 2, 1, 4, 1, 2, _, _, _],
  [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, _, 3],
  [_, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, _],
  [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, _],
];
const units = observers[0].map((_v, u) => observers.map((o) => o[u]));

test("Krippendorff's alpha matches the textbook example (interval 0.849, nominal 0.743)", () => {
  assert.equal(krippendorffAlpha(units, 'interval')!.toFixed(3), '0.849');
  assert.equal(krippendorffAlpha(units, 'nominal')!.toFixed(3), '0.743');
});

test("Krippendorff's alpha: perfect agreement is 1, no pairable values or no variation is undefined", () => {
  assert.equal(
    krippendorffAlpha([
      [1, 1],
      [2, 2],
      [-3, -3],
    ]),
    1,
  );
  assert.equal(
    krippendorffAlpha([
      [1, null],
      [2, null],
    ]),
    null,
  );
  assert.equal(
    krippendorffAlpha([
      [0, 0],
      [0, 0],
    ]),
    null,
  );
});

test("Cohen's kappa: 50 items, 20 yes/yes, 5 yes/no, 10 no/yes, 15 no/no -> 0.4", () => {
  const a = [...Array(20).fill(1), ...Array(5).fill(1), ...Array(10).fill(0), ...Array(15).fill(0)];
  const b = [...Array(20).fill(1), ...Array(5).fill(0), ...Array(10).fill(1), ...Array(15).fill(0)];
  assert.equal(cohenKappa(a, b)!.toFixed(4), '0.4000');
  assert.equal(cohenKappa([1, 1], [1, 1]), null, 'one category only: chance agreement is 1, kappa undefined');
});

test("Fleiss' kappa: the 10 subjects x 14 raters x 5 categories example -> 0.210", () => {
  const table = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
  ];
  assert.equal(fleissKappa(table)!.toFixed(3), '0.210');
  assert.throws(
    () =>
      fleissKappa([
        [1, 1],
        [2, 1],
      ]),
    /same number of ratings/,
  );
});

test('project agreement: per clip and per project, Cohen with two annotators, Fleiss with three', () => {
  const ann = (clipId: number, annotatorId: number, score: number, segment = -1): Annotation => ({
    clipId,
    annotatorId,
    segment,
    score,
    note: '',
    correction: null,
    updatedAt: '',
  });
  const two = [ann(1, 1, 2), ann(1, 2, 1.5), ann(2, 1, -1), ann(2, 2, -2), ann(3, 1, 0), ann(3, 2, 0.4)];
  const annotators = [
    { id: 1, projectId: 1, name: 'ann' },
    { id: 2, projectId: 1, name: 'bob' },
  ];
  const p = projectAgreement(two, annotators);
  assert.equal(p.units, 3);
  assert.equal(p.kappa3?.method, 'cohen');
  // classes (2,2), (0,0), (1,2): po = 2/3, pe = (1/3)(2/3) + (1/3)(1/3) + (1/3)(0) = 1/3 -> kappa 0.5
  assert.equal(p.kappa3!.value!.toFixed(4), '0.5000');
  const c1 = p.clips.find((c) => c.clipId === 1)!;
  assert.equal(c1.meanScore, 1.75);
  assert.equal(c1.scoreRange, 0.5);
  assert.equal(c1.pairAgreement3, 1);
  assert.equal(c1.pairAgreement7, 1, '2 -> 5 and 1.5 -> round-half-even 2 -> 5');
  // interval alpha against the direct formula on the same three units
  assert.equal(
    p.alphaInterval,
    krippendorffAlpha([
      [2, 1.5],
      [-1, -2],
      [0, 0.4],
    ]),
  );
  const three = [...two, ann(1, 3, 3), ann(2, 3, -1), ann(3, 3, 1)];
  const q = projectAgreement(three, [...annotators, { id: 3, projectId: 1, name: 'cy' }]);
  assert.equal(q.kappa3?.method, 'fleiss');
  assert.equal(q.kappa3?.units, 3);
});
