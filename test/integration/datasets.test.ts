/**
 * The datasets service end to end under plain Node: import jobs in real worker threads, the
 * commit into SQLite, OOD builds, the read methods, and that a failed or cancelled import leaves
 * no row, no folder and the other datasets untouched.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { createApp, type AppServices } from '../../src/main/services/app';
import type { BiasWordList, Dataset, SampleDetail, SamplePage } from '../../src/shared/contract/datasets';
import type { AppEvent, JobRecord } from '../../src/shared/types';
import { makeMmsa, py, pythonHas } from '../helpers/datasets';
import { tempDir } from '../helpers/tmp';

const skip = pythonHas('numpy') ? false : 'Debian python3 with numpy is not installed (/usr/bin/python3)';

async function call<T>(app: AppServices, method: string, args: unknown): Promise<T> {
  const env = await app.dispatch(method, args);
  if (!env.ok) throw Object.assign(new Error(env.error.message), { code: env.error.code });
  return env.value as T;
}

/** every file under a folder (but the jobs' staging area) with its size and mtime, to show it was not touched */
function snapshot(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[])
    .filter((f) => !f.startsWith('.staging'))
    .sort()
    .map((f) => {
      const st = fs.statSync(path.join(dir, f));
      return `${f} ${st.isFile() ? st.size : 'dir'} ${st.mtimeMs}`;
    });
}

