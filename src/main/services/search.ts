/**
 * The search service: handlers for src/shared/contract/search.ts. A search is its 'search' job
 * (params: space, trials, sampler seed, base options) plus the runs that job creates, named
 * `search #<job> trial k/N` (no table of its own: a search holds nothing a job and its runs do
 * not). Trial settings are recomputed from the seed, so a trial not yet started shows its
 * settings too. Runs are read through the runs service, so they are reconciled with their job.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Handlers } from '../../shared/api';
import { AppError } from '../../shared/errors';
import {
  parseTrialRunName,
  type SearchJobParams,
  type SearchRecord,
  type SearchTrial,
} from '../../shared/contract/search';
import { isJobOf, type JobRecordOf } from '../../shared/jobs';
import { runSelectionMetric } from '../../shared/contract/training';
import { planTrials, trialParamsOf, usableHeads } from '../ml/search/sample';
import { datasetsRoot } from '../store/paths';
import { slurmScriptFor } from '../jobs/executors/remote';
import { DatasetStore } from '../store/datasets';
import type { ServiceContext } from './app';
import { checkedSelectionMetric } from './training';

/** best validation metric first (lowest for a loss); trials without one keep trial order after them */
export function rankTrials(trials: SearchTrial[], lowerIsBetter = false): SearchTrial[] {
  const sign = lowerIsBetter ? -1 : 1;
  return [...trials].sort((a, b) => {
    if (a.bestMetric !== null && b.bestMetric !== null && a.bestMetric !== b.bestMetric)
      return sign * (b.bestMetric - a.bestMetric);
    if ((a.bestMetric === null) !== (b.bestMetric === null)) return a.bestMetric === null ? 1 : -1;
    return a.trial - b.trial;
  });
}

export function searchService(
  ctx: ServiceContext,
  runsHandlers: Handlers<void>['runs'],
): { handlers: Handlers<void>['search'] } {
  const datasets = new DatasetStore(ctx.db, datasetsRoot(ctx.dataDir));

  const record = async (job: JobRecordOf<'search'>): Promise<SearchRecord> => {
    const p = job.params;
    const plan = planTrials(p.space, p.options, p.seed, p.trials);
    const runs = (await runsHandlers.list(p.datasetId !== null ? { datasetId: p.datasetId } : {})).filter(
      (r) => parseTrialRunName(r.name)?.searchId === job.id,
    );
    const byTrial = new Map(runs.map((r) => [parseTrialRunName(r.name)!.trial, r]));
    const trials: SearchTrial[] = plan.map((params, i) => {
      const r = byTrial.get(i + 1);
      if (!r)
        return {
          trial: i + 1,
          params,
          runId: null,
          status: 'pending',
          epochsDone: 0,
          bestEpoch: null,
          bestMetric: null,
        };
      return {
        trial: i + 1,
        params: trialParamsOf(r.options),
        runId: r.id,
        status: r.status,
        epochsDone: r.epochsDone,
        bestEpoch: r.bestEpoch,
        bestMetric: r.bestMetric,
      };
    });
    return {
      id: job.id,
      name: p.name,
      strategy: 'random',
      seed: p.seed,
      trials: p.trials,
      datasetId: p.datasetId,
      datasetFolder: p.datasetFolder,
      space: p.space,
      options: p.options,
      executor: p.executor ?? { kind: 'local' },
      selectionMetric: runSelectionMetric(p.options),
      job,
      results: rankTrials(trials, runSelectionMetric(p.options) === 'validation_loss'),
    };
  };
  const searchJob = (id: number): JobRecordOf<'search'> => {
    const job = ctx.jobs.get(id);
    if (job.kind !== 'search')
      throw new AppError('NOT_FOUND', `search ${id} does not exist (job ${id} is a ${job.kind} job)`);
    return job;
  };

  const handlers: Handlers<void>['search'] = {
    start: async ({ datasetId, datasetFolder, projectId, name, trials, seed, space, options, executor }) => {
      if (projectId !== undefined) ctx.projects.get(projectId);
      const dataset = datasetId !== undefined ? datasets.get(datasetId) : null;
      const folder = dataset ? datasets.dir(dataset) : path.resolve(datasetFolder!);
      if (!fs.existsSync(path.join(folder, 'manifest.json')))
        throw new AppError('INVALID_INPUT', `${folder} is not a dataset folder (no manifest.json)`);
      if (options.text.kind !== 'features' && !fs.existsSync(options.text.modelDir))
        throw new AppError('INVALID_INPUT', `BERT model folder ${options.text.modelDir} does not exist`);
      usableHeads(space, options.model.d);
      checkedSelectionMetric(options);
      const params: SearchJobParams = {
        name: name || `${dataset?.name ?? path.basename(folder)} ${options.task}-class search`,
        datasetId: dataset?.id ?? null,
        datasetFolder: folder,
        projectId: projectId ?? null,
        trials,
        seed,
        space,
        options,
        executor,
      };
      const job = ctx.runner.submit('search', params, projectId ?? null);
      return record(job);
    },
    list: async ({ datasetId }) => {
      const jobs = ctx.jobs
        .list({ limit: 1000 })
        .filter((j) => isJobOf(j, 'search'))
        .filter((j) => datasetId === undefined || j.params.datasetId === datasetId);
      return Promise.all(jobs.map(record));
    },
    get: ({ id }) => record(searchJob(id)),
    sbatchPreview: async ({ executor, trials, name }) => ({
      script: slurmScriptFor(ctx.dataDir, executor, '<job id>', name, trials),
    }),
    stop: ({ id }) => {
      const job = searchJob(id);
      if (job.status !== 'queued' && job.status !== 'running')
        throw new AppError('CONFLICT', `search ${id} is not running (${job.status})`);
      ctx.runner.cancel(id);
      return record(searchJob(id));
    },
  };
  return { handlers };
}
