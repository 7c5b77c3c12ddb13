/**
 * The coordinator side of remote trials: hand a multi-run job's trials to SLURM or to a BullMQ
 * queue, follow them as the job's progress, store each finished trial once, and cancel them when
 * the job is cancelled. Runs in the job's worker thread; the only place that writes the store.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { AppError } from '../../../shared/errors';
import { TRIAL_QUEUE, type QueueExecutorOptions, type SlurmExecutorOptions } from '../../../shared/contract/executors';
import type { Db } from '../../store/db';
import { RunStore } from '../../store/runs';
import type { TaskContext } from '../protocol';
import { importTrial, type ImportedTrial } from './import';
import { SlurmClient, sbatchScript } from './slurm';
import {
  TRIAL_OUTCOME,
  TRIAL_RUN,
  parseTrialOutcome,
  readTrialFraction,
  readTrialOutcome,
  trainsRun,
  writeTrialSpec,
  type TrialOutcome,
  type TrialSpec,
} from './trial';
import { ciderInvocation } from './command';
import { openQueue, type QueueTrialResult } from './queue';

export interface RemoteRun {
  ctx: TaskContext;
  /** the coordinator's connection: the only one that writes what the trials produced */
  db: Db;
  /** shown in squeue and the logs */
  jobName: string;
  /** how often to look (ms) */
  pollMs?: number;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });

function failedOutcome(spec: TrialSpec, message: string, host = 'coordinator'): TrialOutcome {
  return {
    version: 1,
    kind: spec.kind,
    jobId: spec.jobId,
    trial: spec.trial,
    runId: spec.runId,
    status: 'failed',
    engine: null,
    host,
    attempt: 0,
    epochs: [],
    bestEpoch: null,
    bestMetric: null,
    stopped: null,
    error: { code: 'TRIAL_FAILED', message },
    records: {},
    finishedAt: new Date().toISOString(),
  };
}

function stopRemaining(r: RemoteRun, trials: TrialSpec[], done: Set<number>): void {
  const runs = new RunStore(r.db);
  for (const t of trials)
    if (!done.has(t.trial) && trainsRun(t))
      runs.finish(t.runId, 'stopped', {
        code: 'CANCELLED',
        message: 'the job was cancelled before this trial finished',
      });
}

const summaryOf = (t: TrialSpec, o: TrialOutcome): ImportedTrial => ({
  trial: t.trial,
  runId: t.runId,
  status: o.status,
  error: o.error ? o.error.message : null,
  evaluationIds: [],
  comparisonId: null,
  sweepId: null,
});

/**
 * Store a finished trial once. An outcome that cannot be stored (not an outcome, no checkpoint) is
 * the trial's failure, said with the file, and the job goes on; nothing of it was written.
 */
function storeTrial(r: RemoteRun, t: TrialSpec, read: () => TrialOutcome, folder: string): ImportedTrial {
  try {
    const outcome = read();
    if (outcome.trial !== t.trial || outcome.runId !== t.runId || outcome.kind !== t.kind)
      throw new Error(
        `${path.join(folder, TRIAL_OUTCOME)}: the outcome of ${outcome.kind} trial ${outcome.trial} (run ${outcome.runId}), expected ${t.kind} trial ${t.trial} (run ${t.runId})`,
      );
    const stored = importTrial(r.db, outcome, folder) ?? summaryOf(t, outcome);
    r.ctx.log(
      outcome.status === 'completed' ? 'info' : 'warn',
      `trial ${t.trial} (run ${t.runId}) ${outcome.status} on ${outcome.host}, attempt ${outcome.attempt}${outcome.error ? `: ${outcome.error.message}` : ''}`,
    );
    return stored;
  } catch (e) {
    const message = `not stored: ${(e as Error).message}`;
    r.ctx.log('warn', `trial ${t.trial} (run ${t.runId}) ${message}`);
    const failed = failedOutcome(t, message);
    return importTrial(r.db, failed, folder) ?? summaryOf(t, failed);
  }
}

/** Where the trial folders of a SLURM job live (on the shared filesystem). */
export function slurmJobRoot(dataDir: string, opts: SlurmExecutorOptions, jobId: number | string): string {
  return path.join(opts.sharedDir ?? path.join(dataDir, 'cluster'), `job-${jobId}`);
}

/** The script `sbatch` gets for these trials (also what the UI and `--dry-run` show). */
export function slurmScriptFor(
  dataDir: string,
  opts: SlurmExecutorOptions,
  jobId: number | string,
  jobName: string,
  trials: number,
): string {
  const inv = ciderInvocation();
  return sbatchScript({
    jobName,
    trials,
    root: slurmJobRoot(dataDir, opts, jobId),
    cider: inv.argv,
    env: inv.env,
    options: opts,
  });
}

