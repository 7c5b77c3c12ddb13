/**
 * MACI's tau rules on the planted-shortcut benchmark (test/helpers/shortcut.ts): a model trained
 * where one word co-occurs with the positive class learns the shortcut; the plain validation rule,
 * drawn like training, sees no reason to debias; the balanced-validation rule, which re-weights the
 * validation split so the bias words carry no label information, picks tau > 0, and on the OOD
 * test split (shortcut flipped) that tau beats the undebiased prediction. Without a shortcut the
 * balanced rule stays near tau = 0.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { useBackend } from '../../../../src/main/ml/backends/tf';
import { runTraining } from '../../../../src/main/ml/runs/train';
import { evaluateRun } from '../../../../src/main/ml/runs/evaluate';
import { evaluationOptionsSchema, trainingOptionsSchema } from '../../../../src/shared/contract/training';
import { tempDir } from '../../../helpers/datasets';
import { TINY_MODEL } from '../../../helpers/syntheticRuns';
import { writeShortcutBenchmark, writeShortcutBert } from '../../../helpers/shortcut';

async function trainAndEvaluate(shortcut: { positive: number; negative: number }) {
  const tmp = tempDir('cider-tau-rules-');
  const bert = writeShortcutBert();
  try {
    const stores = await writeShortcutBenchmark(tmp.dir, { shortcut });
    const cacheDir = path.join(tmp.dir, 'cache');
    const options = trainingOptionsSchema.parse({
      batchSize: 32,
      maxEpochs: Number(process.env.TAU_EPOCHS ?? 12),
      model: { ...TINY_MODEL, d: Number(process.env.TAU_D ?? 16) },
      text: { kind: 'frozen', modelDir: bert.dir },
    });
    const r = await runTraining({ datasetDir: stores.iid, runDir: path.join(tmp.dir, 'run'), options, cacheDir });
    const evaluate = async (datasetDir: string) => {
      const ev = await evaluateRun({
        checkpointFile: r.bestCheckpoint!,
        datasetDir,
        cacheDir,
        options: evaluationOptionsSchema.parse({ protocols: ['MACI'], rates: [0], tauRule: 'balanced' }),
      });
      return ev.outcomes[0].points[0];
    };
    return { iid: await evaluate(stores.iid), ood: await evaluate(stores.ood) };
  } finally {
    bert.cleanup();
    tmp.cleanup();
  }
}

test('balanced validation: tau > 0 under a planted shortcut, and it helps on the flipped OOD split', async () => {
  await useBackend('wasm');
  const { iid, ood } = await trainAndEvaluate({ positive: 0.9, negative: 0.05 });
  const m = ood.maci!;
  console.log(
    JSON.stringify({ iid: { metrics: iid.metrics, maci: iid.maci }, ood: { metrics: ood.metrics, maci: m } }, null, 1),
  );
  assert.equal(m.tauRule, 'balanced');
  assert.match(m.balanced!.description, /strata by presence of "shortcut"/);
  assert.ok(m.taus!.balanced! > 0, `balanced tau ${m.taus!.balanced}`);
  assert.ok(
    m.testByRule!.balanced!.Non0_acc_2 > m.testWithoutDebiasing.Non0_acc_2,
    `OOD Non0_acc_2 with balanced tau ${m.testByRule!.balanced!.Non0_acc_2} vs plain ${m.testWithoutDebiasing.Non0_acc_2}`,
  );
});

test('balanced validation: near tau = 0 without a shortcut', async () => {
  await useBackend('wasm');
  const { ood } = await trainAndEvaluate({ positive: 0.45, negative: 0.45 });
  console.log(JSON.stringify(ood.maci, null, 1));
  assert.ok(ood.maci!.taus!.balanced! <= 0.5, `balanced tau ${ood.maci!.taus!.balanced}`);
});
