/**
 * The ablation service: handlers for src/shared/contract/ablation.ts. An ablation is its
 * 'ablation' job plus the runs it creates (`ablation #<job> <variant>`); the table is assembled
 * from each run's stored records: its newest RMFM evaluation (AUILC) and its newest IID/OOD
 * comparison (plain and debiased metrics at the ablation's tau rule).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Handlers } from '../../shared/api';
import { AppError } from '../../shared/errors';
import {
  ABLATION_LABELS,
  parseAblationRunName,
  variantOptions,
  type AblationJobParams,
  type AblationRecord,
  type AblationRow,
  type AblationSplitMetrics,
} from '../../shared/contract/ablation';
import type { OodComparison, SplitSide } from '../../shared/contract/analysis';
import {
  runSelectionMetric,
  type EvaluationRecord,
  type RunRecord,
  type TauRule,
} from '../../shared/contract/training';
import { isJobOf, type JobRecordOf } from '../../shared/jobs';
import { datasetsRoot } from '../store/paths';
import { standardRates } from '../ml/eval/sweep';
import { AnalysisStore } from '../store/analysis';
import { DatasetStore } from '../store/datasets';
import type { ServiceContext } from './app';
import { oodDatasetsOf } from './oodPair';
import { checkedSelectionMetric } from './training';
import { slurmScriptFor } from '../jobs/executors/remote';

export function tauNote(rule: TauRule, metric: string, balanced?: string | null): string {
  if (rule === 'balanced')
    return `debiased = MACI at tau chosen on the run's validation split re-weighted so the bias words carry no label information, by weighted ${metric} (ties: weighted loss, then smaller tau); ${balanced ?? 'strata and effective sample size: once a trial is compared'}`;
  return rule === 'reference'
    ? 'debiased = the reference protocol: per metric the best tau on each TEST split (optimistic, as the authors report)'
    : `debiased = MACI at tau chosen on the run's validation split by ${metric} (ties: validation loss, then smaller tau)`;
}

function splitMetrics(s: SplitSide): AblationSplitMetrics {
  return {
    datasetName: s.datasetName,
    count: s.count,
    removed: s.overlap?.removed ?? 0,
    plain: s.plain,
    debiased: s.debiased,
  };
}

/** One table row from a variant's run and its newest RMFM evaluation and IID/OOD comparison. */
export function ablationRow(
  variant: AblationRow['variant'],
  options: RunRecord['options'],
  run: RunRecord | null,
  rmfm: EvaluationRecord | null,
  comparison: OodComparison | null,
): AblationRow {
  return {
    variant,
    label: ABLATION_LABELS[variant],
    runId: run?.id ?? null,
    status: run?.status ?? 'pending',
    mssd: options.mssd !== false,
    lossWeights: options.lossWeights,
    bestEpoch: run?.bestEpoch ?? null,
    bestMetric: run?.bestMetric ?? null,
    iid: comparison ? splitMetrics(comparison.iid) : null,
    ood: comparison ? splitMetrics(comparison.ood) : null,
    tau: comparison && comparison.tauRule !== 'reference' ? comparison.selectedTau : null,
    auilcRmfm: rmfm?.auilc ?? null,
  };
}

