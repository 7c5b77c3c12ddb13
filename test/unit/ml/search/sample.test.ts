import assert from 'node:assert/strict';
import { test } from 'node:test';
import { searchSpaceSchema } from '../../../../src/shared/contract/search';
import { trainingOptionsSchema } from '../../../../src/shared/contract/training';
import { applyTrial, planTrials, sampleTrial, trialParamsOf } from '../../../../src/main/ml/search/sample';
import { rankTrials } from '../../../../src/main/services/search';

const space = searchSpaceSchema.parse({});
const base = trainingOptionsSchema.parse({});

test('the plan is seeded, trial by trial: N trials are a prefix of N+1', () => {
  const a = planTrials(space, base, 5, 4);
  assert.deepEqual(planTrials(space, base, 5, 6).slice(0, 4), a);
  assert.notDeepEqual(planTrials(space, base, 6, 4), a);
  for (const p of planTrials(space, base, 1, 50)) {
    assert.ok([1, 2, 3, 4].includes(p.layers));
    assert.ok([1, 2, 4, 8].includes(p.heads));
    for (const v of Object.values(p.dropouts)) assert.ok(space.dropouts.includes(v));
    for (const v of Object.values(p.lossWeights)) assert.ok(space.lossWeights.includes(v));
  }
});

test('heads that do not divide d are never drawn; none at all is refused', () => {
  const d12 = { ...base, model: { ...base.model, d: 12 } };
  for (const p of planTrials(space, d12, 3, 40)) assert.ok([1, 2, 4].includes(p.heads));
  assert.throws(() => sampleTrial({ ...space, heads: [5] }, 32, 1, 1), /divides the model width/);
});

test('a trial applied to the base options reads back as itself and keeps everything else', () => {
  const p = sampleTrial(space, 32, 9, 2);
  const o = applyTrial(base, p);
  assert.deepEqual(trialParamsOf(o), p);
  assert.equal(o.seed, base.seed);
  assert.equal(o.model.positional, 'temporal');
  assert.equal(o.accumulateFullViewGrad, true);
});

test('trials rank best first, trials without a metric last in trial order', () => {
  const t = (trial: number, bestMetric: number | null) => ({
    trial,
    bestMetric,
    params: sampleTrial(space, 32, 1, trial),
    runId: null,
    status: 'pending' as const,
    epochsDone: 0,
    bestEpoch: null,
  });
  assert.deepEqual(
    rankTrials([t(1, 0.5), t(2, null), t(3, 0.7), t(4, null), t(5, 0.5)]).map((x) => x.trial),
    [3, 1, 5, 2, 4],
  );
});
