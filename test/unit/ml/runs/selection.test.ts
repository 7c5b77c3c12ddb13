/**
 * A run's selection metric (issue 15): early stopping and the best checkpoint follow the chosen
 * metric, ties broken by the validation loss (recorded per epoch as NLL); validation_loss is
 * minimised; a metric the task lacks is refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { runTraining, VALIDATION_LOSS_KEY, type EpochRecord } from '../../../../src/main/ml/runs/train';
import { trainingOptionsSchema, type TrainingOptionsInput } from '../../../../src/shared/contract/training';
import { tempDir } from '../../../helpers/datasets';
import { TINY_MODEL, writeSyntheticStore } from '../../../helpers/syntheticRuns';

async function train(dir: string, dataset: string, o: Partial<TrainingOptionsInput>) {
  const epochs: EpochRecord[] = [];
  const result = await runTraining({
    datasetDir: dataset,
    runDir: path.join(dir, `run-${Math.random().toString(16).slice(2)}`),
    options: trainingOptionsSchema.parse({ batchSize: 20, maxEpochs: 4, workers: 1, model: TINY_MODEL, ...o }),
    onEpoch: (e) => void epochs.push(e),
  });
  return { result, epochs };
}

/** the best epoch by (score desc, loss asc), first on full ties */
function expectedBest(epochs: EpochRecord[], score: (e: EpochRecord) => number): number {
  let best = epochs[0];
  for (const e of epochs.slice(1)) {
    const a = score(e);
    const b = score(best);
    const la = e.validation[VALIDATION_LOSS_KEY];
    const lb = best.validation[VALIDATION_LOSS_KEY];
    if (a > b || (a === b && la < lb - 1e-12 * Math.max(1, Math.abs(lb)))) best = e;
  }
  return best.epoch;
}

test('selection metric: Acc_3 (ties by validation loss) and validation_loss pick their own best epoch', async () => {
  const t = tempDir();
  try {
    const dataset = path.join(t.dir, 'ds');
    await writeSyntheticStore(dataset, { sizes: { train: 40, valid: 20, test: 10 }, seed: 3 });
    const acc = await train(t.dir, dataset, { selectionMetric: 'Acc_3' });
    assert.equal(acc.result.selectionMetric, 'Acc_3');
    assert.equal(acc.epochs.length, 4);
    for (const e of acc.epochs) assert.ok(Number.isFinite(e.validation[VALIDATION_LOSS_KEY]) && e.validation.NLL > 0);
    assert.equal(
      acc.result.bestEpoch,
      expectedBest(acc.epochs, (e) => e.validation.Acc_3),
    );
    assert.equal(acc.result.bestMetric, acc.epochs[acc.result.bestEpoch! - 1].validation.Acc_3);

    const loss = await train(t.dir, dataset, { selectionMetric: 'validation_loss' });
    assert.equal(loss.result.selectionMetric, 'validation_loss');
    const losses = loss.epochs.map((e) => e.validation.NLL);
    assert.equal(loss.result.bestEpoch, losses.indexOf(Math.min(...losses)) + 1);
    assert.equal(loss.result.bestMetric, Math.min(...losses), 'the stored best is the loss itself, lower is better');

    await assert.rejects(
      train(t.dir, dataset, { task: 7, selectionMetric: 'Acc_3' }),
      /selection metric Acc_3 does not exist for the 7-class task/,
    );
  } finally {
    t.cleanup();
  }
});
