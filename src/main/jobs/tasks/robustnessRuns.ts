/**
 * The 'analysis.robustnessRuns' job: the missing-modality sweep (RMFM, MACI's protocols, ...) of
 * several runs, e.g. the same configuration trained with several seeds, one trial per run. Each
 * run's sweep is stored with this job's id; the service reads them back per run and as mean ± sd
 * across the runs (services/robustnessRuns.ts).
 * - local: the runs' sweeps one after another in this worker, by the 'analysis.robustness' task's code;
 * - slurm / queue: one trial per run (trial folders of kind 'robustness'): a compute node / worker
 *   reads the run's checkpoint and the dataset from the shared data folder and writes the curves;
 *   this coordinator stores each sweep once.
 * A run whose sweep fails is reported (with why) and the others go on; a cancel ends the job.
 */
import path from 'node:path';
import { AppError } from '../../../shared/errors';
import type { JobParams, RobustnessRunOutcome, RobustnessRunsResult } from '../../../shared/jobs';
import { BEST_CHECKPOINT, LAST_CHECKPOINT } from '../../ml/runs/train';
import { openDatabase } from '../../store/db';
import { databaseFile } from '../../store/paths';
import { RunStore } from '../../store/runs';
import type { TaskContext } from '../protocol';
import { runTrialsOnQueue, runTrialsOnSlurm } from '../executors/remote';
import type { TrialSpec } from '../executors/trial';
import { robustnessTask } from './analysis';

type Ctx = TaskContext<'analysis.robustnessRuns'>;

const isCancel = (e: unknown, ctx: Ctx) =>
  ctx.signal.aborted || (e as { code?: string }).code === 'CANCELLED' || (e as { name?: string }).name === 'AbortError';

async function localSweeps(p: JobParams<'analysis.robustnessRuns'>, ctx: Ctx): Promise<RobustnessRunOutcome[]> {
  const out: RobustnessRunOutcome[] = [];
  const n = p.runIds.length;
  for (const [k, runId] of p.runIds.entries()) {
    ctx.throwIfCancelled();
    const runCtx: TaskContext<'analysis.robustness'> = {
      ...ctx,
      progress: (fraction, message, data) =>
        ctx.progress((k + (fraction ?? 0)) / n, `run ${runId} (${k + 1}/${n}): ${message}`, {
          ...data,
          trial: k + 1,
          trials: n,
        }),
    };
    try {
      const r = await robustnessTask(
        { runId, protocols: p.protocols, rates: p.rates, seed: p.seed, checkpoint: p.checkpoint },
        runCtx,
      );
      out.push({ runId, status: 'completed', sweepId: r.sweepId, error: null });
      ctx.log('info', `run ${runId} (${k + 1}/${n}): sweep ${r.sweepId} stored`);
    } catch (e) {
      if (isCancel(e, ctx)) throw e;
      const message = (e as Error).message;
      ctx.log('warn', `run ${runId} (${k + 1}/${n}) failed: ${message}`);
      out.push({ runId, status: 'failed', sweepId: null, error: message });
    }
  }
  return out;
}

async function remoteSweeps(p: JobParams<'analysis.robustnessRuns'>, ctx: Ctx): Promise<RobustnessRunOutcome[]> {
  const executor = p.executor;
  if (executor.kind === 'local') throw new Error('remoteSweeps is for the slurm and queue executors');
  const db = openDatabase(databaseFile(ctx.dataDir));
  try {
    const runs = new RunStore(db);
    const trials: TrialSpec[] = p.runIds.map((runId, k) => {
      const run = runs.get(runId);
      return {
        version: 1,
        kind: 'robustness',
        jobId: ctx.jobId,
        trial: k + 1,
        runId,
        name: run.name,
        datasetFolder: path.resolve(run.datasetFolder),
        checkpointFile: path.resolve(run.folder, p.checkpoint === 'best' ? BEST_CHECKPOINT : LAST_CHECKPOINT),
        checkpoint: p.checkpoint,
        protocols: p.protocols,
        rates: p.rates,
        seed: p.seed,
      };
    });
    const remote = { ctx, db, jobName: `cider-robustness-${ctx.jobId}` };
    const stored =
      executor.kind === 'slurm'
        ? await runTrialsOnSlurm(trials, executor, remote)
        : await runTrialsOnQueue(trials, executor, remote);
    return stored.map((t) => ({ runId: t.runId, status: t.status, sweepId: t.sweepId, error: t.error }));
  } finally {
    db.close();
  }
}

export async function robustnessRunsTask(
  p: JobParams<'analysis.robustnessRuns'>,
  ctx: Ctx,
): Promise<RobustnessRunsResult> {
  try {
    const trials = p.executor.kind === 'local' ? await localSweeps(p, ctx) : await remoteSweeps(p, ctx);
    const failed = trials.filter((t) => t.status !== 'completed');
    ctx.log(
      failed.length ? 'warn' : 'info',
      `${trials.length - failed.length} of ${trials.length} runs swept${failed.length ? `; failed: ${failed.map((t) => `run ${t.runId}`).join(', ')}` : ''}`,
    );
    return { trials };
  } catch (e) {
    if (ctx.signal.aborted) throw new AppError('CANCELLED', 'cancelled by the user');
    throw e;
  }
}
