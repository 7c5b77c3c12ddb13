/**
 * The runs service: handlers for src/shared/contract/training.ts, from a factory given the
 * ServiceContext. A run is a row (store/runs.ts) and a folder <dataDir>/runs/r<id> holding its
 * checkpoints; training and evaluation are jobs ('train', 'evaluate') whose workers write their
 * figures to SQLite as they go. A run whose job ended without the worker saying how (a worker
 * killed, a cancel before it started, an app that stopped) is reconciled from the job's status
 * whenever it is read.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Handlers } from '../../shared/api';
import { AppError } from '../../shared/errors';
import {
  runSelectionMetric,
  type RunRecord,
  type RunStatus,
  type SelectionMetricName,
} from '../../shared/contract/training';
import { FINISHED_JOB_STATUSES, type JobStatus } from '../../shared/types';
import { datasetsRoot, runFolder } from '../store/paths';
import { DatasetStore } from '../store/datasets';
import { RunStore } from '../store/runs';
import type { ServiceContext } from './app';
import { defaultTrainWorkers } from '../ml/parallel/policy';

const AFTER_JOB: Partial<Record<JobStatus, Exclude<RunStatus, 'queued' | 'running'>>> = {
  cancelled: 'stopped',
  failed: 'failed',
  interrupted: 'interrupted',
  succeeded: 'completed',
};

export function trainingService(ctx: ServiceContext): { handlers: Handlers<void>['runs']; store: RunStore } {
  const runs = new RunStore(ctx.db);
  const datasets = new DatasetStore(ctx.db, datasetsRoot(ctx.dataDir));

  const reconcile = (r: RunRecord): RunRecord => {
    if ((r.status !== 'queued' && r.status !== 'running') || r.jobId === null) return r;
    const job = ctx.jobs.get(r.jobId);
    if (!FINISHED_JOB_STATUSES.includes(job.status)) return r;
    const status = AFTER_JOB[job.status] ?? 'interrupted';
    return runs.finish(
      r.id,
      status,
      status === 'completed'
        ? null
        : (job.error ?? { code: 'INTERRUPTED', message: `the training job ended (${job.status})` }),
    );
  };
  const get = (id: number) => reconcile(runs.get(id));
  /** a run whose dataset was removed says so, instead of failing later in a worker with ENOENT */
  const requireDataset = (run: RunRecord) => {
    if (!fs.existsSync(path.join(run.datasetFolder, 'manifest.json')))
      throw new AppError(
        'NOT_FOUND',
        `run ${run.id}'s dataset is gone (${run.datasetFolder})${run.error?.code === 'DATASET_REMOVED' ? `: ${run.error.message}` : ''}`,
      );
  };

  const submitTrain = (run: RunRecord, resume: boolean, options = run.options) => {
    const job = ctx.runner.submit('train', { runId: run.id, resume }, run.projectId);
    return { run: runs.queue(run.id, job.id, options), job };
  };

  const handlers: Handlers<void>['runs'] = {
    start: ({ datasetId, datasetFolder, projectId, name, options }) => {
      if (projectId !== undefined) ctx.projects.get(projectId);
      const dataset = datasetId !== undefined ? datasets.get(datasetId) : null;
      const folder = dataset ? datasets.dir(dataset) : path.resolve(datasetFolder!);
      if (!fs.existsSync(path.join(folder, 'manifest.json')))
        throw new AppError('INVALID_INPUT', `${folder} is not a dataset folder (no manifest.json)`);
      if (options.text.kind !== 'features' && !fs.existsSync(options.text.modelDir))
        throw new AppError('INVALID_INPUT', `BERT model folder ${options.text.modelDir} does not exist`);
      // record the thread count: a seeded run repeats exactly only with the same batch split
      options = { ...options, workers: options.workers ?? defaultTrainWorkers(options.batchSize) };
      const run = runs.create({
        projectId: projectId ?? null,
        datasetId: dataset?.id ?? null,
        datasetFolder: folder,
        name: name ?? `${dataset?.name ?? path.basename(folder)} ${options.task}-class`,
        options,
        selectionMetric: checkedSelectionMetric(options),
        folderOf: (id) => runFolder(ctx.dataDir, id),
      });
      return submitTrain(run, false);
    },
    list: (f) => runs.list(f).map(reconcile),
    get: ({ id }) => get(id),
    epochs: ({ id }) => runs.epochs(id),
    stop: ({ id }) => {
      const run = get(id);
      if ((run.status !== 'queued' && run.status !== 'running') || run.jobId === null)
        throw new AppError('CONFLICT', `run ${id} is not training (${run.status})`);
      ctx.runner.cancel(run.jobId);
      return get(id);
    },
    resume: ({ id, maxEpochs }) => {
      const run = get(id);
      if (run.status === 'queued' || run.status === 'running')
        throw new AppError('CONFLICT', `run ${id} is already ${run.status}`);
      requireDataset(run);
      const options = maxEpochs !== undefined ? { ...run.options, maxEpochs } : run.options;
      if (run.status === 'completed' && options.maxEpochs <= run.epochsDone)
        throw new AppError(
          'CONFLICT',
          `run ${id} already finished (${run.epochsDone} epochs); pass a larger maxEpochs to continue`,
        );
      return submitTrain(run, true, options);
    },
    evaluate: ({ id, options }) => {
      const run = get(id);
      if (run.epochsDone === 0) throw new AppError('CONFLICT', `run ${id} has no finished epoch to evaluate`);
      requireDataset(run);
      if (options.protocols.includes('RMFM_same') && !options.modalityRates)
        throw new AppError('BAD_REQUEST', 'RMFM_same needs modalityRates (text, audio, vision)');
      return ctx.runner.submit('evaluate', { runId: id, options }, run.projectId);
    },
    evaluations: ({ id }) => runs.evaluations(id),
    predictions: ({ evaluationId }) => runs.predictions(evaluationId),
  };
  return { handlers, store: runs };
}

/** The run's selection metric; one its task lacks (e.g. Acc_3 for 7 classes) is refused as bad input. */
export function checkedSelectionMetric(o: Parameters<typeof runSelectionMetric>[0]): SelectionMetricName {
  try {
    return runSelectionMetric(o);
  } catch (e) {
    throw new AppError('INVALID_INPUT', (e as Error).message);
  }
}
