/**
 * IID vs OOD without leakage (issue 15 item 1). An OOD repartition built by split-ood draws its
 * test split from the IID pool, so part of it was in the IID run's training/validation splits;
 * its provenance record says exactly which samples. The comparison must remove those (by id, or by
 * a text + features hash when ids differ), say how many from which split, never score them, and
 * refuse when nothing is left. The paper's protocol pairs the IID run with a run trained on the
 * OOD training split.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { FeatureStore, type DatasetManifest } from '../../src/main/data/featureStore';
import { buildOodSplits } from '../../src/main/data/ood';
import { seenSamples, unseenRows } from '../../src/main/ml/analysis/overlap';
import { compareIidOod } from '../../src/main/ml/analysis/oodCompare';
import { runTraining } from '../../src/main/ml/runs/train';
import { trainingOptionsSchema } from '../../src/shared/contract/training';
import { tempDir } from '../helpers/datasets';
import { TINY_MODEL, writeSyntheticStore } from '../helpers/syntheticRuns';

const options = trainingOptionsSchema.parse({ batchSize: 16, maxEpochs: 1, model: TINY_MODEL, workers: 1 });

test('IID vs OOD: the known overlap is removed, counted per split, never scored; nothing left is refused', async () => {
  const t = tempDir();
  try {
    const iidDir = path.join(t.dir, 'iid');
    await writeSyntheticStore(iidDir, { sizes: { train: 60, valid: 20, test: 20 }, seed: 5, name: 'iid' });
    const iid = await FeatureStore.open(iidDir);
    const oodDir = path.join(t.dir, 'ood');
    const { record } = await buildOodSplits(iid, { seed: 9, outDir: oodDir, name: 'ood' });
    await iid.close();
    const prov = record.provenance.test;
    const expected = {
      train: prov.filter((p) => p.split === 'train').length,
      valid: prov.filter((p) => p.split === 'valid').length,
      test: prov.filter((p) => p.split === 'test').length,
    };
    // the repartition really mixes: the test split holds trained-on samples
    assert.ok(expected.train > 0 && expected.test > 0, JSON.stringify(expected));

    // the removal itself: ids, then content hashes when the ids differ
    const iidStore = await FeatureStore.open(iidDir);
    const oodStore = await FeatureStore.open(oodDir);
    const seen = await seenSamples(iidStore);
    const byId = await unseenRows(seen, oodStore.split('test'));
    assert.deepEqual(byId.removal.fromSplit, { train: expected.train, valid: expected.valid });
    assert.equal(byId.removal.byId, expected.train + expected.valid);
    assert.equal(byId.removal.byContent, 0);
    assert.equal(byId.rows.length, expected.test);
    const testIds = (await oodStore.split('test').samples()).ids;
    for (const r of byId.rows) assert.match(testIds[r], /^test-/, 'only IID test samples are kept');
    await oodStore.close();

    // same samples under other ids (another export of the data): found by the text + features hash
    const renamed = path.join(t.dir, 'renamed');
    fs.cpSync(oodDir, renamed, { recursive: true });
    const sf = path.join(renamed, 'test', 'samples.json');
    const sm = JSON.parse(fs.readFileSync(sf, 'utf8')) as { ids: string[] };
    sm.ids = sm.ids.map((_, i) => `other-${i}`);
    fs.writeFileSync(sf, JSON.stringify(sm));
    const renamedStore = await FeatureStore.open(renamed);
    const byHash = await unseenRows(seen, renamedStore.split('test'));
    await renamedStore.close();
    await iidStore.close();
    assert.equal(byHash.removal.byId, 0);
    assert.equal(byHash.removal.byContent, expected.train + expected.valid);
    assert.deepEqual(byHash.rows, byId.rows);

    // through the comparison: counts shown, only unseen samples scored
    const run = await runTraining({ datasetDir: iidDir, runDir: path.join(t.dir, 'run'), options });
    const ckpt = run.bestCheckpoint ?? run.lastCheckpoint;
    const oodRun = await runTraining({ datasetDir: oodDir, runDir: path.join(t.dir, 'run2'), options });
    const c = await compareIidOod({
      checkpointFile: ckpt,
      runDatasetDir: iidDir,
      iidDir,
      oodDir: renamed,
      paired: { checkpointFile: oodRun.bestCheckpoint ?? oodRun.lastCheckpoint, runDatasetDir: oodDir },
    });
    assert.equal(c.iid.overlap!.removed, 0);
    assert.equal(c.iid.count, 20);
    assert.equal(c.ood.overlap!.removed, expected.train + expected.valid);
    assert.equal(c.ood.count, expected.test);
    assert.equal(
      c.ood.labelCounts.reduce((a, b) => a + b, 0),
      expected.test,
    );
    assert.match(
      c.ood.overlap!.note,
      new RegExp(`${expected.train + expected.valid} of ${prov.length} samples removed`),
    );
    assert.match(c.ood.overlap!.note, new RegExp(`train ${expected.train}, valid ${expected.valid}`));
    // the paper's protocol: the OOD run scores the whole OOD test split (it never saw it)
    assert.ok(c.paired);
    assert.equal(c.paired.ood.overlap!.removed, 0);
    assert.equal(c.paired.ood.count, prov.length);

    // an "OOD test" made of the run's own training split: nothing left, refused with the reason
    const leaked = path.join(t.dir, 'leaked');
    fs.cpSync(iidDir, leaked, { recursive: true });
    const mf = path.join(leaked, 'manifest.json');
    const m = JSON.parse(fs.readFileSync(mf, 'utf8')) as DatasetManifest;
    m.splits.test = m.splits.train;
    fs.writeFileSync(mf, JSON.stringify(m));
    await assert.rejects(
      compareIidOod({ checkpointFile: ckpt, runDatasetDir: iidDir, iidDir, oodDir: leaked }),
      /nothing left to score: OOD test split of iid: 60 of 60 samples removed .*train 60, valid 0/,
    );
  } finally {
    t.cleanup();
  }
});
