import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createApp } from '../../src/main/services/app';
import type { AppEvent } from '../../src/shared/types';
import { asKind, resultOf, type JobRecord } from '../../src/shared/jobs';
import type { AppError } from '../../src/shared/errors';
import type { WorkerHandle } from '../../src/main/jobs/runner';
import { tempDir } from '../helpers/tmp';

test('a job runs in a worker thread, reports progress events and is recorded as succeeded', async () => {
  const app = createApp({ dataDir: tempDir(), mode: 'cli', seedDemo: false });
  const events: AppEvent[] = [];
  app.events.subscribe((e) => events.push(e));
  const job = app.runner.submit('backend.selftest', { size: 32, iterations: 5 });
  const done = await app.runner.wait(job.id);
  assert.equal(done.status, 'succeeded', JSON.stringify(done.error));
  const selfTest = asKind(done, 'backend.selftest');
  assert.ok(selfTest, `a ${done.kind} job`);
  const result = resultOf(selfTest);
  assert.equal(result.iterations, 5);
  assert.ok(result.msPerMatMul > 0);
  assert.equal(done.progress.fraction, 1);
  const statuses = events
    .filter((e): e is Extract<AppEvent, { type: 'job.updated' }> => e.type === 'job.updated')
    .map((e) => e.job.status);
  assert.deepEqual([statuses[0], statuses[1], statuses.at(-1)], ['queued', 'running', 'succeeded']);
  assert.ok(app.jobs.logs(job.id).some((l) => /backend/.test(l.message)));
  await app.close();
});

test('a running job can be cancelled and ends as cancelled', async () => {
  const app = createApp({ dataDir: tempDir(), mode: 'cli', seedDemo: false });
  const job = app.runner.submit('backend.selftest', { size: 64, iterations: 100_000 });
  await new Promise<void>((resolve) => {
    const off = app.events.subscribe((e) => {
      if (e.type === 'job.updated' && e.job.id === job.id && (e.job.progress.fraction ?? 0) > 0) {
        off();
        resolve();
      }
    });
  });
  app.runner.cancel(job.id);
  const done = await app.runner.wait(job.id);
  assert.equal(done.status, 'cancelled');
  assert.ok((done.progress.fraction ?? 1) < 1);
  await app.close();
});

test('a job whose worker dies is failed with the reason, and the next job still runs', async () => {
  let n = 0;
  const dying = (): WorkerHandle => {
    const exit: ((code: number, error?: Error) => void)[] = [];
    return {
      post: () => setTimeout(() => exit.forEach((cb) => cb(134, new Error('out of memory'))), 5),
      onMessage: () => {},
      onExit: (cb) => exit.push(cb),
      terminate: async () => {},
    };
  };
  const app = createApp({
    dataDir: tempDir(),
    mode: 'cli',
    seedDemo: false,
    spawnWorker: () => (n++ === 0 ? dying() : realSpawn()),
  });
  const { workerThreadSpawner } = await import('../../src/main/jobs/runner');
  const { defaultWorkerEntry } = await import('../../src/main/services/app');
  const realSpawn = workerThreadSpawner(defaultWorkerEntry());
  const a = app.runner.submit('backend.selftest', { size: 8, iterations: 1 });
  const b = app.runner.submit('backend.selftest', { size: 8, iterations: 1 });
  const da: JobRecord = await app.runner.wait(a.id);
  assert.equal(da.status, 'failed');
  assert.match(da.error!.message, /exit code 134: out of memory/);
  assert.equal((await app.runner.wait(b.id)).status, 'succeeded');
  await app.close();
});

test('a queued job can be cancelled before it starts; unknown kinds are refused', async () => {
  const app = createApp({ dataDir: tempDir(), mode: 'cli', seedDemo: false, maxConcurrentJobs: 1 });
  const a = app.runner.submit('backend.selftest', { size: 32, iterations: 3 });
  const b = app.runner.submit('backend.selftest', { size: 32, iterations: 3 });
  assert.equal(app.runner.cancel(b.id).status, 'cancelled');
  assert.equal((await app.runner.wait(a.id)).status, 'succeeded');
  // @ts-expect-error: the catalogue has no such kind, so this does not compile; untyped callers are refused at run time
  assert.throws(() => app.runner.submit('rm -rf', {}), /unknown job kind/);
  // params are checked against the kind's schema before anything is recorded
  const before = app.jobs.list().length;
  assert.throws(
    () => app.runner.submit('backend.selftest', { size: 3, iterations: 1 }),
    (e: AppError) =>
      e.code === 'BAD_REQUEST' && /invalid params for the job kind "backend\.selftest" \(size: /.test(e.message),
  );
  const noRunId = { resume: true } as Record<string, unknown>;
  // @ts-expect-error: a train job needs a runId (an untyped caller gets a clear refusal)
  const submitNoRunId = () => app.runner.submit('train', noRunId);
  assert.throws(submitNoRunId, /invalid params for the job kind "train" \(runId: /);
  assert.equal(app.jobs.list().length, before);
  await app.close();
});
