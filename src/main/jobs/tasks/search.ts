/**
 * The 'search' job: the trials of a seeded random search (ml/search/sample.ts), each an ordinary
 * run created here. Local executor: trained in this worker by the 'train' task's code, one after
 * another. SLURM / queue executors: all runs are created first, then handed to the cluster
 * (jobs/executors/remote.ts), which stores each as it finishes. A trial that fails is recorded
 * (its run says why) and the search goes on; a cancel stops the trials under way (their runs are
 * 'stopped') and ends the search.
 */
import { AppError } from '../../../shared/errors';
import { trialRunName } from '../../../shared/contract/search';
import type { JobParams, SearchJobResult } from '../../../shared/jobs';
import { runSelectionMetric } from '../../../shared/contract/training';
import { applyTrial, planTrials } from '../../ml/search/sample';
import { openDatabase } from '../../store/db';
import { databaseFile, runFolder } from '../../store/paths';
import { RunStore } from '../../store/runs';
import type { TaskContext } from '../protocol';
import { trainTask } from './training';
import { runTrialsOnQueue, runTrialsOnSlurm } from '../executors/remote';
import type { TrialSpec } from '../executors/trial';

export async function searchTask(p: JobParams<'search'>, ctx: TaskContext<'search'>): Promise<SearchJobResult> {
  const plan = planTrials(p.space, p.options, p.seed, p.trials);
  const db = openDatabase(databaseFile(ctx.dataDir));
  const runs = new RunStore(db);
  const out: SearchJobResult['trials'] = [];
  const executor = p.executor ?? { kind: 'local' };
  const createRun = (k: number) =>
    runs.create({
      projectId: p.projectId,
      datasetId: p.datasetId,
      datasetFolder: p.datasetFolder,
      name: trialRunName(ctx.jobId, k + 1, p.trials),
      options: applyTrial(p.options, plan[k]),
      selectionMetric: runSelectionMetric(p.options),
      folderOf: (id) => runFolder(ctx.dataDir, id),
    });
  try {
    if (executor.kind !== 'local') {
      const specs: TrialSpec[] = plan.map((_, k) => {
        const run = runs.queue(createRun(k).id, ctx.jobId);
        return {
          version: 1,
          kind: 'search',
          jobId: ctx.jobId,
          trial: k + 1,
          runId: run.id,
          name: run.name,
          datasetFolder: p.datasetFolder,
          options: run.options,
        };
      });
      const remote = { ctx, db, jobName: `cider-search-${ctx.jobId}` };
      if (executor.kind === 'slurm') await runTrialsOnSlurm(specs, executor, remote);
      else await runTrialsOnQueue(specs, executor, remote);
      for (const s of specs) {
        const done = runs.get(s.runId);
        out.push({ trial: s.trial, runId: s.runId, status: done.status, bestMetric: done.bestMetric });
      }
    }
    for (let k = 0; k < (executor.kind === 'local' ? plan.length : 0); k++) {
      ctx.throwIfCancelled();
      const trial = k + 1;
      const run = createRun(k);
      runs.queue(run.id, ctx.jobId);
      ctx.log(
        'info',
        `trial ${trial}/${p.trials}: run ${run.id}, layers ${plan[k].layers}, heads ${plan[k].heads}, loss weights ${JSON.stringify(plan[k].lossWeights)}, dropouts ${JSON.stringify(plan[k].dropouts)}`,
      );
      const trialCtx: TaskContext<'train'> = {
        ...ctx,
        progress: (fraction, message, data) =>
          ctx.progress(
            (k + (fraction ?? 0)) / p.trials,
            `trial ${trial}/${p.trials}: ${message}`,
            data && { ...data, searchId: ctx.jobId, trial, trials: p.trials },
          ),
      };
      try {
        await trainTask({ runId: run.id, resume: false }, trialCtx);
      } catch (e) {
        if (ctx.signal.aborted || (e as { code?: string }).code === 'CANCELLED') throw e;
        ctx.log('warn', `trial ${trial} failed: ${(e as Error).message}`);
      }
      const done = runs.get(run.id);
      out.push({ trial, runId: run.id, status: done.status, bestMetric: done.bestMetric });
    }
    const sign = runSelectionMetric(p.options) === 'validation_loss' ? -1 : 1;
    const best = [...out]
      .filter((t) => t.bestMetric !== null)
      .sort((a, b) => sign * (b.bestMetric! - a.bestMetric!))[0];
    ctx.log(
      'info',
      best
        ? `best trial ${best.trial} (run ${best.runId}): ${best.bestMetric}`
        : 'no trial produced a validation metric',
    );
    return { trials: out };
  } catch (e) {
    if (ctx.signal.aborted) throw new AppError('CANCELLED', 'cancelled by the user');
    throw e;
  } finally {
    db.close();
  }
}
