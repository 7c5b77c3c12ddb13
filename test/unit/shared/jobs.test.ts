import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AppError } from '../../../src/shared/errors';
import {
  asKind,
  isEpochEnd,
  isJobKind,
  isJobOf,
  JOB_KINDS,
  parseJobParams,
  resultOf,
  runIdOfJob,
  trainProgressOf,
  type JobRecord,
  type TrainBatchProgress,
} from '../../../src/shared/jobs';
import { TASKS } from '../../../src/main/jobs/tasks';

const losses = {
  taskFull: 1,
  taskMissing: 1,
  joint: 1,
  attention: 1,
  reconText: 1,
  reconAudio: 1,
  reconVision: 1,
  total: 1,
};
const memory = { rssBytes: 1, heapUsedBytes: 1, externalBytes: 0, arrayBuffersBytes: 0 };
const base = {
  id: 7,
  status: 'running' as const,
  projectId: null,
  result: null,
  error: null,
  createdAt: '',
  startedAt: null,
  finishedAt: null,
};
const batch: TrainBatchProgress = {
  runId: 3,
  epoch: 2,
  batch: 1,
  batches: 4,
  losses,
  validation: null,
  memory,
  at: 5,
};

test('every catalogued kind has a task, and only those', () => {
  assert.deepEqual(Object.keys(TASKS).sort(), [...JOB_KINDS].sort());
  assert.ok(isJobKind('train'));
  assert.ok(!isJobKind('toString'), 'inherited names are not kinds');
  assert.ok(!isJobKind('rm -rf'));
});

test("params are parsed with the kind's schema: defaults filled in, bad fields named", () => {
  assert.deepEqual(parseJobParams('backend.selftest', {}), { size: 256, iterations: 20 });
  assert.deepEqual(parseJobParams('train', { runId: 4 }), { runId: 4, resume: false });
  const err = (() => {
    try {
      parseJobParams('evaluate', { runId: 4, options: { protocols: ['nope'] } });
    } catch (e) {
      return e as AppError;
    }
  })();
  assert.ok(err instanceof AppError);
  assert.equal(err.code, 'BAD_REQUEST');
  assert.match(err.message, /^invalid params for the job kind "evaluate" \(options\.protocols\.0: /);
  assert.throws(() => parseJobParams('train', { runId: 4, extra: 1 }), /invalid params for the job kind "train"/);
  assert.throws(() => parseJobParams('search', null), /invalid params for the job kind "search"/);
});

test('progress is read through the kinds: the run a job is about, batch vs epoch-end reports', () => {
  const train: JobRecord = {
    ...base,
    kind: 'train',
    params: { runId: 3, resume: false },
    progress: { fraction: 0.1, message: '', data: batch },
  };
  assert.equal(runIdOfJob(train), 3);
  assert.equal(isEpochEnd(train), false);
  assert.equal(trainProgressOf(train)?.epoch, 2);
  const epochEnd: JobRecord = {
    ...train,
    progress: {
      fraction: 0.5,
      message: '',
      data: { runId: 3, epoch: 2, losses, validation: { Acc_3: 0.5 }, bestEpoch: 2, bestMetric: 0.5, memory },
    },
  };
  assert.equal(isEpochEnd(epochEnd), true);
  // before its first report, a train job is still about its run
  assert.equal(runIdOfJob({ ...train, progress: { fraction: null, message: 'queued' } }), 3);
  const evaluate: JobRecord = {
    ...base,
    kind: 'evaluate',
    params: parseJobParams('evaluate', { runId: 9, options: {} }),
    progress: { fraction: 0.5, message: '', data: { runId: 9, done: 1, total: 2 } },
  };
  assert.equal(runIdOfJob(evaluate), 9);
  assert.equal(trainProgressOf(evaluate), null);
  assert.equal(isEpochEnd(evaluate), false);
  const selfTest: JobRecord = {
    ...base,
    kind: 'backend.selftest',
    params: { size: 8, iterations: 1 },
    progress: { fraction: 1, message: '', data: { msPerMatMul: 1 } },
  };
  assert.equal(runIdOfJob(selfTest), null);
  assert.ok(isJobOf(train, 'train', 'search'));
  assert.ok(!isJobOf(selfTest, 'train', 'search'));
  assert.equal(asKind(selfTest, 'train'), undefined);
});

test('a result is there only once the job succeeded', () => {
  const running = {
    ...base,
    kind: 'analysis.compareOod' as const,
    params: parseJobParams('analysis.compareOod', {
      runId: 1,
      iid: { id: 1, dir: '/d/1', name: 'a' },
      ood: { id: 2, dir: '/d/2', name: 'b' },
    }),
    progress: { fraction: null, message: '' },
  };
  assert.equal(running.params.checkpoint, 'best');
  assert.throws(() => resultOf(running), /job 7 \(analysis\.compareOod\) has no result: it is running/);
  assert.deepEqual(resultOf({ ...running, status: 'succeeded', result: { comparisonId: 4, runId: 1 } }), {
    comparisonId: 4,
    runId: 1,
  });
});
