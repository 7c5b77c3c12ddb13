/**
 * Aligned data recognised from shapes and lengths (issue 15 item 2): MMSA's aligned_50 and the
 * CIDer OOD files carry audio/vision lengths equal to the text lengths with Ta = Tv = L. Such a
 * file must import as aligned (and record why), a trained run on it must take the aligned path
 * (no alignment attention), and the aligned-only TMFM/STMFM sweeps must run on it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { importMmsa } from '../../../src/main/data/mmsa';
import { DataImportError } from '../../../src/main/data/errors';
import { runTraining } from '../../../src/main/ml/runs/train';
import { runRobustness } from '../../../src/main/ml/analysis/robustness';
import { loadCheckpoint } from '../../../src/main/ml/runs/checkpoint';
import { trainingOptionsSchema } from '../../../src/shared/contract/training';
import { makeMmsa, pythonHas, tempDir } from '../../helpers/datasets';
import { TINY_MODEL } from '../../helpers/syntheticRuns';

const skip = pythonHas('numpy') ? false : 'Debian python3 with numpy is not installed (/usr/bin/python3)';

test('an aligned pickle WITH length arrays imports as aligned, says why, and a TMFM sweep runs', { skip }, async () => {
  const t = tempDir();
  try {
    const { file, expect } = makeMmsa(t.dir, 'aligned_50.pkl', ['--aligned', '--aligned-lengths', '--sizes', '24,8,8']);
    // the fixture really carries the lengths the old importer mistook for unaligned data
    assert.deepEqual(expect.train.audio_lengths, expect.train.vision_lengths);
    const out = path.join(t.dir, 'ds');
    const { manifest } = await importMmsa(file, { outDir: out });
    assert.equal(manifest.aligned, true);
    assert.equal(manifest.alignment?.how, 'detected');
    assert.match(
      manifest.alignment!.reason,
      /L = Ta = Tv = 8 and audio_lengths and vision_lengths equal the text lengths/,
    );

    const runDir = path.join(t.dir, 'run');
    const r = await runTraining({
      datasetDir: out,
      runDir,
      options: trainingOptionsSchema.parse({ batchSize: 8, maxEpochs: 1, model: TINY_MODEL, workers: 1 }),
    });
    const ckpt = loadCheckpoint(r.bestCheckpoint ?? r.lastCheckpoint);
    assert.equal(ckpt.state.ciderConfig.aligned, true, 'the model takes the aligned path (no WSAM)');
    const sweep = await runRobustness({
      checkpointFile: r.bestCheckpoint ?? r.lastCheckpoint,
      datasetDir: out,
      protocols: ['TMFM', 'STMFM'],
      rates: [0, 0.5, 1],
      seed: 1111,
    });
    for (const c of sweep.curves) {
      assert.equal(c.skipped, undefined, `${c.protocol} was skipped: ${c.skipped}`);
      assert.deepEqual(c.rates, [0, 0.5, 1]);
      assert.equal(c.metrics.Acc_3.length, 3);
      assert.ok(c.metrics.Acc_3.every((x) => x >= 0 && x <= 1));
    }
  } finally {
    t.cleanup();
  }
});

test(
  'aligned shapes whose lengths differ from the text lengths are unaligned, with the sample named',
  { skip },
  async () => {
    const t = tempDir();
    try {
      // unaligned lengths drawn at random, arrays padded to L: shapes permit alignment, lengths do not
      const { file } = makeMmsa(t.dir, 'u.pkl', ['--Ta', '8', '--Tv', '8', '--seed', '3']);
      const { manifest } = await importMmsa(file, { outDir: path.join(t.dir, 'ds') });
      assert.equal(manifest.aligned, false);
      assert.match(
        manifest.alignment!.reason,
        /unaligned: L = Ta = Tv = 8 but train (audio|vision)_lengths\[\d+\] = \d+ differs/,
      );
    } finally {
      t.cleanup();
    }
  },
);

test('--aligned / --unaligned override, checked against the shapes', { skip }, async () => {
  const t = tempDir();
  try {
    const aligned = makeMmsa(t.dir, 'a.pkl', ['--aligned', '--aligned-lengths']).file;
    const u = await importMmsa(aligned, { outDir: path.join(t.dir, 'u'), alignment: 'unaligned' });
    assert.equal(u.manifest.aligned, false);
    assert.equal(u.manifest.alignment?.how, 'forced');

    const forced = makeMmsa(t.dir, 'f.pkl', ['--Ta', '8', '--Tv', '8', '--seed', '3']).file;
    const f = await importMmsa(forced, { outDir: path.join(t.dir, 'f'), alignment: 'aligned' });
    assert.equal(f.manifest.aligned, true);
    assert.ok(f.manifest.warnings.some((w) => /aligned by choice/.test(w)));

    const unalignedShapes = makeMmsa(t.dir, 'n.pkl', ['--Ta', '6', '--Tv', '7']).file;
    await assert.rejects(importMmsa(unalignedShapes, { outDir: path.join(t.dir, 'n'), alignment: 'aligned' }), (e) => {
      assert.ok(e instanceof DataImportError);
      assert.equal(e.file, 'n.pkl');
      assert.match(e.message, /cannot be imported as aligned: the time axes differ \(L = 8, Ta = 6, Tv = 7\)/);
      return true;
    });
  } finally {
    t.cleanup();
  }
});