/**
 * The executor itself failed (SLURM unreachable, sbatch refused, Redis gone): the runs created for
 * the trials that were not stored say so, instead of staying queued.
 */
async function failUnstoredOnError<T>(
  r: RemoteRun,
  trials: TrialSpec[],
  what: string,
  f: () => Promise<T>,
): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (!r.ctx.signal.aborted && (e as { code?: string }).code !== 'CANCELLED') {
      const runs = new RunStore(r.db);
      for (const t of trials) {
        if (!trainsRun(t)) continue;
        const run = runs.get(t.runId);
        if (run.status === 'queued' || run.status === 'running')
          runs.finish(t.runId, 'failed', { code: 'TRIAL_FAILED', message: `${what}: ${(e as Error).message}` });
      }
    }
    throw e;
  }
}

export async function runTrialsOnSlurm(
  trials: TrialSpec[],
  opts: SlurmExecutorOptions,
  r: RemoteRun,
  client = new SlurmClient(),
): Promise<ImportedTrial[]> {
  return failUnstoredOnError(r, trials, 'SLURM', () => slurmTrials(trials, opts, r, client));
}

async function slurmTrials(
  trials: TrialSpec[],
  opts: SlurmExecutorOptions,
  r: RemoteRun,
  client: SlurmClient,
): Promise<ImportedTrial[]> {
  const { ctx } = r;
  const problem = await client.check();
  if (problem) throw new AppError('UNSUPPORTED', `SLURM: ${problem}`);
  const root = slurmJobRoot(ctx.dataDir, opts, ctx.jobId);
  for (const t of trials) writeTrialSpec(path.join(root, `trial-${t.trial}`), t);
  const script = slurmScriptFor(ctx.dataDir, opts, ctx.jobId, r.jobName, trials.length);
  const scriptFile = path.join(root, 'submit.sbatch');
  fs.writeFileSync(scriptFile, script);
  ctx.log('info', `sbatch script (${scriptFile}):\n${script}`);
  const arrayJobId = await client.submit(scriptFile);
  ctx.log('info', `submitted SLURM array job ${arrayJobId} with ${trials.length} tasks; trial folders in ${root}`);
  const done = new Set<number>();
  const requeues = new Map<number, number>();
  // after a requeue SLURM may still report the old state for a moment: wait for its restart count
  const expectRestarts = new Map<number, number>();
  const unknownPolls = new Map<number, number>();
  const stored = new Map<number, ImportedTrial>();
  while (done.size < trials.length) {
    if (ctx.signal.aborted) {
      await client.cancel(arrayJobId).catch((e) => ctx.log('warn', `scancel ${arrayJobId}: ${(e as Error).message}`));
      ctx.log('info', `cancelled SLURM array job ${arrayJobId}`);
      stopRemaining(r, trials, done);
      throw new AppError('CANCELLED', 'cancelled by the user');
    }
    const states = await client.states(arrayJobId);
    // the trials under way, each 0..1 done
    let under = 0;
    const counts: Record<string, number> = {};
    for (const t of trials) {
      if (done.has(t.trial)) continue;
      const folder = path.join(root, `trial-${t.trial}`);
      if (fs.existsSync(path.join(folder, TRIAL_OUTCOME))) {
        stored.set(
          t.trial,
          storeTrial(r, t, () => readTrialOutcome(folder)!, folder),
        );
        done.add(t.trial);
        continue;
      }
      under += readTrialFraction(folder);
      const st = states.get(t.trial);
      counts[st?.state ?? 'UNKNOWN'] = (counts[st?.state ?? 'UNKNOWN'] ?? 0) + 1;
      if (!st) {
        // SLURM forgot the task (MinJobAge) without an outcome appearing: give the filesystem a few looks
        const n = (unknownPolls.get(t.trial) ?? 0) + 1;
        unknownPolls.set(t.trial, n);
        if (n >= 5) {
          const failed = failedOutcome(t, `SLURM no longer knows task ${arrayJobId}_${t.trial} and it left no outcome`);
          stored.set(
            t.trial,
            storeTrial(r, t, () => failed, folder),
          );
          done.add(t.trial);
        }
        continue;
      }
      unknownPolls.delete(t.trial);
      if (!st.finished || st.restarts < (expectRestarts.get(t.trial) ?? 0)) continue;
      const n = requeues.get(t.trial) ?? 0;
      if (n + 1 < opts.maxAttempts) {
        await client.requeue(arrayJobId, t.trial);
        requeues.set(t.trial, n + 1);
        expectRestarts.set(t.trial, st.restarts + 1);
        ctx.log(
          'warn',
          `trial ${t.trial}: task ${arrayJobId}_${t.trial} ended ${st.state} without an outcome; requeued (attempt ${n + 2} of ${opts.maxAttempts})`,
        );
      } else {
        const failed = failedOutcome(
          t,
          `task ${arrayJobId}_${t.trial} ended ${st.state} without an outcome ${opts.maxAttempts} times`,
        );
        stored.set(
          t.trial,
          storeTrial(r, t, () => failed, folder),
        );
        done.add(t.trial);
      }
    }
    const summary = Object.entries(counts)
      .map(([k, v]) => `${v} ${k.toLowerCase()}`)
      .join(', ');
    ctx.progress(
      Math.min(1, (done.size + under) / trials.length),
      `SLURM array ${arrayJobId}: ${done.size}/${trials.length} trials stored${summary ? `; ${summary}` : ''}`,
      { executor: 'slurm', arrayJobId, stored: done.size, trials: trials.length, states: counts },
    );
    if (done.size < trials.length) await sleep(r.pollMs ?? 2000, ctx.signal);
  }
  return trials.map((t) => stored.get(t.trial)!);
}

