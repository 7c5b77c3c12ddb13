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
import type { RunStore } from '../../store/runs';
import type { TaskContext } from '../protocol';
import { importTrial } from './import';
import { SlurmClient, sbatchScript } from './slurm';
import {
  TRIAL_RUN,
  readTrialEpochs,
  readTrialOutcome,
  writeTrialSpec,
  type TrialOutcome,
  type TrialSpec,
} from './trial';
import { ciderInvocation } from './command';
import { openQueue, type QueueTrialResult } from './queue';

export interface RemoteRun {
  ctx: TaskContext;
  runs: RunStore;
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
    finishedAt: new Date().toISOString(),
  };
}

function stopRemaining(r: RemoteRun, trials: TrialSpec[], done: Set<number>): void {
  for (const t of trials)
    if (!done.has(t.trial))
      r.runs.finish(t.runId, 'stopped', {
        code: 'CANCELLED',
        message: 'the job was cancelled before this trial finished',
      });
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

export async function runTrialsOnSlurm(
  trials: TrialSpec[],
  opts: SlurmExecutorOptions,
  r: RemoteRun,
  client = new SlurmClient(),
): Promise<void> {
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
  const maxEpochs = trials[0]?.options.maxEpochs ?? 1;
  while (done.size < trials.length) {
    if (ctx.signal.aborted) {
      await client.cancel(arrayJobId).catch((e) => ctx.log('warn', `scancel ${arrayJobId}: ${(e as Error).message}`));
      ctx.log('info', `cancelled SLURM array job ${arrayJobId}`);
      stopRemaining(r, trials, done);
      throw new AppError('CANCELLED', 'cancelled by the user');
    }
    const states = await client.states(arrayJobId);
    let epochs = 0;
    const counts: Record<string, number> = {};
    for (const t of trials) {
      if (done.has(t.trial)) continue;
      const folder = path.join(root, `trial-${t.trial}`);
      const outcome = readTrialOutcome(folder);
      if (outcome) {
        importTrial(r.runs, outcome, folder);
        done.add(t.trial);
        ctx.log(
          outcome.status === 'completed' ? 'info' : 'warn',
          `trial ${t.trial} (run ${t.runId}) ${outcome.status} on ${outcome.host}, attempt ${outcome.attempt}${outcome.error ? `: ${outcome.error.message}` : ''}`,
        );
        continue;
      }
      epochs += readTrialEpochs(folder).length;
      const st = states.get(t.trial);
      counts[st?.state ?? 'UNKNOWN'] = (counts[st?.state ?? 'UNKNOWN'] ?? 0) + 1;
      if (!st) {
        // SLURM forgot the task (MinJobAge) without an outcome appearing: give the filesystem a few looks
        const n = (unknownPolls.get(t.trial) ?? 0) + 1;
        unknownPolls.set(t.trial, n);
        if (n >= 5) {
          importTrial(
            r.runs,
            failedOutcome(t, `SLURM no longer knows task ${arrayJobId}_${t.trial} and it left no outcome`),
            folder,
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
        importTrial(
          r.runs,
          failedOutcome(
            t,
            `task ${arrayJobId}_${t.trial} ended ${st.state} without an outcome ${opts.maxAttempts} times`,
          ),
          folder,
        );
        done.add(t.trial);
      }
    }
    const summary = Object.entries(counts)
      .map(([k, v]) => `${v} ${k.toLowerCase()}`)
      .join(', ');
    ctx.progress(
      Math.min(1, (done.size + epochs / maxEpochs) / trials.length),
      `SLURM array ${arrayJobId}: ${done.size}/${trials.length} trials stored${summary ? `; ${summary}` : ''}`,
      { executor: 'slurm', arrayJobId, stored: done.size, trials: trials.length, states: counts },
    );
    if (done.size < trials.length) await sleep(r.pollMs ?? 2000, ctx.signal);
  }
}

/** A key naming this coordinator's data folder, so that two apps sharing a Redis never share job ids. */
export function coordinatorKey(dataDir: string): string {
  return createHash('sha256')
    .update(`${os.hostname()}:${path.resolve(dataDir)}`)
    .digest('hex')
    .slice(0, 12);
}

export async function runTrialsOnQueue(trials: TrialSpec[], opts: QueueExecutorOptions, r: RemoteRun): Promise<void> {
  const { ctx } = r;
  const q = await openQueue(opts.url);
  const prefix = `${coordinatorKey(ctx.dataDir)}-${ctx.jobId}`;
  const jobIdOf = (t: TrialSpec) => `${prefix}-${t.trial}`;
  const done = new Set<number>();
  try {
    for (const t of trials) await q.add(jobIdOf(t), t, opts.maxAttempts);
    ctx.log(
      'info',
      `queued ${trials.length} trials on ${opts.url} (queue "${TRIAL_QUEUE}", ids ${prefix}-1..${trials.length})`,
    );
    const maxEpochs = trials[0]?.options.maxEpochs ?? 1;
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'cider-queue-import-'));
    try {
      while (done.size < trials.length) {
        if (ctx.signal.aborted) {
          await q.cancel(prefix, trials.map(jobIdOf));
          stopRemaining(r, trials, done);
          throw new AppError('CANCELLED', 'cancelled by the user');
        }
        let epochs = 0;
        const counts: Record<string, number> = {};
        for (const t of trials) {
          if (done.has(t.trial)) continue;
          const s = await q.state(jobIdOf(t));
          counts[s.state] = (counts[s.state] ?? 0) + 1;
          epochs += s.epochs;
          if (s.state === 'completed') {
            const result = s.result as QueueTrialResult;
            const folder = path.join(scratch, `trial-${t.trial}`);
            fs.mkdirSync(path.join(folder, TRIAL_RUN), { recursive: true });
            for (const [name, b64] of Object.entries(result.files))
              fs.writeFileSync(path.join(folder, TRIAL_RUN, path.basename(name)), Buffer.from(b64, 'base64'));
            importTrial(r.runs, result.outcome, folder);
            done.add(t.trial);
            ctx.log(
              'info',
              `trial ${t.trial} (run ${t.runId}) ${result.outcome.status} on ${result.outcome.host} after ${s.attemptsMade} attempt(s)`,
            );
          } else if (s.state === 'failed') {
            importTrial(
              r.runs,
              failedOutcome(t, `failed on the queue after ${s.attemptsMade} attempt(s): ${s.failedReason}`),
              scratch,
            );
            done.add(t.trial);
            ctx.log('warn', `trial ${t.trial} failed: ${s.failedReason}`);
          }
        }
        const summary = Object.entries(counts)
          .map(([k, v]) => `${v} ${k}`)
          .join(', ');
        ctx.progress(
          Math.min(1, (done.size + epochs / maxEpochs) / trials.length),
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
}
