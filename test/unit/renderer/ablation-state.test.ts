import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ablationCell, ablationTau, pickAblation } from '../../../src/renderer/src/state/ablation';
import type { AblationRecord, AblationRow } from '../../../src/shared/contract/ablation';

const row = (o: Partial<AblationRow> = {}): AblationRow => ({
  variant: 'full',
  label: 'CIDer (full)',
  runId: 1,
  status: 'completed',
  mssd: true,
  lossWeights: { joint: 0.5, attention: 0.1, reconstruction: 0.6 },
  bestEpoch: 1,
  bestMetric: 0.5,
  iid: { datasetName: 'd', count: 10, removed: 0, plain: { Acc_3: 0.5 }, debiased: { Acc_3: 0.625 } },
  ood: { datasetName: 'o', count: 8, removed: 2, plain: { Acc_3: 0.25 }, debiased: null },
  tau: 0.3,
  auilcRmfm: { Acc_3: 0.4 },
  ...o,
});

test('ablation cells: plain / debiased, n/a without MACI, - before the comparison', () => {
  assert.equal(ablationCell(row(), 'iid', 'Acc_3'), '0.5000 / 0.6250');
  assert.equal(ablationCell(row(), 'ood', 'Acc_3'), '0.2500 / n/a');
  assert.equal(ablationCell(row({ iid: null }), 'iid', 'Acc_3'), '-');
});

test('ablation tau column names the rule; the selection survives a reload', () => {
  const a = { tauRule: 'validation' } as AblationRecord;
  assert.equal(ablationTau(a, row()), '0.3');
  assert.equal(ablationTau({ tauRule: 'reference' } as AblationRecord, row({ tau: null })), 'test (per metric)');
  assert.equal(ablationTau(a, row({ tau: null })), 'n/a');
  const list = [{ id: 4 }, { id: 9 }] as AblationRecord[];
  assert.equal(pickAblation(list, 4), 4);
  assert.equal(pickAblation(list, 7), 9);
  assert.equal(pickAblation([], 7), null);
});
