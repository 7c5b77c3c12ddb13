/**
 * Issue 22: every job kind that uses TensorFlow.js runs in its worker thread on the backend
 * `cider doctor` reports (wasm on these machines), never silently on the pure-JS cpu one. Each job
 * runs for real (a worker thread per job, a real SQLite file, a tiny BERT, tiny datasets) and its
 * result says which backend the worker chose and which backends its TF.js work actually ran on
 * (recorded by the BERT encoder, the CIDer forward pass and the face model as they run).
 * Evaluation, sweeps and OOD comparisons run BERT on ONNX Runtime when they can (issue 17); they
 * are run here with CIDER_TEXT_ENGINE=tfjs too, the path where BERT runs on TF.js in the worker.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createApp, type AppServices } from '../../src/main/services/app';
import type { JobRecord } from '../../src/shared/types';
import type { RunRecord } from '../../src/shared/contract/training';
import type { RobustnessSweep } from '../../src/shared/contract/analysis';
import type { SearchRecord } from '../../src/shared/contract/search';
import type { ImportResult } from '../../src/shared/clips';
import { runCli } from '../../src/cli/main';
import { tempDir } from '../helpers/tmp';
import { registerSynthetic } from '../helpers/analysis';
import { TINY_MODEL, writeTinyBaseCompatibleBert } from '../helpers/syntheticRuns';
import { haveFfmpeg, makeClip } from '../helpers/clips';

let app: AppServices;
let doctorBackend: string;
const bert = writeTinyBaseCompatibleBert();
const dataDir = tempDir('cider-jobs-backend-');

async function call<T>(method: string, args: unknown): Promise<T> {
  const env = await app.dispatch(method, args);
  if (!env.ok) throw new Error(`${method}: ${env.error.code} ${env.error.message}`);
  return env.value as T;
}

before(async () => {
  app = createApp({ dataDir, mode: 'cli', seedDemo: false });
  // what `cider doctor` reports on this machine (its own app on the same data folder)
  const lines: string[] = [];
  const code = await runCli(['doctor', '--json', '--data-dir', dataDir], {
    out: (l) => lines.push(l),
    err: () => undefined,
  });
  assert.equal(code, 0);
  doctorBackend = (JSON.parse(lines.join('\n')) as { backend: { name: string } }).backend.name;
  assert.notEqual(doctorBackend, 'cpu', 'this machine has the wasm backend; doctor must not fall back to cpu');
});
after(async () => {
  await app?.close();
  bert.cleanup();
});

/** The job succeeded, and its TF.js work ran on doctor's backend only (and there was some). */
async function assertOnDoctorBackend(job: JobRecord): Promise<JobRecord> {
  const done = await app.runner.wait(job.id);
  assert.equal(done.status, 'succeeded', JSON.stringify(done.error));
  const r = done.result as { tfjs?: { backend: string; used: string[] } };
  assert.ok(r.tfjs, `job ${job.kind} records its TF.js backend: ${JSON.stringify(done.result)}`);
  assert.equal(r.tfjs.backend, doctorBackend, `${job.kind}: chosen backend`);
  assert.deepEqual(r.tfjs.used, [doctorBackend], `${job.kind}: backends the work ran on`);
  const logs = await call<{ message: string }[]>('jobs.logs', { id: job.id });
  assert.ok(
    logs.some((l) => l.message.startsWith(`TF.js backend ${doctorBackend} `)),
    logs.map((l) => l.message).join('\n'),
  );
  return done;
}

/** Submit with BERT kept on TF.js (worker threads copy process.env when they start). */
async function onTfjsText<T>(submit: () => Promise<T>): Promise<T> {
  process.env.CIDER_TEXT_ENGINE = 'tfjs';
  try {
    return await submit();
  } finally {
    delete process.env.CIDER_TEXT_ENGINE;
  }
}

let datasetId: number;
let oodId: number;
let run: RunRecord;

test('train (frozen BERT) runs BERT and CIDer on the backend doctor reports', async () => {
  const iid = await registerSynthetic(app, {
    name: 'syn',
    sizes: { train: 12, valid: 6, test: 6 },
    aligned: false,
    seed: 8,
  });
  datasetId = iid.id;
  oodId = (
    await registerSynthetic(app, {
      name: 'syn OOD',
      kind: 'ood',
      parentId: iid.id,
      sizes: { train: 12, valid: 6, test: 6 },
      aligned: false,
      seed: 21,
    })
  ).id;
  const started = await call<{ run: RunRecord; job: JobRecord }>('runs.start', {
    datasetId,
    options: { maxEpochs: 1, model: TINY_MODEL, batchSize: 6, text: { kind: 'frozen', modelDir: bert.dir } },
  });
  await assertOnDoctorBackend(started.job);
  run = await call<RunRecord>('runs.get', { id: started.run.id });
});

