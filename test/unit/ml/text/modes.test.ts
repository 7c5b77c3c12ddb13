/**
 * Both modes as a training loop uses them, with a one-layer head on mean-pooled token features:
 * fine-tune moves BERT's weights (own optimizer group), frozen leaves them and reads the disk
 * cache from the second epoch on.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tf, initBackend } from '../../../../src/main/ml/backends/tf';
import { loadTextEncoder, TextFeatures, type TextEncoderMode } from '../../../../src/main/ml/text';
import { writeTinyBert } from '../../../helpers/tinyBert';

const TEXTS = ['I really love this movie!', 'The plot was boring.', 'so funny and happy', 'sad and bad acting'];
const TARGETS = [1, -1, 1, -1];

async function train(mode: TextEncoderMode, cacheDir: string) {
  const tiny = writeTinyBert();
  const bundle = await loadTextEncoder(tiny.dir);
  const text = new TextFeatures(bundle, mode, { cacheDir });
  const ids = tf.tensor3d(bundle.tokenizer.encodeBatch(TEXTS, 10).data, [4, 3, 10], 'int32');
  const y = tf.tensor1d(TARGETS);
  const wInit = tf.zeros([32, 1]);
  const w = tf.variable(wInit, true, `head-${mode}`);
  wInit.dispose();
  const headOpt = tf.train.adam(1e-2);
  const groups = text.optimizerGroups();
  const bertVars = groups.flatMap((g) => g.variables);
  // the real engine applies decoupled weight decay per group; here plain Adam at BERT's own rate is enough
  const bertOpt = bertVars.length ? tf.train.adam(groups[0].learningRate * 100) : undefined;
  const before = bundle.encoder.toHfTensors()['encoder.layer.0.attention.self.query.weight'].data.slice();
  const losses: number[] = [];
  for (let epoch = 0; epoch < 4; epoch++) {
    const frozenFeatures = mode === 'frozen' ? await text.features(ids) : undefined;
    const { value, grads } = tf.variableGrads(() => {
      const feats = frozenFeatures ?? text.encodeForTraining(ids, false);
      const pooled = tf.mean(feats, 1) as tf.Tensor2D;
      return tf.losses.meanSquaredError(y, tf.squeeze(tf.matMul(pooled, w))) as tf.Scalar;
    });
    losses.push(value.dataSync()[0]);
    headOpt.applyGradients([{ name: w.name, tensor: grads[w.name] }]);
    if (bertOpt) bertOpt.applyGradients(bertVars.map((v) => ({ name: v.name, tensor: grads[v.name] })));
    tf.dispose([value, ...Object.values(grads)]);
    frozenFeatures?.dispose();
  }
  const after = bundle.encoder.toHfTensors()['encoder.layer.0.attention.self.query.weight'].data;
  const moved = after.some((v, i) => v !== before[i]);
  const stats = text.cache ? [text.cache.hits, text.cache.misses] : undefined;
  tf.dispose([ids, y, w]);
  headOpt.dispose();
  bertOpt?.dispose();
  bundle.encoder.dispose();
  tiny.cleanup();
  return { losses, moved, stats };
}

test('fine-tune and frozen modes train; only fine-tune moves BERT; frozen hits the cache after epoch 1', async () => {
  await initBackend();
  const cacheDir = mkdtempSync(join(tmpdir(), 'cider-modes-'));
  try {
    const start = tf.memory().numTensors;
    const ft = await train('finetune', cacheDir);
    assert.ok(ft.losses[3] < ft.losses[0], `fine-tune loss ${ft.losses.join(' -> ')}`);
    assert.equal(ft.moved, true);
    const fr = await train('frozen', cacheDir);
    assert.ok(fr.losses[3] < fr.losses[0], `frozen loss ${fr.losses.join(' -> ')}`);
    assert.equal(fr.moved, false);
    assert.deepEqual(fr.stats, [12, 4]);
    assert.equal(tf.memory().numTensors, start);
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
});
