import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  trainingOptionsSchema,
  type EpochLosses,
  type RunEpoch,
  type RunRecord,
} from '../../../src/shared/contract/training';
import type { JobRecord, JobRecordOf, MemoryFigures, TrainBatchProgress } from '../../../src/shared/jobs';
import {
  batchLossSeries,
  epochLossSeries,
  epochProgress,
  fineTuneNote,
  formErrors,
  initialTraining,
  optionsFromForm,
  PAPER_DEFAULTS,
  trainingReducer,
  validationSeries,
  type TrainingState,
} from '../../../src/renderer/src/state/training';
import { FINETUNE_BENCH, fineTuneBatchEstimateMs } from '../../../src/shared/textBench';

const losses = (x: number): EpochLosses => ({
  taskFull: x,
  taskMissing: x,
  joint: x,
  attention: x,
  reconText: x,
  reconAudio: x,
  reconVision: x,
  total: x,
});
const run = (over: Partial<RunRecord> = {}): RunRecord => ({
  id: 1,
  projectId: null,
  datasetId: 3,
  datasetFolder: '/d/tiny',
  name: 'tiny 3-class',
  options: { ...PAPER_DEFAULTS, maxEpochs: 3 },
  status: 'queued',
  jobId: 10,
  folder: '/r/r1',
  epochsDone: 0,
  selectionMetric: 'Non0_acc_2',
  bestEpoch: null,
  bestMetric: null,
  bestCheckpoint: null,
  lastCheckpoint: null,
  engine: null,
  error: null,
  createdAt: '',
  startedAt: null,
  finishedAt: null,
  ...over,
});
// progress figures as a worker sends them; some events here carry only part of them
const job = (
  over: Partial<JobRecordOf<'train'>> & {
    data?: Omit<Partial<TrainBatchProgress>, 'memory'> & { memory?: Partial<MemoryFigures> };
  } = {},
): JobRecord => ({
  id: 10,
  kind: 'train',
  status: 'running',
  projectId: null,
  params: { runId: 1, resume: false },
  progress: { fraction: 0, message: '', data: over.data as TrainBatchProgress | undefined },
  result: null,
  error: null,
  createdAt: '',
  startedAt: null,
  finishedAt: null,
  ...over,
});
const batchEvent = (epoch: number, batch: number, at: number, x = 1, over: Partial<JobRecordOf<'train'>> = {}) =>
  ({
    type: 'event',
    now: 0,
    event: {
      type: 'job.updated',
      job: job({
        ...over,
        data: {
          runId: 1,
          epoch,
          batch,
          batches: 4,
          losses: losses(x),
          at,
          memory: { rssBytes: 300 * 2 ** 20, heapUsedBytes: 2 ** 20 },
        },
      }),
    },
  }) as const;

test('the form starts at the paper defaults and submits them unchanged', () => {
  assert.deepEqual(trainingOptionsSchema.parse(optionsFromForm(initialTraining.form)), PAPER_DEFAULTS);
  assert.equal(initialTraining.form.accumulateFullViewGrad, true, 'the reference quirk is on by default');
  assert.equal(initialTraining.form.positional, 'temporal');
  assert.deepEqual(
    [initialTraining.form.weightJoint, initialTraining.form.weightAttention, initialTraining.form.weightReconstruction],
    [0.5, 0.1, 0.6],
  );
});