test('import, OOD split, reads; failed and cancelled imports leave nothing behind', { skip }, async () => {
  const dir = tempDir();
  const src = tempDir();
  const app = createApp({ dataDir: dir, mode: 'cli', seedDemo: false });
  const events: AppEvent[] = [];
  app.events.subscribe((e) => events.push(e));
  try {
    const { file, expect } = makeMmsa(src, 'mosi_aligned_50.pkl', [
      '--sizes',
      '24,6,10',
      '--aligned',
      '--L',
      '10',
      '--seed',
      '3',
    ]);
    const job = await call<JobRecord>(app, 'datasets.import', { files: [file], name: 'MOSI tiny' });
    assert.equal(job.kind, 'dataset.import');
    const done = await app.runner.wait(job.id);
    assert.equal(done.status, 'succeeded', JSON.stringify(done.error));
    assert.equal(done.progress.fraction, 1);
    const iid = done.result as Dataset;
    assert.equal(iid.name, 'MOSI tiny');
    assert.equal(iid.kind, 'iid');
    assert.equal(iid.format, 'mmsa-pickle');
    assert.equal(iid.aligned, true);
    assert.deepEqual([iid.splits.train.count, iid.splits.valid.count, iid.splits.test.count], [24, 6, 10]);
    const count = (xs: number[], c: number) => Array.from({ length: c }, (_, k) => xs.filter((x) => x === k).length);
    for (const s of ['train', 'valid', 'test'] as const) {
      assert.deepEqual(iid.splits[s].labels.three, count(expect[s].labels3, 3), s);
      assert.deepEqual(iid.splits[s].labels.seven, count(expect[s].labels7, 7), s);
    }
    assert.ok(events.some((e) => e.type === 'datasets.changed'));
    assert.deepEqual(await call<Dataset[]>(app, 'datasets.list', {}), [iid]);
    const folder = path.join(dir, 'datasets', iid.folder);
    assert.ok(fs.existsSync(path.join(folder, 'manifest.json')));
    assert.deepEqual(fs.readdirSync(path.join(dir, 'datasets', '.staging')), [], 'the staging folder is emptied');

    // reads
    const page = await call<SamplePage>(app, 'datasets.samples', { id: iid.id, split: 'valid', offset: 2, limit: 3 });
    assert.equal(page.total, 6);
    assert.deepEqual(
      page.samples.map((s) => s.id),
      expect.valid.id.slice(2, 5),
    );
    assert.deepEqual(
      page.samples.map((s) => s.text),
      expect.valid.raw_text.slice(2, 5),
    );
    assert.deepEqual(
      page.samples.map((s) => s.label7),
      expect.valid.labels7.slice(2, 5),
    );
    const mask = expect.valid.text_bert[3][1];
    assert.equal(
      page.samples[1].lengths.text,
      mask.reduce((a, b) => a + b, 0),
    );
    const one = await call<SampleDetail>(app, 'datasets.sample', { id: iid.id, split: 'valid', index: 3, points: 4 });
    assert.deepEqual(one.tokenIds, expect.valid.text_bert[3][0].slice(0, one.lengths.text!));
    assert.equal(one.audio.channels, 5);
    assert.equal(one.audio.series.length, 5);
    assert.equal(one.audio.x.length, Math.min(4, one.lengths.audio));
    // the first point of channel 0 is the mean of the first frames of the sample
    const [, Ta, da] = expect.valid.audio_shape;
    const row = expect.valid.audio.slice(3 * Ta * da, 4 * Ta * da);
    const per = Math.floor(one.lengths.audio / one.audio.x.length);
    const mean = Array.from({ length: per }, (_, f) => row[f * da]).reduce((a, b) => a + b, 0) / per;
    assert.ok(Math.abs(one.audio.series[0][0] - mean) < 1e-5);
    await assert.rejects(call(app, 'datasets.sample', { id: iid.id, split: 'valid', index: 6 }), { code: 'NOT_FOUND' });

    const bias = await call<BiasWordList>(app, 'datasets.biasWords', { id: iid.id, task: 3, k: 5 });
    assert.ok(bias.words.length > 0 && bias.words.length <= 5);
    for (const w of bias.words) {
      assert.equal(w.counts.length, 3);
      assert.equal(
        w.total,
        w.counts.reduce((a, b) => a + b, 0),
      );
    }
    // per-class counts agree with a direct count over the training split
    const top = bias.words[0];
    const direct = [0, 0, 0];
    expect.train.text_bert.forEach((tb, i) =>
      tb[0].forEach((t, k) => tb[1][k] && t === top.id && direct[expect.train.labels3[i]]++),
    );
    assert.deepEqual(top.counts, direct);
    assert.equal(
      (await call<BiasWordList>(app, 'datasets.biasWords', { id: iid.id, task: 7, k: 3 })).words[0].counts.length,
      7,
    );

    // OOD version
    const oodJob = await call<JobRecord>(app, 'datasets.splitOod', { id: iid.id, seed: 7 });
    const oodDone = await app.runner.wait(oodJob.id);
    assert.equal(oodDone.status, 'succeeded', JSON.stringify(oodDone.error));
    const ood = oodDone.result as Dataset;
    assert.equal(ood.kind, 'ood');
    assert.equal(ood.parentId, iid.id);
    assert.equal(ood.name, 'MOSI tiny OOD seed 7');
    assert.equal(ood.ood!.seed, 7);
    assert.deepEqual([ood.splits.train.count, ood.splits.valid.count, ood.splits.test.count], [24, 6, 10]);
    const sum3 = (d: Dataset) =>
      [0, 1, 2].map(
        (c) => d.splits.train.labels.three[c] + d.splits.valid.labels.three[c] + d.splits.test.labels.three[c],
      );
    assert.deepEqual(sum3(ood), sum3(iid), 'the same samples, repartitioned');
    await assert.rejects(call(app, 'datasets.splitOod', { id: ood.id, seed: 1 }), { code: 'INVALID_INPUT' });
    await assert.rejects(call(app, 'datasets.splitOod', { id: iid.id, seed: 7 }), { code: 'CONFLICT' });
    await assert.rejects(call(app, 'datasets.remove', { id: iid.id }), { code: 'CONFLICT' });

    const before = snapshot(path.join(dir, 'datasets'));

    // a file with a label out of range: the job fails naming file, split and field
    const bad = makeMmsa(src, 'bad.pkl', ['--defect', 'label-range']).file;
    const failed = await app.runner.wait(
      (await call<JobRecord>(app, 'datasets.import', { files: [bad], name: 'bad' })).id,
    );
    assert.equal(failed.status, 'failed');
    assert.equal(failed.error!.code, 'INVALID_INPUT');
    assert.match(
      failed.error!.message,
      /bad\.pkl: split 'test', field 'regression_labels': sample 1 .* outside \[-3, 3\]/,
    );

    // cancelled as soon as it reports progress
    py('make_big_mmsa.py', [path.join(src, 'big.pkl'), '--gb', '0.02', '--no-text']);
    const slow = await call<JobRecord>(app, 'datasets.import', { files: [path.join(src, 'big.pkl')], name: 'big' });
    await new Promise<void>((resolve) => {
      const off = app.events.subscribe((e) => {
        if (e.type === 'job.updated' && e.job.id === slow.id && e.job.status === 'running') {
          off();
          app.runner.cancel(slow.id);
          resolve();
        }
      });
    });
    assert.equal((await app.runner.wait(slow.id)).status, 'cancelled');

    // wrong paths and file types are refused before a job starts
    await assert.rejects(
      call(app, 'datasets.import', { files: [path.join(src, 'nope.pkl')] }),
      (e: { code: string; message: string }) =>
        e.code === 'INVALID_INPUT' && e.message.includes('nope.pkl: file not found'),
    );
    await assert.rejects(call(app, 'datasets.import', { files: [`${file}.expect.json`] }), /unknown header/);
    await assert.rejects(call(app, 'datasets.import', { files: [file], name: 'mosi TINY' }), { code: 'CONFLICT' });

    assert.deepEqual(snapshot(path.join(dir, 'datasets')), before, 'no folder was added or touched');
    assert.deepEqual(
      (await call<Dataset[]>(app, 'datasets.list', {})).map((d) => d.name),
      ['MOSI tiny', 'MOSI tiny OOD seed 7'],
    );

    // removal: the OOD version first, then its IID dataset; folders go with the rows
    await call(app, 'datasets.remove', { id: ood.id });
    await call(app, 'datasets.remove', { id: iid.id });
    assert.deepEqual(await call<Dataset[]>(app, 'datasets.list', {}), []);
    assert.deepEqual(fs.readdirSync(path.join(dir, 'datasets')), ['.staging']);
  } finally {
    await app.close();
  }
});

