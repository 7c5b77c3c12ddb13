/**
 * The 'ablation' job: the paper's ablation set, one run per variant (one seed), each trial
 * trained, evaluated under RMFM on the IID test split (AUILC), and compared IID vs OOD (plain and
 * MACI-debiased, overlap removed) by the 'train', 'evaluate' and 'analysis.compareOod' tasks'
 * code. The stored run, evaluation and comparison are what the table reads (services/ablation.ts).
 *
 * Where the trials run is the job's executor:
 * - local: `scheduleTrials(specs, localExecutor, ctx)` runs them one after another in this worker
 *   (`runAblationTrial`: create the run, train, evaluate, compare, each step storing its records);
 * - slurm / queue: `remoteTrials` creates the runs, hands the trials to the cluster (trial folders
 *   of kind 'ablation', jobs/executors/trial.ts) and stores what each trial wrote, once.
 */
import { AppError } from '../../../shared/errors';
import {
  ABLATION_LABELS,
  ablationRunName,
  variantOptions,
  type AblationJobParams,
  type AblationVariant,
} from '../../../shared/contract/ablation';
import {
  evaluationOptionsSchema,
  runSelectionMetric,
  type RunRecord,
  type TrainingOptions,
} from '../../../shared/contract/training';
import type { ExecutorSpec } from '../../../shared/contract/executors';
import type { AblationJobResult, AblationTrialOutcome, JobKind } from '../../../shared/jobs';
import { openDatabase } from '../../store/db';
import { databaseFile, runFolder } from '../../store/paths';
import { RunStore } from '../../store/runs';
import type { TaskContext } from '../protocol';
import { evaluateTask, trainTask } from './training';
import { compareOodTask } from './analysis';
import { runTrialsOnQueue, runTrialsOnSlurm } from '../executors/remote';
import type { TrialSpec } from '../executors/trial';

/** Everything one trial needs: enough to run it anywhere that sees the data folder. */
export interface AblationTrialSpec {
  ablationId: number;
  variant: AblationVariant;
  /** 1-based position and count, for progress */
  index: number;
  count: number;
  datasetId: number;
  datasetFolder: string;
  projectId: number | null;
  options: TrainingOptions;
  iid: AblationJobParams['iid'];
  ood: AblationJobParams['ood'];
  tauRule: AblationJobParams['tauRule'];
  rmfmRates: number[];
}

export type TrialOutcome = AblationTrialOutcome;

/** Runs one trial and returns what it wrote; a cancel propagates, any other failure is the outcome. */
export type TrialExecutor = (spec: AblationTrialSpec, ctx: TaskContext<'ablation'>) => Promise<TrialOutcome>;

/** The plan: one trial spec per variant, from the job's params. */
export function planAblation(ablationId: number, p: AblationJobParams): AblationTrialSpec[] {
  return p.variants.map((variant, k) => ({
    ablationId,
    variant,
    index: k + 1,
    count: p.variants.length,
    datasetId: p.datasetId,
    datasetFolder: p.datasetFolder,
    projectId: p.projectId,
    options: variantOptions(p.options, variant),
    iid: p.iid,
    ood: p.ood,
    tauRule: p.tauRule,
    rmfmRates: p.rmfmRates,
  }));
}

/** The trial's run, created and queued under this job. */
function createAblationRun(runs: RunStore, spec: AblationTrialSpec, ctx: TaskContext<'ablation'>): RunRecord {
  const run = runs.create({
    projectId: spec.projectId,
    datasetId: spec.datasetId,
    datasetFolder: spec.datasetFolder,
    name: ablationRunName(spec.ablationId, spec.variant),
    options: spec.options,
    selectionMetric: runSelectionMetric(spec.options),
    folderOf: (id) => runFolder(ctx.dataDir, id),
  });
  return runs.queue(run.id, ctx.jobId);
}

const isCancel = (e: unknown, ctx: TaskContext<'ablation'>) =>
  ctx.signal.aborted || (e as { code?: string }).code === 'CANCELLED' || (e as { name?: string }).name === 'AbortError';