test('edits reach the options; switches and text modes map to the contract', () => {
  let s = trainingReducer(initialTraining, {
    type: 'set',
    patch: {
      datasetId: 3,
      layers: 1,
      heads: 2,
      maxEpochs: 2,
      positional: 'reference',
      accumulateFullViewGrad: false,
      textKind: 'frozen',
      modelDir: '/m/bert',
      validationView: 'RMFM',
      validationRate: 0.3,
    },
  });
  const o = trainingOptionsSchema.parse(optionsFromForm(s.form, s.base));
  assert.equal(o.model.layers, 1);
  assert.equal(o.model.positional, 'reference');
  assert.equal(o.accumulateFullViewGrad, false);
  assert.deepEqual(o.text, { kind: 'frozen', modelDir: '/m/bert' });
  assert.deepEqual(o.validation, { view: 'RMFM', rate: 0.3, seed: 1111 });
  assert.deepEqual(formErrors(s.form), []);
  s = trainingReducer(s, { type: 'set', patch: { heads: 5, modelDir: '' } });
  const errs = formErrors(s.form);
  assert.ok(errs.some((e) => /BERT model folder/.test(e)));
  assert.ok(errs.some((e) => /heads \(5\) must divide d \(32\)/.test(e)));
  assert.ok(
    formErrors({ ...s.form, datasetId: null, heads: 2, modelDir: 'x', batchSize: NaN }).some((e) =>
      /batchSize/.test(e),
    ),
  );
  assert.deepEqual(trainingReducer(s, { type: 'resetDefaults' }).form, { ...initialTraining.form, datasetId: 3 });
});

test('clone copies a run into the form, keeping what the form does not show', () => {
  const r = run({
    options: trainingOptionsSchema.parse({
      maxEpochs: 5,
      evalBatchSize: 7,
      model: { layers: 2 },
      confounders: { source: 'extras', dictionary: ['a', 'b', 'c'], prior: 'p' },
    }),
  });
  const s = trainingReducer(initialTraining, { type: 'clone', run: r });
  assert.equal(s.form.name, 'tiny 3-class (clone)');
  assert.equal(s.form.datasetId, 3);
  assert.equal(s.form.layers, 2);
  const o = trainingOptionsSchema.parse(optionsFromForm({ ...s.form, layers: 3 }, s.base));
  assert.equal(o.evalBatchSize, 7);
  assert.deepEqual(o.confounders, r.options.confounders);
  assert.equal(o.model.layers, 3);
});

test('batch events move the bar, the batch curves and the time left; epoch ends mark the epochs stale', () => {
  let s: TrainingState = trainingReducer(initialTraining, {
    type: 'started',
    run: run(),
    job: job({ status: 'queued' }),
  });
  const stale0 = s.live!.stale;
  s = trainingReducer(s, batchEvent(1, 1, 1000));
  assert.equal(s.live!.run.status, 'running');
  assert.ok(s.live!.stale > stale0, 'running: refetch the run');
  s = trainingReducer(s, batchEvent(1, 2, 1200, 0.9));
  s = trainingReducer(s, batchEvent(1, 4, 1600, 0.8));
  const p = epochProgress(s.live!)!;
  assert.equal(p.fraction, 1);
  assert.equal(p.msPerBatch, 200);
  assert.equal(p.epochLeftMs, 0);
  assert.equal(p.runLeftMs, 2 * 4 * 200, 'two more epochs of four batches');
  assert.equal(s.live!.memory!.rssBytes, 300 * 2 ** 20);
  const before = s.live!.stale;
  s = trainingReducer(s, batchEvent(2, 1, 2500, 0.7));
  assert.equal(s.live!.epochsSeen, 1);
  assert.equal(s.live!.stale, before + 1, 'a batch of epoch 2 means epoch 1 is stored');
  assert.deepEqual(
    batchLossSeries(s.live!.batches)[0].points.map((q) => q.x),
    [0.25, 0.5, 1, 1.25],
  );
  // the stored epoch's duration (validation included) replaces the batch estimate for whole epochs
  const e1: RunEpoch = {
    runId: 1,
    epoch: 1,
    losses: losses(0.8),
    validation: { Non0_acc_2: 0.5, Acc_3: 0.4 },
    selectionValue: 0.5,
    improved: true,
    durationMs: 1500,
    createdAt: '',
  };
  s = trainingReducer(s, { type: 'epochsLoaded', runId: 1, epochs: [e1] });
  s = trainingReducer(s, batchEvent(2, 2, 2700, 0.6));
  assert.equal(epochProgress(s.live!)!.runLeftMs, 2 * 200 + 1500);
  // events of other runs are ignored
  const other = trainingReducer(s, {
    type: 'event',
    now: 0,
    event: {
      type: 'job.updated',
      job: job({
        id: 11,
        params: { runId: 2, resume: false },
        data: { runId: 2, epoch: 1, batch: 1, batches: 4, losses: losses(1) },
      }),
    },
  });
  assert.equal(other, s);
  // a resumed job replays from its checkpoint: the new job's batches start afresh
  s = trainingReducer(s, { type: 'event', now: 0, event: { type: 'job.updated', job: job({ status: 'cancelled' }) } });
  s = trainingReducer(s, {
    type: 'started',
    run: run({ status: 'queued', jobId: 12, epochsDone: 1 }),
    job: job({ id: 12, status: 'queued', params: { runId: 1, resume: true } }),
  });
  assert.equal(s.live!.batches.length, 0);
  s = trainingReducer(s, batchEvent(2, 1, 9000, 0.5, { id: 12 }));
  assert.equal(s.live!.batches.length, 1);
  assert.equal(epochProgress(s.live!)!.msPerBatch, null, 'one batch: no estimate yet');
});