test('a commit that fails (the name was taken meanwhile) fails the job and removes its folder', { skip }, async () => {
  const dir = tempDir();
  const src = tempDir();
  const app = createApp({ dataDir: dir, mode: 'cli', seedDemo: false, maxConcurrentJobs: 2 });
  try {
    const { file } = makeMmsa(src, 'a.pkl');
    // both are accepted (the name is free when asked); the second to finish cannot be recorded
    const a = await call<JobRecord>(app, 'datasets.import', { files: [file], name: 'same' });
    const b = await call<JobRecord>(app, 'datasets.import', { files: [file], name: 'same' });
    const results = [await app.runner.wait(a.id), await app.runner.wait(b.id)];
    assert.deepEqual(results.map((j) => j.status).sort(), ['failed', 'succeeded']);
    const loser = results.find((j) => j.status === 'failed')!;
    assert.equal(loser.error!.code, 'CONFLICT');
    const list = await call<Dataset[]>(app, 'datasets.list', {});
    assert.equal(list.length, 1);
    assert.deepEqual(fs.readdirSync(path.join(dir, 'datasets')).sort(), ['.staging', list[0].folder]);
  } finally {
    await app.close();
  }
});

test(
  'a .csd set (roles from the sequence names) with folds, plus a prior and a confounder .npy',
  { skip: pythonHas('numpy', 'h5py') ? false : 'Debian python3 with numpy and h5py is not installed' },
  async () => {
    const dir = tempDir();
    const src = tempDir();
    const app = createApp({ dataDir: dir, mode: 'cli', seedDemo: false });
    try {
      const exp = JSON.parse(py('make_csd.py', [src])) as { folds: Record<string, string[]> };
      py('make_npy.py', [src]);
      const folds = path.join(src, 'folds.json');
      fs.writeFileSync(folds, JSON.stringify(exp.folds));
      const csd = [
        'CMU_MOSI_TimestampedWords.csd',
        'CMU_MOSI_Opinion_Labels.csd',
        'CMU_MOSI_COVAREP.csd',
        'CMU_MOSI_Visual_Facet_41.csd',
      ].map((f) => path.join(src, f));
      await assert.rejects(call(app, 'datasets.import', { files: csd }), /needs its folds/);
      const extras = ['prior_iid_binary_train.npy', 'confounder_iid_binary_train_unaligned.npy'].map((f) =>
        path.join(src, f),
      );
      const job = await call<JobRecord>(app, 'datasets.import', { files: csd, name: 'csd set', folds, extras });
      const done = await app.runner.wait(job.id);
      assert.equal(done.status, 'succeeded', JSON.stringify(done.error));
      const d = done.result as Dataset;
      assert.equal(d.format, 'csd');
      assert.deepEqual([d.splits.train.count, d.splits.valid.count, d.splits.test.count], [5, 2, 2]);
      assert.deepEqual(d.extras.sort(), [
        'confounder/confounder_iid_binary_train_unaligned',
        'prior/prior_iid_binary_train',
      ]);
      const page = await call<SamplePage>(app, 'datasets.samples', { id: d.id, split: 'train', limit: 2 });
      assert.equal(page.samples[0].text, 'this is clip 0');
      await assert.rejects(call(app, 'datasets.biasWords', { id: d.id, task: 3 }), /has no token ids/);

      // a bad extra fails the whole import, naming the file and field
      const bad = await app.runner.wait(
        (
          await call<JobRecord>(app, 'datasets.import', {
            files: csd,
            name: 'csd 2',
            folds,
            extras: [path.join(src, 'prior_bad.npy')],
          })
        ).id,
      );
      assert.equal(bad.status, 'failed');
      assert.match(bad.error!.message, /prior_bad\.npy: field 'prior': has 4 classes/);
      assert.deepEqual(
        (await call<Dataset[]>(app, 'datasets.list', {})).map((x) => x.name),
        ['csd set'],
      );
    } finally {
      await app.close();
    }
  },
);
