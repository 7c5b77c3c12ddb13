import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { importMmsa } from '../../../src/main/data/mmsa';
import { FeatureStore, SPLITS } from '../../../src/main/data/featureStore';
import { buildOodSplits } from '../../../src/main/data/ood';
import { label7 } from '../../../src/main/data/labels';
import { makeMmsa, pythonHas, tempDir } from '../../helpers/datasets';

const skip = pythonHas('numpy') ? false : 'Debian python3 with numpy is not installed (/usr/bin/python3)';

test('label7 rounds half to even like numpy', () => {
  assert.deepEqual([-3.2, -2.5, -1.5, -0.5, 0, 0.5, 1.5, 2.5, 2.6, 3.5].map(label7), [0, 1, 1, 3, 3, 3, 5, 5, 6, 6]);
});

test(
  'OOD repartition: same sizes, shifted test labels and bias-word agreement, reproducible from the seed',
  { skip },
  async () => {
    const t = tempDir();
    try {
      const { file } = makeMmsa(t.dir, 'iid.pkl', ['--sizes', '120,30,60', '--seed', '11']);
      const { dir } = await importMmsa(file, { outDir: path.join(t.dir, 'iid') });
      const iid = await FeatureStore.open(dir);
      const a = await buildOodSplits(iid, { seed: 42, outDir: path.join(t.dir, 'ood-a') });
      const b = await buildOodSplits(iid, { seed: 42, outDir: path.join(t.dir, 'ood-b') });
      const c = await buildOodSplits(iid, { seed: 43, outDir: path.join(t.dir, 'ood-c') });
      // reproducible
      assert.deepEqual(a.record.provenance, b.record.provenance);
      for (const s of SPLITS)
        assert.deepEqual(
          fs.readFileSync(path.join(a.dir, s, 'audio.bin')),
          fs.readFileSync(path.join(b.dir, s, 'audio.bin')),
        );
      assert.notDeepEqual(a.record.provenance, c.record.provenance);
      // same sizes, a partition of the same samples
      const r = a.record;
      for (const s of SPLITS) assert.equal(a.manifest.splits[s].count, iid.manifest.splits[s].count);
      const idsIid = (await Promise.all(SPLITS.map((s) => iid.split(s).samples()))).flatMap((x) => x.ids).sort();
      const ood = await FeatureStore.open(a.dir);
      const idsOod = (await Promise.all(SPLITS.map((s) => ood.split(s).samples()))).flatMap((x) => x.ids).sort();
      assert.deepEqual(idsOod, idsIid);
      // test achieved what was planned, and the planned mix is the pool's with negative/positive swapped
      assert.deepEqual(r.achieved.test.three, r.plannedTest3);
      const pool = r.pool3.map((x) => x / 210);
      assert.ok(Math.abs(r.targetTest3[0] - pool[2]) < 1e-12 && Math.abs(r.targetTest3[2] - pool[0]) < 1e-12);
      // bias words agree less with the label on test than on train
      assert.ok(r.biasAgreement && r.biasAgreement.test < r.biasAgreement.train, JSON.stringify(r.biasAgreement));
      // rows were copied with their sample: compare one sample's features and labels to the source
      const oodTest = ood.split('test');
      const sm = await oodTest.samples();
      for (const k of [0, sm.ids.length - 1]) {
        const from = r.provenance.test[k];
        const src = iid.split(from.split);
        assert.equal((await src.samples()).ids[from.row], sm.ids[k]);
        assert.deepEqual(await oodTest.read('audio', k, k + 1), await src.read('audio', from.row, from.row + 1));
        assert.deepEqual(await oodTest.read('textBert', k, k + 1), await src.read('textBert', from.row, from.row + 1));
        assert.deepEqual(await oodTest.read('labels7', k, k + 1), await src.read('labels7', from.row, from.row + 1));
      }
      assert.equal((ood.manifest.ood as { seed: number }).seed, 42);
      await ood.close();
      await iid.close();
    } finally {
      t.cleanup();
    }
  },
);
