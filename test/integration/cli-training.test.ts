/**
 * Training and evaluation end to end: through bin/cider.mjs on a dataset imported with
 * `cider import`, and through the runs service and the job runner (stop, resume).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createApp } from '../../src/main/services/app';
import type { RunEpoch, RunRecord } from '../../src/shared/contract/training';
import { trainProgressOf, type JobRecord } from '../../src/shared/jobs';
import { makeMmsa, pythonHas } from '../helpers/datasets';
import { TINY_MODEL, writeSyntheticStore } from '../helpers/syntheticRuns';
import { tempDir } from '../helpers/tmp';

const cli = fileURLToPath(new URL('../../bin/cider.mjs', import.meta.url));
const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 300_000, env: { ...process.env, ...env } });
const skip = pythonHas('numpy') ? false : 'Debian python3 with numpy is not installed (/usr/bin/python3)';

test(
  'cider train, runs and eval --protocol RMFM --rates 0:1:0.1 on a dataset imported with cider import',
  { skip },
  () => {
    const dir = tempDir();
    const src = tempDir();
    makeMmsa(src, 'mosi.pkl', ['--sizes', '24,12,12', '--aligned']);
    const imp = run(['import', path.join(src, 'mosi.pkl'), '--name', 'tiny', '--data-dir', dir]);
    assert.equal(imp.status, 0, imp.stderr);

    const tr = run([
      'train',
      '--dataset',
      'tiny',
      '--epochs',
      '2',
      '--batch-size',
      '8',
      '--d',
      '8',
      '--layers',
      '1',
      '--heads',
      '2',
      '--data-dir',
      dir,
    ]);
    assert.equal(tr.status, 0, tr.stderr);
    assert.match(
      tr.stderr,
      /note: text comes from the dataset's precomputed BERT features.*ZERO/,
      'features mode says what it does to missing text',
    );
    // per-batch progress; updates are throttled to one per 200 ms, so not every batch is printed
    assert.match(tr.stderr, /epoch [12]\/2 batch [123]\/3/, 'progress per batch');
    assert.match(
      tr.stdout,
      /1 {2}tiny 3-class\s+completed\s+3-class\s+text features\s+epochs\s+2\/2\s+best Non0_acc_2 [\d.]+ @\d\s+tfjs-wasm/,
    );
    assert.match(tr.stdout, /^\s+1\s+[\d.]+ /m, 'the epoch table');

    const runs = run(['runs', '--json', '--data-dir', dir]);
    const list = JSON.parse(runs.stdout) as RunRecord[];
    assert.equal(list.length, 1);
    assert.equal(list[0].epochsDone, 2);
    assert.equal(list[0].options.seed, 1111, 'the paper defaults fill what the command line left out');
    assert.equal(list[0].options.patience, 10);

    const ev = run(['eval', '1', '--protocol', 'RMFM', '--rates', '0:1:0.1', '--data-dir', dir]);
    assert.equal(ev.status, 0, ev.stderr);
    // training ends with an ONNX export of the best checkpoint, so evaluation runs on ONNX Runtime
    assert.match(tr.stderr, /ONNX export \S+best\.onnx/);
    assert.match(ev.stdout, /evaluation 1: RMFM on the test split \(best checkpoint, mask seed 1111\), engine onnx/);
    assert.match(ev.stdout, /text: .*ZEROED/);
    const rows = ev.stdout.split('\n').filter((l) => /^ {2}(0|0\.\d|1) +[\d.]+/.test(l));
    assert.equal(rows.length, 11, ev.stdout);
    assert.match(ev.stdout, /^ {2}AUILC +[\d.]+/m);

    // the TF.js engine, forced, gives the same table
    const evTf = run(['eval', '1', '--protocol', 'RMFM', '--rates', '0:1:0.1', '--data-dir', dir], {
      CIDER_ENGINE: 'tfjs',
    });
    assert.equal(evTf.status, 0, evTf.stderr);
    assert.match(evTf.stdout, /evaluation \d+: RMFM .*engine tfjs-wasm/);
    const rowsTf = evTf.stdout.split('\n').filter((l) => /^ {2}(0|0\.\d|1) +[\d.]+/.test(l));
    assert.deepEqual(rowsTf, rows);

    const show = run(['runs', 'show', '1', '--data-dir', dir]);
    assert.match(show.stdout, /evaluation 1: RMFM/);
    const tmfm = run(['eval', '1', '--protocol', 'TMFM,MACI', '--rates', '0,1', '--data-dir', dir]);
    assert.equal(tmfm.status, 0, tmfm.stderr);
    assert.match(tmfm.stdout, /evaluation 3: TMFM/);
    assert.match(tmfm.stdout, /MACI skipped: MACI needs a BERT model/);
    const bad = run(['eval', '1', '--protocol', 'RMFM', '--rates', '0:2:0.5', '--data-dir', dir]);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--rates: .*outside \[0, 1\]/);
  },
);

const waitFor = (app: ReturnType<typeof createApp>, pred: (j: JobRecord) => boolean) =>
  new Promise<void>((resolve) => {
    const off = app.events.subscribe((e) => {
      if (e.type === 'job.updated' && pred(e.job)) {
        off();
        resolve();
      }
    });
  });

test('the runs service: a stopped run keeps its epochs, resumes, and ends like the uninterrupted run', async () => {
  const dataDir = tempDir();
  const { dir: dataset } = await writeSyntheticStore(path.join(tempDir(), 'ds'), {
    sizes: { train: 32, valid: 16, test: 16 },
  });
  const app = createApp({ dataDir, mode: 'cli', seedDemo: false });
  try {
    const call = async <T>(method: string, args: unknown): Promise<T> => {
      const env = await app.dispatch(method, args);
      if (!env.ok) throw new Error(`${method}: ${env.error.message}`);
      return env.value as T;
    };
    const options = { batchSize: 8, maxEpochs: 4, model: TINY_MODEL };
    const whole = await call<{ run: RunRecord; job: JobRecord }>('runs.start', { datasetFolder: dataset, options });
    assert.equal((await app.runner.wait(whole.job.id)).status, 'succeeded');
    const wholeEpochs = await call<RunEpoch[]>('runs.epochs', { id: whole.run.id });
    assert.equal(wholeEpochs.length, 4);

    const cut = await call<{ run: RunRecord; job: JobRecord }>('runs.start', { datasetFolder: dataset, options });
    // stop once epoch 2 is under way
    await waitFor(
      app,
      (j) => j.id === cut.job.id && trainProgressOf(j)?.epoch === 2 && trainProgressOf(j)?.batch !== undefined,
    );
    await call('runs.stop', { id: cut.run.id });
    assert.equal((await app.runner.wait(cut.job.id)).status, 'cancelled');
    const stopped = await call<RunRecord>('runs.get', { id: cut.run.id });
    assert.equal(stopped.status, 'stopped');
    assert.equal(stopped.epochsDone, 1, 'the finished epoch is kept, the cancelled one discarded');
    assert.ok(stopped.lastCheckpoint?.endsWith('last.safetensors'));

    const resumed = await call<{ run: RunRecord; job: JobRecord }>('runs.resume', { id: cut.run.id });
    assert.equal((await app.runner.wait(resumed.job.id)).status, 'succeeded');
    const done = await call<RunRecord>('runs.get', { id: cut.run.id });
    assert.equal(done.status, 'completed');
    const strip = (es: RunEpoch[]) =>
      es.map((e) => ({ epoch: e.epoch, losses: e.losses, validation: e.validation, improved: e.improved }));
    assert.deepEqual(strip(await call<RunEpoch[]>('runs.epochs', { id: cut.run.id })), strip(wholeEpochs));
    assert.equal(done.bestMetric, (await call<RunRecord>('runs.get', { id: whole.run.id })).bestMetric);

    const evJob = await call<JobRecord>('runs.evaluate', {
      id: cut.run.id,
      options: { protocols: ['complete', 'RMM'], rates: [0, 0.5, 1] },
    });
    assert.equal((await app.runner.wait(evJob.id)).status, 'succeeded');
    const evals = await call<
      { id: number; protocol: string; points: unknown[]; auilc: Record<string, number> | null; engine: string }[]
    >('runs.evaluations', { id: cut.run.id });
    assert.deepEqual(
      evals.map((e) => [e.protocol, e.points.length]),
      [
        ['complete', 1],
        ['RMM', 3],
      ],
    );
    assert.equal(evals[0].engine, 'onnx', 'a completed run has an ONNX export');
    const preds = await call<{ truth: number; prediction: number; logProbs: number[] }[]>('runs.predictions', {
      evaluationId: evals[0].id,
    });
    assert.equal(preds.length, 16);
    assert.equal(preds[0].logProbs.length, 3);
    await assert.rejects(call('runs.resume', { id: cut.run.id }), /already finished/);
  } finally {
    await app.close();
  }
});