test('curves: every loss component and every validation metric over epochs', () => {
  const es: RunEpoch[] = [1, 2].map((epoch) => ({
    runId: 1,
    epoch,
    losses: losses(1 / epoch),
    validation: { Non0_acc_2: 0.4 + epoch / 10, Acc_3: NaN },
    selectionValue: null,
    improved: true,
    durationMs: 1,
    createdAt: '',
  }));
  const l = epochLossSeries(es);
  assert.equal(l.length, 8);
  assert.deepEqual(l[0].points, [
    { x: 1, y: 1 },
    { x: 2, y: 0.5 },
  ]);
  assert.deepEqual(
    validationSeries(es).map((v) => v.name),
    ['Non0_acc_2', 'Acc_3'],
  );
});

test('the run list opens the newest run when nothing is watched; refreshed records replace the watched one', () => {
  let s = trainingReducer(initialTraining, {
    type: 'runsLoaded',
    list: [run({ id: 2, status: 'interrupted', epochsDone: 1 }), run()],
  });
  assert.equal(s.live!.run.id, 2);
  assert.equal(s.live!.epochsSeen, 1);
  s = trainingReducer(s, { type: 'runLoaded', run: run({ id: 2, status: 'running' }) });
  assert.equal(s.live!.run.status, 'running');
  s = trainingReducer(s, { type: 'watch', run: run() });
  assert.equal(s.live!.run.id, 1);
});

test("a fine-tuning run's time left starts from the fine-tuning bench's step time, then from its own batches", () => {
  const ft = run({
    options: { ...PAPER_DEFAULTS, maxEpochs: 3, batchSize: 16, text: { kind: 'finetune', modelDir: '/m/bert' } },
  });
  let s: TrainingState = trainingReducer(initialTraining, { type: 'started', run: ft, job: job({ status: 'queued' }) });
  s = trainingReducer(s, batchEvent(1, 1, 1000));
  const first = epochProgress(s.live!)!;
  assert.equal(first.estimated, true);
  assert.equal(first.msPerBatch, fineTuneBatchEstimateMs(16));
  assert.equal(fineTuneBatchEstimateMs(16), 2 * FINETUNE_BENCH.tfjsMs, 'the bench step is at batch 8');
  assert.ok(first.msPerBatch! > 0);
  assert.equal(first.epochLeftMs, first.msPerBatch! * (first.batches - 1));
  s = trainingReducer(s, batchEvent(1, 2, 1300));
  const timed = epochProgress(s.live!)!;
  assert.equal(timed.estimated, false);
  assert.equal(timed.msPerBatch, 300);
  assert.match(
    fineTuneNote(16),
    /per batch of 16 on TF\.js wasm, ([\d.]+x PyTorch's time|PyTorch's time .* not measured yet)/,
  );
  // a frozen or features run has no estimate before its own timings
  let f: TrainingState = trainingReducer(initialTraining, {
    type: 'started',
    run: run(),
    job: job({ status: 'queued' }),
  });
  f = trainingReducer(f, batchEvent(1, 1, 1000));
  assert.equal(epochProgress(f.live!)!.msPerBatch, null);
  assert.equal(epochProgress(f.live!)!.estimated, false);
});