test('evaluate re-encodes missing text with BERT on the backend doctor reports; the record says so', async () => {
  const job = await onTfjsText(() =>
    call<JobRecord>('runs.evaluate', { id: run.id, options: { protocols: ['RMFM'] } }),
  );
  const done = await assertOnDoctorBackend(job);
  const r = done.result as { engine: string; textNote: string };
  assert.match(r.textNote, new RegExp(`BERT on TF\\.js ${doctorBackend} \\(CIDER_TEXT_ENGINE=tfjs\\)$`));
  const [ev] = await call<{ engine: string; textNote: string }[]>('runs.evaluations', { id: run.id });
  assert.equal(ev.engine, r.engine);
  assert.match(ev.textNote, new RegExp(`BERT on TF\\.js ${doctorBackend}`));
});

test('analysis.robustness on the backend doctor reports; the stored sweep names it next to the engine', async () => {
  const job = await onTfjsText(() =>
    call<JobRecord>('analysis.robustness', { runId: run.id, protocols: ['RMFM'], rates: [0, 0.5] }),
  );
  await assertOnDoctorBackend(job);
  const [sweep] = await call<RobustnessSweep[]>('analysis.sweeps', { runIds: [run.id] });
  assert.match(sweep.textNote, new RegExp(`BERT on TF\\.js ${doctorBackend}`));
  // by default BERT runs on ONNX Runtime (as does CIDer): no TF.js op at all, and the note says so
  const onnxJob = await call<JobRecord>('analysis.robustness', { runId: run.id, protocols: ['RMFM'], rates: [0, 0.5] });
  const done = await app.runner.wait(onnxJob.id);
  assert.equal(done.status, 'succeeded', JSON.stringify(done.error));
  assert.deepEqual((done.result as { tfjs: unknown }).tfjs, { backend: doctorBackend, used: [] });
  const [latest] = await call<RobustnessSweep[]>('analysis.sweeps', { runIds: [run.id] });
  assert.match(latest.textNote, /BERT on ONNX Runtime \(onnxruntime [\d.]+ cpu, \d+ threads\)$/);
});

test('analysis.compareOod on the backend doctor reports', async () => {
  assert.ok(oodId > 0);
  await assertOnDoctorBackend(await onTfjsText(() => call<JobRecord>('analysis.compareOod', { runId: run.id })));
});

test('search trains its trials on the backend doctor reports', async () => {
  const s = await call<SearchRecord>('search.start', {
    datasetId,
    trials: 1,
    options: { maxEpochs: 1, batchSize: 6, model: TINY_MODEL },
  });
  await assertOnDoctorBackend(s.job);
});

test('backend.selftest multiplies on the backend doctor reports', async () => {
  const job = await call<JobRecord>('jobs.selfTest', { size: 16, iterations: 2 });
  const done = await app.runner.wait(job.id);
  assert.equal(done.status, 'succeeded', JSON.stringify(done.error));
  assert.equal((done.result as { backend: string }).backend, doctorBackend);
  assert.equal((done.result as { tfjs: { backend: string } }).tfjs.backend, doctorBackend);
});

test(
  'clips.extract runs the face model on the backend doctor reports',
  { skip: haveFfmpeg ? false : 'ffmpeg not found' },
  async () => {
    const media = tempDir('cider-jobs-backend-media-');
    makeClip(media, { name: 'face', words: 'word104 word105', face: true, audio: false, seconds: 1 });
    const projectId = (await call<{ id: number }>('projects.create', { name: 'clips' })).id;
    const imported = await call<ImportResult>('clips.import', { projectId, paths: [media] });
    assert.equal(imported.imported.length, 1, JSON.stringify(imported.failed));
    const job = await call<JobRecord>('clips.extract', { projectId, bertDir: bert.dir, visionRate: 2 });
    const done = await assertOnDoctorBackend(job);
    assert.equal((done.result as { failed: unknown[] }).failed.length, 0);
  },
);
