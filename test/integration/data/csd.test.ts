import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { CsdSequence, importCsd } from '../../../src/main/data/csd';
import { FeatureStore, SPLITS, type SplitName } from '../../../src/main/data/featureStore';
import { DataImportError } from '../../../src/main/data/errors';
import { py, pythonHas, tempDir } from '../../helpers/datasets';

const skip = pythonHas('numpy', 'h5py')
  ? false
  : 'Debian python3 with numpy and h5py is not installed (/usr/bin/python3)';

interface Expect {
  folds: Record<SplitName, string[]>;
  audio: Record<string, number[][]>;
  vision: Record<string, number[][]>;
  labels: Record<string, number>;
  words: Record<string, string>;
}

test('.csd sequences (HDF5) read with metadata, features and intervals', { skip }, async () => {
  const t = tempDir();
  try {
    const exp = JSON.parse(py('make_csd.py', [t.dir])) as Expect;
    const q = await CsdSequence.open(path.join(t.dir, 'CMU_MOSI_Visual_Facet_41.csd'));
    try {
      assert.equal(q.name, 'FACET 4.1');
      assert.equal(q.metadata['root name'], 'FACET 4.1');
      assert.equal(q.ids.length, 9);
      const e = q.read('seg03');
      assert.deepEqual(e.shape, [exp.vision.seg03.length, 3]);
      assert.deepEqual([...Float32Array.from(e.features)], exp.vision.seg03.flat());
      assert.equal(e.intervals!.length, e.shape[0] * 2);
    } finally {
      q.close();
    }
  } finally {
    t.cleanup();
  }
});

test('.csd audio + vision + labels + words import into a feature store by folds', { skip }, async () => {
  const t = tempDir();
  try {
    const exp = JSON.parse(py('make_csd.py', [t.dir])) as Expect;
    const p = (f: string) => path.join(t.dir, f);
    const { dir, manifest } = await importCsd({
      audio: p('CMU_MOSI_COVAREP.csd'),
      vision: p('CMU_MOSI_Visual_Facet_41.csd'),
      labels: p('CMU_MOSI_Opinion_Labels.csd'),
      words: p('CMU_MOSI_TimestampedWords.csd'),
      folds: exp.folds,
      audioFrames: 6,
      outDir: p('ds'),
    });
    assert.equal(manifest.dims.Ta, 6);
    assert.equal(manifest.dims.da, 4);
    assert.equal(manifest.dims.dv, 3);
    assert.ok(manifest.warnings.some((w) => /test: 1 fold ids are missing/.test(w)));
    assert.ok(manifest.warnings.some((w) => /train: 1 audio values of -inf set to 0/.test(w)));
    const store = await FeatureStore.open(dir);
    for (const s of SPLITS) {
      const r = store.split(s);
      const ids = exp.folds[s].filter((x) => x !== 'missing_id');
      const sm = await r.samples();
      assert.deepEqual(sm.ids, ids);
      assert.deepEqual(
        sm.rawText,
        ids.map((id) => exp.words[id]),
      );
      const a = await r.read('audio');
      const al = await r.read('audioLengths');
      const Tv = manifest.dims.Tv;
      const v = await r.read('vision');
      ids.forEach((id, i) => {
        const want = exp.audio[id].slice(0, 6);
        assert.equal(al[i], want.length);
        const row = [...a.subarray(i * 24, (i + 1) * 24)];
        assert.deepEqual(row, [...want.flat(), ...new Array(24 - want.length * 4).fill(0)].map(Math.fround));
        const vrow = [...v.subarray(i * Tv * 3, (i + 1) * Tv * 3)];
        assert.deepEqual(
          vrow,
          [...exp.vision[id].flat(), ...new Array(Tv * 3 - exp.vision[id].length * 3).fill(0)].map(Math.fround),
        );
      });
      assert.deepEqual(
        [...(await r.regression())],
        ids.map((id) => Math.fround(exp.labels[id])),
      );
    }
    await store.close();
  } finally {
    t.cleanup();
  }
});

test('.csd: NaN features and a corrupt file are refused, leaving nothing behind', { skip }, async () => {
  const t = tempDir();
  try {
    const exp = JSON.parse(py('make_csd.py', [t.dir, '--defect', 'nan'])) as Expect;
    const p = (f: string) => path.join(t.dir, f);
    const args = {
      audio: p('CMU_MOSI_COVAREP.csd'),
      vision: p('CMU_MOSI_Visual_Facet_41.csd'),
      labels: p('CMU_MOSI_Opinion_Labels.csd'),
      folds: exp.folds,
      outDir: p('ds'),
    };
    await assert.rejects(importCsd(args), (e: unknown) => {
      assert.ok(e instanceof DataImportError);
      assert.equal(
        e.message,
        "CMU_MOSI_COVAREP.csd: split 'valid', field 'data/seg06/features': value NaN at frame 2, channel 3",
      );
      return true;
    });
    assert.ok(!fs.existsSync(p('ds')));
    assert.deepEqual(
      fs.readdirSync(t.dir).filter((f) => f.startsWith('.')),
      [],
    );
    fs.writeFileSync(p('bad.csd'), fs.readFileSync(p('CMU_MOSI_COVAREP.csd')).subarray(0, 300));
    // cut short: the message says where it ends and how long its superblock says it is
    await assert.rejects(
      importCsd({ ...args, audio: p('bad.csd') }),
      /bad\.csd: truncated: the file ends at byte 300, but its HDF5 superblock says it is \d+ bytes long \(\d+ more bytes were needed\)/,
    );
    // the right length but garbage inside: refused, naming the file
    const garbage = Buffer.from(fs.readFileSync(p('CMU_MOSI_COVAREP.csd')));
    garbage.fill(0x55, 200);
    fs.writeFileSync(p('bad.csd'), garbage);
    await assert.rejects(importCsd({ ...args, audio: p('bad.csd') }), /^DataImportError: bad\.csd: /);
    assert.ok(!fs.existsSync(p('ds')));
  } finally {
    t.cleanup();
  }
});