/** Run one trial in this worker: create its run, train, evaluate under RMFM, compare IID vs OOD. */
export async function runAblationTrial(spec: AblationTrialSpec, ctx: TaskContext<'ablation'>): Promise<TrialOutcome> {
  const db = openDatabase(databaseFile(ctx.dataDir));
  const runs = new RunStore(db);
  let runId: number | null = null;
  const outcome = (status: string, extra: Partial<TrialOutcome> = {}): TrialOutcome => ({
    variant: spec.variant,
    runId,
    status,
    evaluationId: null,
    comparisonId: null,
    error: null,
    ...extra,
  });
  try {
    runId = createAblationRun(runs, spec, ctx).id;
  } finally {
    db.close();
  }
  const phase = <K extends JobKind & ('train' | 'evaluate' | 'analysis.compareOod')>(
    stage: number,
    stages: number,
  ): TaskContext<K> => ({
    ...ctx,
    progress: (fraction, message, data) =>
      ctx.progress(
        (spec.index - 1 + (stage + (fraction ?? 0)) / stages) / spec.count,
        `${spec.variant} (${spec.index}/${spec.count}): ${message}`,
        { ...data, ablationId: spec.ablationId, variant: spec.variant, trial: spec.index, trials: spec.count },
      ),
  });
  ctx.log('info', `${spec.index}/${spec.count} ${ABLATION_LABELS[spec.variant]}: run ${runId}`);
  try {
    await trainTask({ runId, resume: false }, phase<'train'>(0, 3));
    const evaluation = await evaluateTask(
      {
        runId,
        options: evaluationOptionsSchema.parse({
          protocols: ['RMFM'],
          rates: spec.rmfmRates,
          checkpoint: 'best',
          predictions: false,
        }),
      },
      phase<'evaluate'>(1, 3),
    );
    const comparison = await compareOodTask(
      { runId, checkpoint: 'best', tauRule: spec.tauRule, iid: spec.iid, ood: spec.ood },
      phase<'analysis.compareOod'>(2, 3),
    );
    return outcome('completed', {
      evaluationId: evaluation.evaluationIds[0] ?? null,
      comparisonId: comparison.comparisonId,
    });
  } catch (e) {
    if (isCancel(e, ctx)) throw e;
    const message = (e as Error).message;
    ctx.log('warn', `${spec.variant} failed: ${message}`);
    return outcome('failed', { error: message });
  }
}

export const localExecutor: TrialExecutor = runAblationTrial;

/** Run the trials one after another with `execute`; a failed trial is recorded and the rest go on. */
export async function scheduleTrials(
  specs: AblationTrialSpec[],
  execute: TrialExecutor,
  ctx: TaskContext<'ablation'>,
): Promise<TrialOutcome[]> {
  const out: TrialOutcome[] = [];
  for (const spec of specs) {
    ctx.throwIfCancelled();
    out.push(await execute(spec, ctx));
  }
  return out;
}

/**
 * The trials on a SLURM cluster or a job queue: every run is created here first, then each trial
 * (train, RMFM, IID vs OOD) runs on a compute node / a worker that writes its folder or result,
 * and this coordinator stores each once (jobs/executors/import.ts).
 */
export async function remoteTrials(
  specs: AblationTrialSpec[],
  executor: Exclude<ExecutorSpec, { kind: 'local' }>,
  ctx: TaskContext<'ablation'>,
): Promise<TrialOutcome[]> {
  const db = openDatabase(databaseFile(ctx.dataDir));
  try {
    const runs = new RunStore(db);
    const trials: TrialSpec[] = specs.map((spec) => {
      const run = createAblationRun(runs, spec, ctx);
      ctx.log(
        'info',
        `${spec.index}/${spec.count} ${ABLATION_LABELS[spec.variant]}: run ${run.id} (on ${executor.kind})`,
      );
      return {
        version: 1,
        kind: 'ablation',
        jobId: ctx.jobId,
        trial: spec.index,
        runId: run.id,
        name: run.name,
        datasetFolder: spec.datasetFolder,
        options: run.options,
        iid: spec.iid,
        ood: spec.ood,
        tauRule: spec.tauRule,
        rmfmRates: spec.rmfmRates,
      };
    });
    const remote = { ctx, db, jobName: `cider-ablation-${ctx.jobId}` };
    const stored =
      executor.kind === 'slurm'
        ? await runTrialsOnSlurm(trials, executor, remote)
        : await runTrialsOnQueue(trials, executor, remote);
    return stored.map((t, k) => ({
      variant: specs[k].variant,
      runId: t.runId,
      status: t.status,
      evaluationId: t.evaluationIds[0] ?? null,
      comparisonId: t.comparisonId,
      error: t.error,
    }));
  } finally {
    db.close();
  }
}

export async function ablationTask(p: AblationJobParams, ctx: TaskContext<'ablation'>): Promise<AblationJobResult> {
  try {
    const plan = planAblation(ctx.jobId, p);
    const executor = p.executor ?? { kind: 'local' };
    const trials =
      executor.kind === 'local'
        ? await scheduleTrials(plan, localExecutor, ctx)
        : await remoteTrials(plan, executor, ctx);
    const failed = trials.filter((t) => t.status !== 'completed');
    ctx.log(
      failed.length ? 'warn' : 'info',
      `${trials.length - failed.length} of ${trials.length} variants completed${failed.length ? `; failed: ${failed.map((t) => t.variant).join(', ')}` : ''}`,
    );
    return { trials };
  } catch (e) {
    if (ctx.signal.aborted) throw new AppError('CANCELLED', 'cancelled by the user');
    throw e;
  }
}
