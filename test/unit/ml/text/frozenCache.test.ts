/** Frozen mode: features computed once per sample, on disk by model identity and token ids; the second run only reads. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tf, initBackend } from '../../../../src/main/ml/backends/tf';
import { FrozenFeatureCache, loadTextEncoder, TextFeatures, TextModelError } from '../../../../src/main/ml/text';
import { writeTinyBert } from '../../../helpers/tinyBert';

const TEXTS = ['I really love this movie!', 'The plot was boring.', 'funny and sad', 'great acting'];

test('second run over the same samples reads every feature from disk, identical to encoding', async () => {
  await initBackend();
  const tiny = writeTinyBert();
  const cacheDir = mkdtempSync(join(tmpdir(), 'cider-frozen-'));
  try {
    const start = tf.memory().numTensors;
    const bundle = await loadTextEncoder(tiny.dir, { trainable: false });
    const { data } = bundle.tokenizer.encodeBatch(TEXTS, 12);
    const ids = tf.tensor3d(data, [TEXTS.length, 3, 12], 'int32');
    const direct = bundle.encoder.encode(ids);

    const run1 = new FrozenFeatureCache(cacheDir, bundle.modelId);
    const t0 = performance.now();
    const f1 = await run1.features(bundle.encoder, ids);
    const ms1 = performance.now() - t0;
    assert.deepEqual([run1.hits, run1.misses], [0, 4]);

    // a new cache object over the same folder: what a second training run sees
    const run2 = new FrozenFeatureCache(cacheDir, bundle.modelId);
    const t1 = performance.now();
    const f2 = await run2.features(bundle.encoder, ids);
    const ms2 = performance.now() - t1;
    assert.deepEqual([run2.hits, run2.misses], [4, 0]);
    assert.deepEqual(Array.from(f2.dataSync()), Array.from(direct.dataSync()));
    assert.deepEqual(Array.from(f1.dataSync()), Array.from(direct.dataSync()));
    if (process.env.CIDER_VERBOSE)
      console.log(`frozen cache: first run ${ms1.toFixed(1)} ms, second ${ms2.toFixed(1)} ms`);

    // one new sample in a batch of cached ones: only it is computed
    const mixed = bundle.tokenizer.encodeBatch([TEXTS[0], 'what a film', TEXTS[2]], 12).data;
    const mixedIds = tf.tensor3d(mixed, [3, 3, 12], 'int32');
    const f3 = await run2.features(bundle.encoder, mixedIds);
    assert.deepEqual([run2.hits, run2.misses], [6, 1]);
    assert.deepEqual(f3.shape, [3, 12, 32]);

    // another model identity never reads these entries
    const other = new FrozenFeatureCache(cacheDir, 'bert-other');
    const f4 = await other.features(bundle.encoder, ids);
    assert.deepEqual([other.hits, other.misses], [0, 4]);
    assert.deepEqual(readdirSync(cacheDir).sort(), [bundle.modelId, 'bert-other'].sort());

    tf.dispose([ids, direct, f1, f2, mixedIds, f3, f4]);
    bundle.encoder.dispose();
    assert.equal(tf.memory().numTensors, start);
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
    tiny.cleanup();
  }
});

test('TextFeatures: frozen mode freezes BERT and caches; fine-tune mode exposes the two optimizer groups', async () => {
  await initBackend();
  const tiny = writeTinyBert();
  const cacheDir = mkdtempSync(join(tmpdir(), 'cider-frozen-'));
  try {
    const start = tf.memory().numTensors;
    const bundle = await loadTextEncoder(tiny.dir);
    assert.throws(() => new TextFeatures(bundle, 'frozen'), TextModelError);
    const frozen = new TextFeatures(bundle, 'frozen', { cacheDir });
    assert.ok([...bundle.encoder.variables.values()].every((v) => !v.trainable));
    assert.deepEqual(frozen.optimizerGroups(), []);
    const ids = tf.tensor3d(bundle.tokenizer.encodeBatch(TEXTS, 10).data, [4, 3, 10], 'int32');
    const a = await frozen.features(ids);
    const b = await frozen.features(ids);
    assert.deepEqual([frozen.cache!.hits, frozen.cache!.misses], [4, 4]);
    assert.throws(() => frozen.encodeForTraining(ids, true), /fine-tune mode/);

    const ft = new TextFeatures(bundle, 'finetune');
    assert.ok([...bundle.encoder.variables.values()].every((v) => v.trainable));
    const groups = ft.optimizerGroups();
    assert.deepEqual(
      groups.map((g) => [g.group, g.learningRate, g.weightDecay]),
      [
        ['bert_decay', 5e-5, 0.001],
        ['bert_no_decay', 5e-5, 0],
      ],
    );
    const c = ft.encodeForTraining(ids, false);
    assert.deepEqual(Array.from(c.dataSync()), Array.from(a.dataSync()));
    tf.dispose([ids, a, b, c]);
    bundle.encoder.dispose();
    assert.equal(tf.memory().numTensors, start);
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
    tiny.cleanup();
  }
});