export function ablationService(
  ctx: ServiceContext,
  runsHandlers: Handlers<void>['runs'],
): { handlers: Handlers<void>['ablation'] } {
  const datasets = new DatasetStore(ctx.db, datasetsRoot(ctx.dataDir));
  const analysis = new AnalysisStore(ctx.db);

  const record = async (job: JobRecordOf<'ablation'>): Promise<AblationRecord> => {
    const p = job.params;
    const runs = (await runsHandlers.list({ datasetId: p.datasetId })).filter(
      (r) => parseAblationRunName(r.name)?.ablationId === job.id,
    );
    const byVariant = new Map(runs.map((r) => [parseAblationRunName(r.name)!.variant, r]));
    let textNote: string | null = null;
    // every trial shares the dataset, so the training split's dictionary and the strata are the same
    let balanced: string | null = null;
    const rows = await Promise.all(
      p.variants.map(async (v) => {
        const run = byVariant.get(v) ?? null;
        if (!run) return ablationRow(v, variantOptions(p.options, v), null, null, null);
        const rmfm = (await runsHandlers.evaluations({ id: run.id })).find((e) => e.protocol === 'RMFM') ?? null;
        const comparison = analysis.comparisons(run.id).find((c) => (c.tauRule ?? 'validation') === p.tauRule) ?? null;
        textNote ??= comparison?.debiasNote ?? comparison?.textNote ?? null;
        balanced ??= comparison?.balanced?.description ?? null;
        return ablationRow(v, run.options, run, rmfm, comparison);
      }),
    );
    const metric = runSelectionMetric(p.options);
    return {
      id: job.id,
      name: p.name,
      seed: p.options.seed,
      datasetId: p.datasetId,
      oodDatasetId: p.ood.id,
      options: p.options,
      selectionMetric: metric,
      tauRule: p.tauRule,
      tauNote: tauNote(p.tauRule, metric, balanced),
      headline: p.options.task === 3 ? ['Acc_3', 'F1_3', 'Non0_acc_2'] : ['Acc_7', 'F1_7'],
      rmfmRates: p.rmfmRates,
      executor: p.executor ?? { kind: 'local' },
      job,
      rows,
      textNote,
    };
  };
  const ablationJob = (id: number): JobRecordOf<'ablation'> => {
    const job = ctx.jobs.get(id);
    if (job.kind !== 'ablation')
      throw new AppError('NOT_FOUND', `ablation ${id} does not exist (job ${id} is a ${job.kind} job)`);
    return job;
  };

  const handlers: Handlers<void>['ablation'] = {
    start: async ({ datasetId, oodDatasetId, projectId, name, variants, tauRule, rmfmRates, options, executor }) => {
      if (projectId !== undefined) ctx.projects.get(projectId);
      checkedSelectionMetric(options);
      const { iid, ood } = oodDatasetsOf(datasets, datasetId, oodDatasetId);
      if (iid.id !== datasetId)
        throw new AppError(
          'BAD_REQUEST',
          `dataset "${datasets.get(datasetId).name}" is an OOD version; run the ablation on its IID dataset "${iid.name}"`,
        );
      if (options.text.kind !== 'features' && !fs.existsSync(options.text.modelDir))
        throw new AppError('INVALID_INPUT', `BERT model folder ${options.text.modelDir} does not exist`);
      const rates = rmfmRates ? [...rmfmRates].sort((a, b) => a - b) : standardRates();
      if (rates[0] !== 0 || rates[rates.length - 1] !== 1)
        throw new AppError('INVALID_INPUT', 'the RMFM rates must span [0, 1] for an AUILC');
      const ref = (d: typeof iid) => ({ id: d.id, dir: datasets.dir(d), name: d.name });
      const params: AblationJobParams = {
        name: name || `${iid.name} ${options.task}-class ablation`,
        datasetId: iid.id,
        datasetFolder: path.resolve(datasets.dir(iid)),
        projectId: projectId ?? null,
        options,
        variants: [...new Set(variants)],
        iid: ref(iid),
        ood: ref(ood),
        tauRule,
        rmfmRates: rates,
        executor,
      };
      const job = ctx.runner.submit('ablation', params, projectId ?? null);
      return record(job);
    },
    list: async ({ datasetId }) => {
      const jobs = ctx.jobs
        .list({ limit: 1000 })
        .filter((j): j is JobRecordOf<'ablation'> => isJobOf(j, 'ablation'))
        .filter((j) => datasetId === undefined || j.params.datasetId === datasetId);
      return Promise.all(jobs.map(record));
    },
    get: ({ id }) => record(ablationJob(id)),
    sbatchPreview: async ({ executor, trials, name }) => ({
      script: slurmScriptFor(ctx.dataDir, executor, '<job id>', name, trials),
    }),
    stop: ({ id }) => {
      const job = ablationJob(id);
      if (job.status !== 'queued' && job.status !== 'running')
        throw new AppError('CONFLICT', `ablation ${id} is not running (${job.status})`);
      ctx.runner.cancel(id);
      return record(ablationJob(id));
    },
  };
  return { handlers };
}
