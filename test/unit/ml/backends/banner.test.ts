/**
 * TF.js's cpu backend prints a "looks like you are running TensorFlow.js in Node.js" banner on its
 * first use; src/main/ml/backends/tf.ts silences it (the backend line of `cider doctor` says what
 * the user needs). A fresh process, so the first use really is the first.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const tfModule = fileURLToPath(new URL('../../../../src/main/ml/backends/tf.ts', import.meta.url));

test('the cpu backend computes without printing the TF.js Node banner', () => {
  const script = `
    const { initBackend, tf } = await import(${JSON.stringify(tfModule)});
    const choice = await initBackend('cpu');
    const y = tf.tensor([1, 2, 3]).square();
    console.log(choice.name, Array.from(y.dataSync()).join(','));
  `;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'cpu 1,4,9');
  assert.doesNotMatch(r.stdout + r.stderr, /running TensorFlow\.js in Node/);
});
