/**
 * The model config's size checks and the ONNX export's config comparison read one list of sizes
 * (SIZE_KEYS): every size is checked to be a positive integer, and a difference in any size, or in
 * the other fields that change the eval-mode maths, is named when an export is matched to a model.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CiderConfigError, makeConfig, SIZE_KEYS } from '../../../../src/main/ml/model/config.js';
import { configDifferences } from '../../../../src/main/ml/onnx/engine.js';

const base = makeConfig({ classes: 3, textLength: 8, dl: 12, da: 3, dv: 4, aligned: true });

test('every size must be a positive integer, and the error names it', () => {
  for (const k of SIZE_KEYS)
    for (const bad of [0, -1, 2.5])
      assert.throws(
        () => makeConfig({ ...base, [k]: bad }),
        (e: Error) =>
          e instanceof CiderConfigError && e.message.startsWith(`CIDer config: ${k} must be a positive integer`),
        `${k} = ${bad}`,
      );
});

test('configDifferences names each size and maths field that differs, and nothing else', () => {
  assert.deepEqual(configDifferences(base, base), []);
  for (const k of SIZE_KEYS) {
    const other = { ...base, [k]: (base[k] as number) * 2 };
    assert.deepEqual(
      configDifferences(other, base).map((d) => d.split(':')[0]),
      [k],
    );
  }
  assert.deepEqual(configDifferences({ ...base, aligned: false, positional: 'reference' }, base), [
    'aligned: export false, model true',
    'positional: export reference, model temporal',
  ]);
  // dropouts do not change the eval-mode maths
  assert.deepEqual(configDifferences({ ...base, dropouts: { ...base.dropouts, relu: 0.5 } }, base), []);
});
