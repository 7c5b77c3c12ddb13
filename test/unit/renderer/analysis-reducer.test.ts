import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  analysisReducer,
  applyEdit,
  debiasedAt,
  initialAnalysis,
  robustnessCharts,
} from '../../../src/renderer/src/state/analysis';
import type { CounterfactualResult, RobustnessSweep } from '../../../src/shared/contract/analysis';

const tok = (id: number) => ({
  position: 0,
  id,
  token: `#${id}`,
  special: id >= 100 && id <= 103,
  bias: false,
  dropped: false,
});
const cf = (validationTau: number | null): CounterfactualResult => ({
  runId: 1,
  target: { kind: 'sample', split: 'test', index: 0 },
  classNames: ['negative', 'neutral', 'positive'],
  available: true,
  reason: null,
  automatic: [101, 103, 104, 102].map(tok),
  scored: [101, 103, 104, 102].map(tok),
  factual: [0.2, 0.3, 0.5],
  counterfactual: [0.1, 0.1, 0.8],
  taus: [0, 0.1],
  debiased: [
    { tau: 0, probabilities: [0.2, 0.3, 0.5], prediction: 2 },
    { tau: 0.1, probabilities: [0.3, 0.4, 0.3], prediction: 1 },
  ],
  validationTau: validationTau === null ? null : { tau: validationTau, source: 'test' },
});

test('edits never touch [CLS]/[SEP]: mask, delete and replace', () => {
  const t = [101, 104, 105, 106, 102];
  assert.deepEqual(applyEdit(t, { kind: 'mask', position: 2 }), [101, 104, 103, 106, 102]);
  assert.deepEqual(applyEdit(t, { kind: 'delete', position: 1 }), [101, 105, 106, 102]);
  assert.deepEqual(
    applyEdit(t, {
      kind: 'replace',
      position: 3,
      ids: [110, 111],
      tokens: ['a', '##b'],
    }),
    [101, 104, 105, 110, 111, 102],
  );
  assert.deepEqual(applyEdit(t, { kind: 'delete', position: 0 }), t);
  assert.deepEqual(applyEdit(t, { kind: 'mask', position: 4 }), t);
});

test('the first counterfactual result sets tau to the validation-chosen one; edits start from the scored text', () => {
  let s = analysisReducer(initialAnalysis, { type: 'run', runId: 3 });
  assert.deepEqual(s.overlay, [3]);
  s = analysisReducer(s, { type: 'counterfactual', result: cf(0.1) });
  assert.equal(s.tau, 0.1);
  s = analysisReducer(s, { type: 'tau', tau: 7 });
  assert.equal(s.tau, 3);
  s = analysisReducer(s, { type: 'counterfactual', result: cf(0.1) });
  assert.equal(s.tau, 3, 'a later result keeps the user tau');
  s = analysisReducer(s, {
    type: 'edit',
    op: { kind: 'replace', position: 1, ids: [120], tokens: ['great'] },
  });
  assert.deepEqual(s.editTokens, [101, 120, 104, 102]);
  assert.equal(s.editNames[120], 'great');
  s = analysisReducer(s, { type: 'edit', op: { kind: 'delete', position: 2 } });
  assert.deepEqual(s.editTokens, [101, 120, 102]);
  s = analysisReducer(s, { type: 'target', index: 5 });
  assert.equal(s.editTokens, null, 'another sample drops the edit');
  assert.equal(debiasedAt(cf(null), 0.07)!.tau, 0.1);
});

test('robustness charts: one per protocol, the newest sweep of each overlaid run', () => {
  const sweep = (id: number, runId: number, acc: number): RobustnessSweep => ({
    id,
    runId,
    runName: `r${runId}`,
    jobId: null,
    seed: 1111,
    checkpoint: 'best',
    split: 'test',
    engine: 'tfjs-wasm',
    textNote: '',
    createdAt: '',
    curves: [
      {
        protocol: 'RMFM',
        rates: [0, 1],
        metrics: { Acc_3: [acc, 0.3] },
        auilc: { Acc_3: (acc + 0.3) / 2 },
      },
      {
        protocol: 'TMFM',
        rates: [0, 1],
        metrics: {},
        auilc: {},
        skipped: 'unaligned',
      },
    ],
  });
  const charts = robustnessCharts([sweep(1, 1, 0.5), sweep(2, 1, 0.7), sweep(3, 2, 0.6)], [1, 2], 'Acc_3');
  assert.deepEqual(
    charts.map((c) => c.protocol),
    ['RMFM'],
  );
  assert.deepEqual(
    charts[0].series.map((s) => [s.runId, s.points[0].y, s.auilc, s.dashed]),
    [
      [1, 0.7, (0.7 + 0.3) / 2, false],
      [2, 0.6, (0.6 + 0.3) / 2, true],
    ],
  );
});
