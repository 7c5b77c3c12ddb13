/** Robustness over several runs: mean ± sd across the runs' sweeps (services/robustnessRuns.ts). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { acrossRuns, meanSd } from '../../../src/main/services/robustnessRuns';
import type { RobustnessSweep } from '../../../src/shared/contract/analysis';

const sweep = (runId: number, curves: RobustnessSweep['curves']): RobustnessSweep => ({
  id: runId * 10,
  runId,
  runName: `seed ${runId}`,
  jobId: 1,
  seed: 1111,
  checkpoint: 'best',
  split: 'test',
  curves,
  engine: 'tfjs-cpu',
  textNote: '',
  createdAt: '',
});

test('meanSd: sample sd, no sd from one value, nothing from none, non-finite values left out', () => {
  assert.deepEqual(meanSd([1, 2, 3]), { mean: 2, sd: 1, n: 3 });
  assert.deepEqual(meanSd([0.5]), { mean: 0.5, sd: null, n: 1 });
  assert.deepEqual(meanSd([]), { mean: null, sd: null, n: 0 });
  assert.deepEqual(meanSd([null, NaN, 4, undefined, 6]), { mean: 5, sd: Math.SQRT2, n: 2 });
});

test('acrossRuns: per protocol, metric and rate; skipped curves and curves on other rates left out', () => {
  const across = acrossRuns([
    sweep(1, [
      { protocol: 'RMFM', rates: [0, 1], metrics: { Acc_3: [0.6, 0.2] }, auilc: { Acc_3: 0.4 } },
      { protocol: 'TMFM', rates: [0, 1], metrics: {}, auilc: {}, skipped: 'unaligned' },
    ]),
    sweep(2, [{ protocol: 'RMFM', rates: [0, 1], metrics: { Acc_3: [0.8, 0.4] }, auilc: { Acc_3: 0.6 } }]),
    sweep(3, [{ protocol: 'RMFM', rates: [0, 0.5, 1], metrics: { Acc_3: [1, 1, 1] }, auilc: { Acc_3: 1 } }]),
  ]);
  assert.deepEqual(
    across.map((c) => c.protocol),
    ['RMFM'],
  );
  const [c] = across;
  assert.equal(c.runs, 2);
  assert.deepEqual(c.rates, [0, 1]);
  assert.ok(Math.abs(c.metrics.Acc_3[0].mean! - 0.7) < 1e-12);
  assert.ok(Math.abs(c.metrics.Acc_3[1].sd! - Math.sqrt(0.02)) < 1e-12);
  assert.ok(Math.abs(c.auilc.Acc_3.mean! - 0.5) < 1e-12);
  assert.equal(c.auilc.Acc_3.n, 2);
});
