/**
 * Multi-run jobs beyond this machine, against real services started by the tests:
 * - SLURM (Debian's slurm-wlm + munge as a single-node cluster): a 4-trial search runs as one job
 *   array, every run lands in the store with its metrics; a task killed with
 *   `scancel --signal=KILL` is requeued and finishes once; cancelling the search cancels the array.
 * - A BullMQ queue on redis-server: two `cider worker` processes share a 6-trial search; one is
 *   killed with SIGKILL mid-trial; every trial completes exactly once.
 * Where a service cannot start, its test is skipped with the reason.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createApp, type AppServices } from '../../../src/main/services/app';
import type { SearchRecord } from '../../../src/shared/contract/search';
import type { RunRecord } from '../../../src/shared/contract/training';
import { registerSynthetic } from '../../helpers/analysis';
import { TINY_MODEL } from '../../helpers/syntheticRuns';
import { tempDir } from '../../helpers/tmp';
import { redisMissing, slurmMissing, startRedis, startSlurm } from '../../helpers/cluster';

const cli = fileURLToPath(new URL('../../../bin/cider.mjs', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function call<T>(app: AppServices, method: string, args: unknown): Promise<T> {
  const env = await app.dispatch(method, args);
  if (!env.ok) throw new Error(`${method}: ${env.error.code} ${env.error.message}`);
  return env.value as T;
}

async function until<T>(what: string, f: () => T | undefined | Promise<T | undefined>, ms = 240_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await f();
    if (v !== undefined && v !== null && (v as unknown) !== false) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

const searchArgs = (datasetId: number, trials: number, maxEpochs: number, executor: unknown) => ({
  datasetId,
  trials,
  seed: 3,
  space: { layers: [1], heads: [1, 2] },
  options: { maxEpochs, batchSize: 16, patience: 50, model: TINY_MODEL },
  executor,
});

const slurmSkip = slurmMissing();

test(
  'SLURM: a 4-trial search as a job array; a killed task is requeued; cancel cancels the array',
  { skip: slurmSkip ?? false },
  async () => {
    const dir = tempDir('cider-slurm-');
    const slurm = await startSlurm(path.join(dir, 'slurm'));
    const previous = process.env.SLURM_CONF;
    process.env.SLURM_CONF = slurm.env.SLURM_CONF;
    const app = createApp({ dataDir: path.join(dir, 'data'), mode: 'cli', seedDemo: false });
    try {
      const ds = await registerSynthetic(app, { name: 'tiny', sizes: { train: 32, valid: 16, test: 16 } });
      const executor = { kind: 'slurm', cpusPerTask: 1, sharedDir: path.join(dir, 'shared') };
      const preview = await call<{ script: string }>(app, 'search.sbatchPreview', { executor, trials: 4 });
      assert.match(preview.script, /#SBATCH --array=1-4/);
      assert.match(preview.script, /trial run/);

      const s = await call<SearchRecord>(app, 'search.start', searchArgs(ds.id, 4, 3, executor));
      assert.equal(s.executor.kind, 'slurm');
      // kill one task while it trains (after its first epoch, so there is something to lose)
      const arrayId = await until('the array job id', () => {
        const log = app.jobs
          .logs(s.id)
          .map((l) => l.message)
          .join('\n');
        return Number(/submitted SLURM array job (\d+)/.exec(log)?.[1]) || undefined;
      });
      const root = path.join(dir, 'shared', `job-${s.id}`);
      const victim = await until('a running task with a finished epoch', () => {
        const running = slurm.run('squeue', ['-h', '-r', '-j', String(arrayId), '-t', 'RUNNING', '-o', '%i']).stdout;
        for (const id of running.split('\n').filter(Boolean)) {
          const k = Number(id.split('_')[1]);
          if (fs.existsSync(path.join(root, `trial-${k}`, 'epochs.jsonl'))) return k;
        }
        return undefined;
      });
      const killed = slurm.run('scancel', ['--signal=KILL', `${arrayId}_${victim}`]);
      assert.equal(killed.status, 0, killed.stderr);

      const done = await app.runner.wait(s.id);
      assert.equal(done.status, 'succeeded', JSON.stringify(done.error));
      const record = await call<SearchRecord>(app, 'search.get', { id: s.id });
      assert.equal(record.results.length, 4);
      for (const t of record.results) {
        assert.equal(t.status, 'completed', `trial ${t.trial}`);
        assert.ok(t.bestMetric !== null, `trial ${t.trial} has its validation metric`);
        const run = await call<RunRecord>(app, 'runs.get', { id: t.runId });
        assert.ok(fs.existsSync(run.bestCheckpoint!), 'the checkpoint was imported into the data folder');
        assert.ok(run.bestCheckpoint!.startsWith(path.join(dir, 'data')));
      }
      const log = app.jobs.logs(s.id).map((l) => l.message);
      assert.ok(
        log.some((m) =>
          new RegExp(`trial ${victim}: task ${arrayId}_${victim} ended \\w+ without an outcome; requeued`).test(m),
        ),
        log.join('\n'),
      );
      assert.equal(
        log.filter((m) => new RegExp(`^trial ${victim} \\(run \\d+\\) completed`).test(m)).length,
        1,
        'stored once',
      );
      assert.equal(fs.readFileSync(path.join(root, `trial-${victim}`, 'attempts'), 'utf8'), '2');

      // cancelling a search cancels its array
      const long = await call<SearchRecord>(app, 'search.start', searchArgs(ds.id, 4, 200, executor));
      const longArray = await until('the second array', () => {
        const m = /submitted SLURM array job (\d+)/.exec(
          app.jobs
            .logs(long.id)
            .map((l) => l.message)
            .join('\n'),
        );
        return m ? Number(m[1]) : undefined;
      });
      await until(
        'a running task',
        () =>
          slurm.run('squeue', ['-h', '-r', '-j', String(longArray), '-t', 'RUNNING', '-o', '%i']).stdout.trim() ||
          undefined,
      );
      await call<SearchRecord>(app, 'search.stop', { id: long.id });
      const stopped = await app.runner.wait(long.id);
      assert.equal(stopped.status, 'cancelled');
      await until(
        'the array to leave the queue',
        () =>
          slurm
            .run('squeue', ['-h', '-r', '-j', String(longArray), '-t', 'PENDING,RUNNING', '-o', '%i'])
            .stdout.trim() === ''
            ? true
            : undefined,
        60_000,
      );
      const runs = await call<RunRecord[]>(app, 'runs.list', {});
      const longRuns = runs.filter((r) => r.name.startsWith(`search #${long.id} `));
      assert.equal(longRuns.length, 4);
      assert.ok(
        longRuns.every((r) => r.status === 'stopped'),
        longRuns.map((r) => r.status).join(','),
      );
    } finally {
      await app.close();
      await slurm.stop();
      if (previous === undefined) delete process.env.SLURM_CONF;
      else process.env.SLURM_CONF = previous;
    }
  },
);

const redisSkip = redisMissing();
const workers: ChildProcess[] = [];
after(() => workers.forEach((w) => w.kill('SIGKILL')));

function startWorker(url: string): { proc: ChildProcess; lines: string[] } {
  const proc = spawn(process.execPath, [cli, 'worker', '--queue', url, '--lock-ms', '4000', '--stalled-ms', '2000'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  workers.push(proc);
  const lines: string[] = [];
  let buf = '';
  proc.stdout!.on('data', (d) => {
    buf += d;
    const parts = buf.split('\n');
    buf = parts.pop()!;
    lines.push(...parts);
  });
  proc.stderr!.resume();
  return { proc, lines };
}

test(
  'queue: two workers share a 6-trial search; one killed mid-trial; every trial completes once',
  { skip: redisSkip ?? false },
  async () => {
    const dir = tempDir('cider-queue-');
    const redis = await startRedis(dir);
    const app = createApp({ dataDir: path.join(dir, 'data'), mode: 'cli', seedDemo: false });
    try {
      const a = startWorker(redis.url);
      const b = startWorker(redis.url);
      await until(
        'both workers ready',
        () => (a.lines.some((l) => /worker ready/.test(l)) && b.lines.some((l) => /worker ready/.test(l))) || undefined,
      );
      const ds = await registerSynthetic(app, { name: 'tiny', sizes: { train: 32, valid: 16, test: 16 } });
      const s = await call<SearchRecord>(
        app,
        'search.start',
        searchArgs(ds.id, 6, 3, { kind: 'queue', url: redis.url }),
      );
      // kill worker A while it is in a trial
      const started = await until('worker A in a trial', () =>
        a.lines.find((l) => /trial \d+ of job \d+ started/.test(l)),
      );
      const victim = Number(/trial (\d+)/.exec(started)![1]);
      a.proc.kill('SIGKILL');

      const done = await app.runner.wait(s.id);
      assert.equal(done.status, 'succeeded', JSON.stringify(done.error));
      const record = await call<SearchRecord>(app, 'search.get', { id: s.id });
      assert.equal(record.results.length, 6);
      for (const t of record.results) {
        assert.equal(t.status, 'completed', `trial ${t.trial}`);
        const epochs = await call<unknown[]>(app, 'runs.epochs', { id: t.runId });
        assert.equal(epochs.length, 3, `trial ${t.trial}: each epoch stored once`);
      }
      const log = app.jobs.logs(s.id).map((l) => l.message);
      for (let k = 1; k <= 6; k++)
        assert.equal(
          log.filter((m) => new RegExp(`^trial ${k} \\(run \\d+\\) completed`).test(m)).length,
          1,
          `trial ${k} stored once`,
        );
      // the killed worker's trial was finished by the other one
      assert.ok(
        b.lines.some((l) => new RegExp(`trial ${victim} of job ${s.id} completed`).test(l)),
        b.lines.join('\n'),
      );
    } finally {
      await app.close();
      redis.stop();
    }
  },
);
