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
import type { AblationRecord } from '../../../src/shared/contract/ablation';
import type { RobustnessRunsRecord } from '../../../src/shared/contract/analysis';
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

      // an ablation of two variants as an array: each task trains its variant, evaluates RMFM and
      // compares IID vs OOD on the node; the coordinator imports the records and the table reads them
      await registerSynthetic(app, {
        name: 'tiny-ood',
        sizes: { train: 32, valid: 16, test: 16 },
        seed: 8,
        kind: 'ood',
        parentId: ds.id,
      });
      const ablPreview = await call<{ script: string }>(app, 'ablation.sbatchPreview', { executor, trials: 2 });
      assert.match(ablPreview.script, /#SBATCH --array=1-2/);
      assert.match(ablPreview.script, /--job-name=cider_ablation/);
      const abl = await call<AblationRecord>(app, 'ablation.start', {
        datasetId: ds.id,
        variants: ['full', 'no-mssd'],
        rmfmRates: [0, 0.5, 1],
        options: { maxEpochs: 2, batchSize: 16, patience: 50, model: TINY_MODEL },
        executor,
      });
      assert.equal(abl.executor.kind, 'slurm');
      const ablDone = await app.runner.wait(abl.id);
      assert.equal(ablDone.status, 'succeeded', JSON.stringify(ablDone.error));
      assert.match(
        app.jobs
          .logs(abl.id)
          .map((l) => l.message)
          .join('\n'),
        /submitted SLURM array job \d+ with 2 tasks/,
      );
      const table = await call<AblationRecord>(app, 'ablation.get', { id: abl.id });
      assert.deepEqual(
        table.rows.map((r) => [r.variant, r.status]),
        [
          ['full', 'completed'],
          ['no-mssd', 'completed'],
        ],
      );
      for (const r of table.rows) {
        assert.ok(r.iid && r.ood, `${r.variant}: IID and OOD metrics in the table`);
        assert.ok(r.ood.count > 0 && Number.isFinite(r.ood.plain.Acc_3), `${r.variant}: OOD Acc_3`);
        assert.ok(r.auilcRmfm && Number.isFinite(r.auilcRmfm.Acc_3!), `${r.variant}: AUILC under RMFM`);
        const run = await call<RunRecord>(app, 'runs.get', { id: r.runId });
        assert.equal(run.options.mssd, r.variant !== 'no-mssd');
        assert.ok(run.bestCheckpoint!.startsWith(path.join(dir, 'data')) && fs.existsSync(run.bestCheckpoint!));
        const evals = await call<{ protocol: string }[]>(app, 'runs.evaluations', { id: r.runId });
        assert.deepEqual(
          evals.map((e) => e.protocol),
          ['RMFM'],
          `${r.variant}: one RMFM evaluation`,
        );
        const cmps = await call<unknown[]>(app, 'analysis.oodComparisons', { runId: r.runId });
        assert.equal(cmps.length, 1, `${r.variant}: one comparison`);
      }

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

      // robustness over three of those runs on the same queue, two workers: each run swept once
      const c = startWorker(redis.url);
      await until('worker C ready', () => c.lines.some((l) => /worker ready/.test(l)) || undefined);
      const runIds = record.results.slice(0, 3).map((t) => t.runId!);
      const sweepArgs = { runIds, protocols: ['RMFM', 'SMM:T'], rates: [0, 0.5, 1], seed: 5 };
      const rob = await call<RobustnessRunsRecord>(app, 'analysis.robustnessRuns', {
        ...sweepArgs,
        executor: { kind: 'queue', url: redis.url },
      });
      const robDone = await app.runner.wait(rob.id);
      assert.equal(robDone.status, 'succeeded', JSON.stringify(robDone.error));
      const r = await call<RobustnessRunsRecord>(app, 'analysis.robustnessRunsGet', { id: rob.id });
      assert.deepEqual(
        r.runs.map((x) => [x.runId, x.status]),
        runIds.map((id) => [id, 'completed']),
        JSON.stringify(r.runs),
      );
      const sweeps = await call<{ runId: number; jobId: number }[]>(app, 'analysis.sweeps', { runIds });
      assert.deepEqual(
        sweeps
          .filter((x) => x.jobId === rob.id)
          .map((x) => x.runId)
          .sort((x, y) => x - y),
        [...runIds].sort((x, y) => x - y),
        'one sweep per run',
      );
      const robLog = app.jobs.logs(rob.id).map((l) => l.message);
      for (let k = 1; k <= 3; k++)
        assert.equal(
          robLog.filter((m) => new RegExp(`^trial ${k} \\(run \\d+\\) completed`).test(m)).length,
          1,
          `run ${k} stored once`,
        );
      const taken = [...b.lines, ...c.lines].filter((l) =>
        new RegExp(`robustness trial \\d+ of job ${rob.id} completed`).test(l),
      );
      assert.equal(taken.length, 3, taken.join('\n'));
      // across the runs: mean ± sd of each run's figures
      const rmfm = r.across.find((x) => x.protocol === 'RMFM')!;
      assert.equal(rmfm.runs, 3);
      const auilcs = r.sweeps.map((x) => x.curves.find((cv) => cv.protocol === 'RMFM')!.auilc.Acc_3!);
      const mean = auilcs.reduce((x, y) => x + y, 0) / 3;
      assert.ok(Math.abs(rmfm.auilc.Acc_3.mean! - mean) < 1e-12);
      assert.equal(rmfm.auilc.Acc_3.n, 3);
      assert.ok(rmfm.auilc.Acc_3.sd !== null && rmfm.auilc.Acc_3.sd >= 0);
      // the same sweeps here (local executor) give the same figures
      const local = await call<RobustnessRunsRecord>(app, 'analysis.robustnessRuns', sweepArgs);
      assert.equal(local.job.params.executor.kind, 'local');
      assert.equal((await app.runner.wait(local.id)).status, 'succeeded');
      const l = await call<RobustnessRunsRecord>(app, 'analysis.robustnessRunsGet', { id: local.id });
      const lr = l.across.find((x) => x.protocol === 'RMFM')!;
      for (const m of Object.keys(rmfm.metrics))
        rmfm.metrics[m].forEach((v, i) =>
          assert.ok(
            Math.abs(v.mean! - lr.metrics[m][i].mean!) < 1e-6,
            `${m} at ${rmfm.rates[i]}: queue ${v.mean} local ${lr.metrics[m][i].mean}`,
          ),
        );
    } finally {
      await app.close();
      redis.stop();
    }
  },
);