/** A key naming this coordinator's data folder, so that two apps sharing a Redis never share job ids. */
export function coordinatorKey(dataDir: string): string {
  return createHash('sha256')
    .update(`${os.hostname()}:${path.resolve(dataDir)}`)
    .digest('hex')
    .slice(0, 12);
}

export async function runTrialsOnQueue(
  trials: TrialSpec[],
  opts: QueueExecutorOptions,
  r: RemoteRun,
): Promise<ImportedTrial[]> {
  return failUnstoredOnError(r, trials, `the queue ${opts.url}`, () => queueTrials(trials, opts, r));
}

async function queueTrials(trials: TrialSpec[], opts: QueueExecutorOptions, r: RemoteRun): Promise<ImportedTrial[]> {
  const { ctx } = r;
  const q = await openQueue(opts.url);
  const prefix = `${coordinatorKey(ctx.dataDir)}-${ctx.jobId}`;
  const jobIdOf = (t: TrialSpec) => `${prefix}-${t.trial}`;
  const done = new Set<number>();
  const stored = new Map<number, ImportedTrial>();
  try {
    for (const t of trials) await q.add(jobIdOf(t), t, opts.maxAttempts);
    ctx.log(
      'info',
      `queued ${trials.length} trials on ${opts.url} (queue "${TRIAL_QUEUE}", ids ${prefix}-1..${trials.length})`,
    );
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'cider-queue-import-'));
    try {
      while (done.size < trials.length) {
        if (ctx.signal.aborted) {
          await q.cancel(prefix, trials.map(jobIdOf));
          stopRemaining(r, trials, done);
          throw new AppError('CANCELLED', 'cancelled by the user');
        }
        let under = 0;
        const counts: Record<string, number> = {};
        for (const t of trials) {
          if (done.has(t.trial)) continue;
          const s = await q.state(jobIdOf(t));
          counts[s.state] = (counts[s.state] ?? 0) + 1;
          under += s.fraction;
          // a completed job whose result is not readable yet is looked at again next time
          if (s.state === 'completed' && s.result) {
            const result = s.result as QueueTrialResult;
            const folder = path.join(scratch, `trial-${t.trial}`);
            fs.mkdirSync(path.join(folder, TRIAL_RUN), { recursive: true });
            for (const [name, b64] of Object.entries(result.files))
              fs.writeFileSync(path.join(folder, TRIAL_RUN, path.basename(name)), Buffer.from(b64, 'base64'));
            stored.set(
              t.trial,
              storeTrial(
                r,
                t,
                () => parseTrialOutcome(result.outcome, `the queue's result of trial ${t.trial}`),
                folder,
              ),
            );
            done.add(t.trial);
          } else if (s.state === 'failed') {
            const failed = failedOutcome(
              t,
              `failed on the queue after ${s.attemptsMade} attempt(s): ${s.failedReason}`,
            );
            stored.set(
              t.trial,
              storeTrial(r, t, () => failed, scratch),
            );
            done.add(t.trial);
          }
        }
        const summary = Object.entries(counts)
          .map(([k, v]) => `${v} ${k}`)
          .join(', ');
        ctx.progress(
          Math.min(1, (done.size + under) / trials.length),
          `queue: ${done.size}/${trials.length} trials stored${summary ? `; ${summary}` : ''}`,
          { executor: 'queue', stored: done.size, trials: trials.length, states: counts },
        );
        if (done.size < trials.length) await sleep(r.pollMs ?? 1000, ctx.signal);
      }
    } finally {
      fs.rmSync(scratch, { recursive: true, force: true });
    }
  } finally {
    await q.close();
  }
  return trials.map((t) => stored.get(t.trial)!);
}
