import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { readNpy, readNpyHeader } from '../../../src/main/data/npy';
import { readConfounderVector, readClassPrior, attachExtra } from '../../../src/main/data/confounders';
import { importMmsa } from '../../../src/main/data/mmsa';
import { FeatureStore } from '../../../src/main/data/featureStore';
import { DataImportError } from '../../../src/main/data/errors';
import { makeMmsa, py, pythonHas, tempDir } from '../../helpers/datasets';

const skip = pythonHas('numpy', 'joblib') ? false : 'Debian python3 with numpy is not installed (/usr/bin/python3)';

test('.npy v1/v2/v3, big-endian, Fortran order, unicode and object arrays read exactly', { skip }, async () => {
  const t = tempDir();
  try {
    const want = JSON.parse(py('make_npy.py', [t.dir])) as Record<
      string,
      { shape: number[]; dtype: string; values: unknown[] }
    >;
    for (const [name, w] of Object.entries(want)) {
      const a = await readNpy(path.join(t.dir, name));
      assert.deepEqual(a.shape, w.shape, name);
      assert.equal(a.dtype.str, w.dtype, name);
      assert.deepEqual(a.values(), w.values, name);
    }
    assert.deepEqual((await readNpyHeader(path.join(t.dir, 'v2.npy'))).version, [2, 0]);
    assert.deepEqual((await readNpyHeader(path.join(t.dir, 'v3.npy'))).version, [3, 0]);
  } finally {
    t.cleanup();
  }
});

test('confounder vectors and priors are validated with precise messages', { skip }, async () => {
  const t = tempDir();
  try {
    const want = JSON.parse(py('make_npy.py', [t.dir])) as Record<string, { values: number[] }>;
    const dims = { dl: 768, da: 74, dv: 35 };
    const c = await readConfounderVector(path.join(t.dir, 'confounder_iid_binary_train_unaligned.npy'), dims);
    assert.deepEqual([...c], want['confounder_iid_binary_train_unaligned.npy'].values);
    const p = await readClassPrior(path.join(t.dir, 'prior_iid_binary_train.npy'), 3);
    assert.deepEqual([...p], want['prior_iid_binary_train.npy'].values.map(Math.fround));
    assert.equal((await readClassPrior(path.join(t.dir, 'prior_seven.npy'))).length, 7);
    await assert.rejects(
      readConfounderVector(path.join(t.dir, 'confounder_short.npy'), dims),
      /confounder_short\.npy: field 'confounder': has 800 values but the dataset needs dl\+da\+dv = 768\+74\+35 = 877/,
    );
    await assert.rejects(
      readConfounderVector(path.join(t.dir, 'confounder_nan.npy')),
      /confounder_nan\.npy: field 'confounder': value NaN at index 5 is not finite/,
    );
    await assert.rejects(
      readClassPrior(path.join(t.dir, 'prior_bad.npy')),
      /prior_bad\.npy: field 'prior': has 4 classes; expected 3 or 7/,
    );
    await assert.rejects(
      readConfounderVector(path.join(t.dir, 'truncated.npy')),
      (e: unknown) =>
        e instanceof DataImportError &&
        /truncated\.npy: truncated: the array of shape \(877,\) and dtype float64 needs 7016 bytes of data but the file holds 6916/.test(
          e.message,
        ),
    );
    fs.writeFileSync(path.join(t.dir, 'junk.npy'), 'hello');
    await assert.rejects(readNpy(path.join(t.dir, 'junk.npy')), /junk\.npy: not a \.npy file/);

    // attach to a dataset folder
    const { file } = makeMmsa(t.dir, 'd.pkl');
    const { dir } = await importMmsa(file, { outDir: path.join(t.dir, 'ds') });
    await attachExtra(
      dir,
      'confounder/iid/binary/train/unaligned',
      c,
      'from confounder_iid_binary_train_unaligned.npy',
    );
    const store = await FeatureStore.open(dir);
    const e = store.manifest.extras!['confounder/iid/binary/train/unaligned'];
    assert.deepEqual(e.shape, [877]);
    const back = new Float32Array(Uint8Array.from(fs.readFileSync(path.join(dir, e.file))).buffer);
    assert.deepEqual([...back], [...Float32Array.from(c)]);
  } finally {
    t.cleanup();
  }
});
