/**
 * Training and evaluation with a BERT model folder (a tiny random BERT with bert-base-uncased's
 * special ids): frozen mode caches the complete view's features and re-encodes missing views from
 * [UNK] ids; MACI runs with a real counterfactual view; fine-tune mode moves BERT and checkpoints
 * it; a model whose vocabulary disagrees with the datasets' ids is refused by name.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { useBackend, tf } from '../../../../src/main/ml/backends/tf';
import { readSafetensors } from '../../../../src/main/ml/io/safetensors';
import { runTraining } from '../../../../src/main/ml/runs/train';
import { evaluateRun } from '../../../../src/main/ml/runs/evaluate';
import { REFERENCE_PROTOCOL_LABEL } from '../../../../src/main/ml/eval/maci';
import { evaluationOptionsSchema, trainingOptionsSchema } from '../../../../src/shared/contract/training';
import { tempDir } from '../../../helpers/datasets';
import { TINY_MODEL, writeSyntheticStore, writeTinyBaseCompatibleBert } from '../../../helpers/syntheticRuns';
import { writeTinyBert } from '../../../helpers/tinyBert';

const countFiles = (dir: string): number =>
  fs.existsSync(dir)
    ? fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((d) => d.isFile() && d.name.endsWith('.f32'))
        .length
    : 0;

test('frozen BERT: cached complete view, missing views re-encoded, MACI with tau on validation', async () => {
  await useBackend('wasm');
  const tmp = tempDir('cider-runs-bert-');
  const bert = writeTinyBaseCompatibleBert();
  try {
    const { dir } = await writeSyntheticStore(path.join(tmp.dir, 'ds'), {
      sizes: { train: 24, valid: 12, test: 12 },
      aligned: false,
    });
    const cacheDir = path.join(tmp.dir, 'cache');
    const options = trainingOptionsSchema.parse({
      batchSize: 12,
      maxEpochs: 2,
      model: TINY_MODEL,
      text: { kind: 'frozen', modelDir: bert.dir },
    });
    const before = tf.memory().numTensors;
    const r = await runTraining({ datasetDir: dir, runDir: path.join(tmp.dir, 'run'), options, cacheDir });
    assert.equal(tf.memory().numTensors, before, 'no tensor outlives the run');
    // the confounder pass encodes every training sample once; missing views are never cached
    assert.equal(countFiles(cacheDir), 24 + 12, 'train (confounders/epochs) and valid complete views cached');
    const names = [...readSafetensors(r.bestCheckpoint!).tensors.keys()];
    assert.ok(!names.some((n) => n.startsWith('text_model.')), 'a frozen BERT is not checkpointed');
    assert.equal(
      readSafetensors(r.bestCheckpoint!).tensors.get('proj_l.weight')!.shape[1],
      16,
      'dl is the BERT hidden size',
    );

    const ev = await evaluateRun({
      checkpointFile: r.bestCheckpoint!,
      datasetDir: dir,
      cacheDir,
      options: evaluationOptionsSchema.parse({ protocols: ['RMFM', 'MACI', 'STMFM'], rates: [0, 0.5, 1] }),
    });
    assert.match(ev.textNote, /re-encoded by the frozen BERT/);
    const [rmfm, maci, stmfm] = ev.outcomes;
    assert.equal(rmfm.points.length, 3);
    assert.equal(maci.points.length, 3);
    for (const p of maci.points) {
      assert.ok(p.maci!.selectedTau >= 0 && p.maci!.selectedTau <= 3);
      assert.equal(p.maci!.referenceProtocol.label, REFERENCE_PROTOCOL_LABEL);
      // the reference protocol maximises over tau on test: never below the honest figure
      assert.ok(p.maci!.referenceProtocol.values.Acc_3!.value >= p.metrics.Acc_3);
    }
    assert.deepEqual(
      maci.points[0].maci!.testWithoutDebiasing,
      rmfm.points[0].metrics,
      'tau = 0 at rate 0 is the complete view',
    );
    assert.match(stmfm.skipped!, /needs aligned data/);
  } finally {
    bert.cleanup();
    tmp.cleanup();
  }
});

test('fine-tune BERT: BERT weights move and are checkpointed under text_model.*', async () => {
  await useBackend('wasm');
  const tmp = tempDir('cider-runs-bert-');
  const bert = writeTinyBaseCompatibleBert();
  try {
    const { dir } = await writeSyntheticStore(path.join(tmp.dir, 'ds'), { sizes: { train: 12, valid: 6, test: 6 } });
    const options = trainingOptionsSchema.parse({
      batchSize: 12,
      maxEpochs: 1,
      model: TINY_MODEL,
      text: { kind: 'finetune', modelDir: bert.dir },
    });
    const r = await runTraining({ datasetDir: dir, runDir: path.join(tmp.dir, 'run'), options });
    const ckpt = readSafetensors(r.lastCheckpoint).tensors;
    const original = readSafetensors(path.join(bert.dir, 'model.safetensors')).tensors;
    const name = 'encoder.layer.0.attention.self.query.weight';
    const a = ckpt.get(`text_model.${name}`)!.data;
    const b = original.get(name)!.data;
    assert.equal(a.length, b.length);
    assert.ok(
      a.some((v, i) => v !== b[i]),
      'fine-tuning moved BERT',
    );
    assert.ok(ckpt.has(`optimizer.m.text_model.${name}`), 'BERT has Adam state (its own group)');
    const ev = await evaluateRun({
      checkpointFile: r.lastCheckpoint,
      datasetDir: dir,
      options: evaluationOptionsSchema.parse({ protocols: ['complete'] }),
    });
    assert.match(ev.textNote, /fine-tuned BERT/);
    assert.equal(ev.outcomes[0].predictions!.length, 6);
  } finally {
    bert.cleanup();
    tmp.cleanup();
  }
});

test("a BERT whose vocabulary is not bert-base-uncased's is refused, naming the ids", async () => {
  await useBackend('wasm');
  const tmp = tempDir('cider-runs-bert-');
  const bert = writeTinyBert();
  try {
    const { dir } = await writeSyntheticStore(path.join(tmp.dir, 'ds'), { sizes: { train: 6, valid: 3, test: 3 } });
    const options = trainingOptionsSchema.parse({
      batchSize: 6,
      maxEpochs: 1,
      model: TINY_MODEL,
      text: { kind: 'frozen', modelDir: bert.dir },
    });
    await assert.rejects(
      runTraining({ datasetDir: dir, runDir: path.join(tmp.dir, 'run'), options, cacheDir: path.join(tmp.dir, 'c') }),
      /\[UNK\] is id 1, expected 100/,
    );
  } finally {
    bert.cleanup();
    tmp.cleanup();
  }
});
