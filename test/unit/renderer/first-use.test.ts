/**
 * The state behind issue 18's fixes, without a browser: the remembered New-run form, the
 * simulator's combined settings, the Runs rows' started-work state, the protocols that apply,
 * and the Library's job list.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Dataset } from '../../../src/shared/contract/datasets';
import type { RobustnessSweep } from '../../../src/shared/contract/analysis';
import type { JobRecord, Project } from '../../../src/shared/types';
import { evaluationOptionsSchema } from '../../../src/shared/contract/training';
import type { JobKind } from '../../../src/shared/jobs';
import {
  datasetWarnings,
  initialTraining,
  parseRememberedForm,
  PAPER_DEFAULTS,
  trainingReducer,
} from '../../../src/renderer/src/state/training';
import {
  analysisReducer,
  defaultProtocols,
  describeSimulator,
  initialAnalysis,
  missingOf,
  runsWithoutSweep,
  simulatorOf,
} from '../../../src/renderer/src/state/analysis';
import { initialRuns, runsReducer } from '../../../src/renderer/src/state/runs';
import { initialLibrary, libraryReducer, visibleJobs } from '../../../src/renderer/src/state/library';

const dataset = (id: number, test = 10): Dataset =>
  ({
    id,
    name: `d${id}`,
    kind: 'iid',
    parentId: null,
    aligned: false,
    splits: {
      train: { count: 20, labels: {} },
      valid: { count: 5, labels: {} },
      test: { count: test, labels: {} },
    },
  }) as unknown as Dataset;

// the reducers read a job's kind, status and progress: the params stay an evaluation's whatever the kind
const job = (id: number, over: Partial<Omit<JobRecord, 'kind'>> & { kind?: JobKind } = {}): JobRecord =>
  ({
    id,
    kind: 'evaluate',
    status: 'queued',
    projectId: null,
    params: { runId: 7, options: evaluationOptionsSchema.parse({}) },
    progress: { fraction: null, message: '' },
    result: null,
    error: null,
    createdAt: '',
    startedAt: null,
    finishedAt: null,
    ...over,
  }) as JobRecord;

// ---- item 1: the New-run form ----

test('a remembered form is restored field by field; wrong types fall back to the defaults', () => {
  let s = trainingReducer(initialTraining, { type: 'datasetsLoaded', list: [dataset(1), dataset(2)] });
  assert.equal(s.form.datasetId, 1);
  s = trainingReducer(s, {
    type: 'restoreForm',
    saved: {
      form: { datasetId: 2, maxEpochs: 7, batchSize: 16, name: 'mine', seed: 'oops', unknownField: 1 },
      base: PAPER_DEFAULTS,
    },
  });
  assert.equal(s.form.datasetId, 2);
  assert.equal(s.form.maxEpochs, 7);
  assert.equal(s.form.batchSize, 16);
  assert.equal(s.form.name, 'mine');
  assert.equal(s.form.seed, PAPER_DEFAULTS.seed, 'a string seed is not taken');
  assert.equal('unknownField' in s.form, false);
  // datasets reloaded later keep the restored choice
  s = trainingReducer(s, { type: 'datasetsLoaded', list: [dataset(1), dataset(2)] });
  assert.equal(s.form.datasetId, 2);
});

test('a remembered form does not overwrite what the user already changed, nor name a dataset that is gone', () => {
  const loaded = trainingReducer(initialTraining, { type: 'datasetsLoaded', list: [dataset(1)] });
  const touched = trainingReducer(loaded, { type: 'set', patch: { maxEpochs: 3 } });
  assert.equal(touched.formTouched, true);
  const after = trainingReducer(touched, { type: 'restoreForm', saved: { form: { maxEpochs: 99 } } });
  assert.equal(after, touched);
  const gone = trainingReducer(loaded, { type: 'restoreForm', saved: { form: { datasetId: 42, maxEpochs: 5 } } });
  assert.equal(gone.form.datasetId, 1);
  assert.equal(gone.form.maxEpochs, 5);
  assert.equal(parseRememberedForm(null), null);
  assert.equal(parseRememberedForm('x'), null);
  assert.equal(trainingReducer(loaded, { type: 'restoreForm', saved: null }), loaded);
});

test('a dataset without test samples is warned about', () => {
  assert.deepEqual(datasetWarnings(dataset(1)), []);
  assert.match(datasetWarnings(dataset(1, 0))[0], /0 test samples/);
});

// ---- item 2: the simulator ----

test('the simulator combines a removed modality with another one rate, in either order', () => {
  let s = analysisReducer(initialAnalysis, { type: 'sim-remove', modality: 'vision', removed: true });
  assert.deepEqual(s.missing, { mode: 'toggles', text: true, audio: true, vision: false });
  s = analysisReducer(s, { type: 'sim-rate', modality: 'audio', rate: 0.3 });
  assert.deepEqual(s.missing, { mode: 'rates', text: 0, audio: 0.3, vision: 1, seed: 1111 });
  assert.equal(s.simulator.removed.vision, true, 'moving a slider does not bring vision back');
  s = analysisReducer(s, { type: 'sim-remove', modality: 'vision', removed: false });
  assert.deepEqual(s.missing, { mode: 'rates', text: 0, audio: 0.3, vision: 0, seed: 1111 });
  assert.equal(s.simulator.rates.audio, 0.3, 'ticking vision back keeps the audio rate');
  // a removed modality keeps its own rate for when it comes back
  s = analysisReducer(s, { type: 'sim-rate', modality: 'text', rate: 0.5 });
  s = analysisReducer(s, { type: 'sim-remove', modality: 'text', removed: true });
  assert.deepEqual(s.missing, { mode: 'rates', text: 1, audio: 0.3, vision: 0, seed: 1111 });
  s = analysisReducer(s, { type: 'sim-remove', modality: 'text', removed: false });
  assert.equal(s.missing.mode === 'rates' && s.missing.text, 0.5);
  s = analysisReducer(s, { type: 'missing', missing: { mode: 'complete' } });
  assert.deepEqual(s.missing, { mode: 'complete' });
  assert.deepEqual(missingOf(s.simulator), { mode: 'complete' });
});

test('what is simulated is stated', () => {
  const sim = simulatorOf({ mode: 'rates', text: 0, audio: 0.3, vision: 1, seed: 1111 });
  const words = describeSimulator(sim);
  assert.match(words, /vision removed/);
  assert.match(words, /audio missing at rate 0\.3/);
  assert.match(words, /seed 1111/);
  assert.match(words, /text complete/);
  assert.match(describeSimulator(simulatorOf({ mode: 'complete' })), /Complete view/);
  assert.match(
    describeSimulator(simulatorOf({ mode: 'toggles', text: false, audio: false, vision: false })),
    /all three modalities removed/,
  );
});

// ---- item 4: work shown as started ----

test('a row shows its work from the click, follows its job, and clears when the job ends', () => {
  let s = runsReducer(initialRuns, { type: 'rowStarting', id: 7, action: 'evaluate' });
  assert.deepEqual(s.pending[7], { action: 'evaluate', job: null }, 'busy before the server answered');
  s = runsReducer(s, { type: 'rowStarted', id: 7, job: job(30) });
  assert.equal(s.pending[7].job?.id, 30);
  s = runsReducer(s, {
    type: 'event',
    event: { type: 'job.updated', job: job(30, { status: 'running', progress: { fraction: 0.5, message: 'half' } }) },
  });
  assert.equal(s.pending[7].job?.progress.fraction, 0.5);
  s = runsReducer(s, { type: 'event', event: { type: 'job.updated', job: job(30, { status: 'succeeded' }) } });
  assert.equal(s.pending[7], undefined);
});

test('a job event that overtakes the call is followed; a finished one clears the row; a failure shows in the row', () => {
  let s = runsReducer(initialRuns, { type: 'rowStarting', id: 7, action: 'evaluate' });
  s = runsReducer(s, { type: 'event', event: { type: 'job.updated', job: job(31, { status: 'running' }) } });
  assert.equal(s.pending[7].job?.status, 'running');
  // the call's (older) answer does not replace the newer record
  s = runsReducer(s, { type: 'rowStarted', id: 7, job: job(31) });
  assert.equal(s.pending[7].job?.status, 'running');
  s = runsReducer(s, {
    type: 'event',
    event: { type: 'job.updated', job: job(31, { status: 'failed', error: { code: 'X', message: 'no test split' } }) },
  });
  assert.equal(s.pending[7], undefined);
  assert.match(s.rowErrors[7], /evaluating on test failed: no test split/);
  // a job for another run or kind is not taken for this row
  s = runsReducer(s, { type: 'rowStarting', id: 7, action: 'evaluate' });
  assert.equal(s.rowErrors[7], undefined, 'a new attempt clears the old error');
  const other = runsReducer(s, {
    type: 'event',
    event: { type: 'job.updated', job: job(32, { kind: 'train', status: 'running' }) },
  });
  assert.equal(other.pending[7].job, null);
  s = runsReducer(s, { type: 'rowFailed', id: 7, message: 'refused' });
  assert.equal(s.pending[7], undefined);
  assert.equal(s.rowErrors[7], 'refused');
});

test('the training form shows it is starting until the run comes back', () => {
  const s = trainingReducer(initialTraining, { type: 'busy' });
  assert.equal(s.busy, true);
  assert.equal(trainingReducer(s, { type: 'error', message: 'x' }).busy, false);
});

// ---- item 7: protocols ----

test('time-mask protocols are ticked only for aligned data; overlaid runs without a sweep are named', () => {
  assert.deepEqual(defaultProtocols(false), ['RMFM', 'RMM', 'SMM:T', 'SMM:AV']);
  assert.deepEqual(defaultProtocols(null), ['RMFM', 'RMM', 'SMM:T', 'SMM:AV']);
  assert.ok(defaultProtocols(true).includes('TMFM') && defaultProtocols(true).includes('STMFM'));
  const sweeps = [{ id: 1, runId: 3 }] as unknown as RobustnessSweep[];
  assert.deepEqual(runsWithoutSweep(sweeps, [3, 4, 5]), [4, 5]);
});

// ---- item 9: the Library lists every job ----

test('the Library lists every job by default, or the selected project only', () => {
  const project: Project = { id: 1, name: 'p', description: '', createdAt: '', updatedAt: '' } as Project;
  let s = libraryReducer(initialLibrary, {
    type: 'loaded',
    projects: [project],
    jobs: [job(1, { kind: 'train' }), job(2, { kind: 'clips.extract', projectId: 1 }), job(3)],
  });
  assert.deepEqual(
    visibleJobs(s).map((j) => j.id),
    [3, 2, 1],
  );
  s = libraryReducer(s, { type: 'jobScope', scope: 'project' });
  assert.deepEqual(
    visibleJobs(s).map((j) => j.id),
    [2],
  );
});

test('a failed Start shows its error in the form; other failures in the run panel', () => {
  const s = trainingReducer(initialTraining, { type: 'error', message: 'no such folder', at: 'form' });
  assert.equal(s.errorAt, 'form');
  assert.equal(trainingReducer(s, { type: 'error', message: 'cannot stop' }).errorAt, 'live');
});
