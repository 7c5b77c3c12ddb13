/**
 * The search service: a small hyperparameter search over the authors' space (spec section 4:
 * layers {1..4}, heads {1,2,4,8}, the five dropouts and the three MSSD loss weights). Each trial
 * is an ordinary training run, trained one after another inside one 'search' job; the results
 * are the trials' best validation metrics, best first.
 *
 * Strategy: seeded random search. The authors used TPE over 300 trials; this is not TPE, and
 * every record says 'random' so nobody mistakes it for their protocol.
 */
import { z } from 'zod';
import type { JobParams, JobRecordOf } from '../jobs';
import { id, method, nameSchema } from './method';
import { trainingOptionsSchema, type RunStatus, type SelectionMetricName, type TrainingOptions } from './training';
import { executorSchema, slurmExecutorSchema, type ExecutorSpec } from './executors';

const folderPath = z.string().trim().min(1, 'a folder path is needed').max(4096);
const positiveInt = z.number().int().positive();
const grid = (lo: number, hi: number, step: number) =>
  Array.from({ length: Math.round((hi - lo) / step) + 1 }, (_, i) => Math.round((lo + i * step) * 1e6) / 1e6);

/** The authors' search space as discrete choices; the dropout and loss-weight grids are ours (they publish no grid). */
export const DEFAULT_SEARCH_SPACE = {
  layers: [1, 2, 3, 4],
  heads: [1, 2, 4, 8],
  dropouts: grid(0, 0.5, 0.1),
  lossWeights: grid(0, 1, 0.1),
};

export const searchSpaceSchema = z
  .object({
    layers: z.array(positiveInt.max(16)).min(1).max(16).default(DEFAULT_SEARCH_SPACE.layers),
    /** heads that do not divide the model width d are left out when sampling */
    heads: z.array(positiveInt.max(64)).min(1).max(16).default(DEFAULT_SEARCH_SPACE.heads),
    /** every one of the five dropouts (relu, residual, attention, embedding, output) draws from this list */
    dropouts: z.array(z.number().min(0).max(0.99)).min(1).max(100).default(DEFAULT_SEARCH_SPACE.dropouts),
    /** each of the three loss weights (joint, attention, reconstruction) draws from this list */
    lossWeights: z.array(z.number().min(0).max(100)).min(1).max(100).default(DEFAULT_SEARCH_SPACE.lossWeights),
  })
  .strict();
export type SearchSpace = z.output<typeof searchSpaceSchema>;

/** What one trial changes relative to the search's base options. */
export interface TrialParams {
  layers: number;
  heads: number;
  dropouts: TrainingOptions['model']['dropouts'];
  lossWeights: TrainingOptions['lossWeights'];
}

export interface SearchTrial {
  /** 1-based */
  trial: number;
  params: TrialParams;
  /** null until the trial's run was created */
  runId: number | null;
  status: RunStatus | 'pending';
  epochsDone: number;
  bestEpoch: number | null;
  bestMetric: number | null;
}

export interface SearchRecord {
  /** the search's job id */
  id: number;
  name: string;
  strategy: 'random';
  seed: number;
  trials: number;
  datasetId: number | null;
  datasetFolder: string;
  space: SearchSpace;
  /** the options every trial starts from (the trial's params override them) */
  options: TrainingOptions;
  /** where the trials run: here, a SLURM array or a job queue */
  executor: ExecutorSpec;
  /** the trials' selection metric (validation_loss: lower is better, ranked so) */
  selectionMetric: SelectionMetricName;
  job: JobRecordOf<'search'>;
  /** best validation metric first; trials without one (pending, failed) last, in trial order */
  results: SearchTrial[];
}

/** The 'search' job's params, as the service submits them (parsed and defaulted): the job catalogue's. */
export type SearchJobParams = JobParams<'search'>;

/** The name of a search's trial runs: how the service finds them again (no table of their own). */
export const trialRunName = (searchId: number, trial: number, trials: number) =>
  `search #${searchId} trial ${trial}/${trials}`;
export const parseTrialRunName = (name: string): { searchId: number; trial: number } | null => {
  const m = /^search #(\d+) trial (\d+)\/\d+$/.exec(name);
  return m ? { searchId: Number(m[1]), trial: Number(m[2]) } : null;
};

const startArgs = z
  .object({
    datasetId: id.optional(),
    datasetFolder: folderPath.optional(),
    projectId: id.optional(),
    name: nameSchema('a search').optional(),
    trials: z.number().int().min(1).max(300).default(10),
    /** the sampler's seed (each trial's run keeps options.seed for its weights) */
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .default(1111),
    space: searchSpaceSchema.prefault({}),
    options: trainingOptionsSchema.prefault({}),
    executor: executorSchema.default({ kind: 'local' }),
  })
  .strict()
  .refine((a) => (a.datasetId === undefined) !== (a.datasetFolder === undefined), {
    message: 'give exactly one of datasetId and datasetFolder',
  });

export const searchContract = {
  /** start a 'search' job: N seeded random trials, each a run, trained one after another */
  start: method<SearchRecord>()(startArgs),
  list: method<SearchRecord[]>()(z.object({ datasetId: id.optional() }).strict()),
  get: method<SearchRecord>()(z.object({ id }).strict()),
  /** cancel the search's job (the trial under way is stopped and stays resumable as a run) */
  stop: method<SearchRecord>()(z.object({ id }).strict()),
  /** the sbatch script a SLURM search would submit, to show before starting it */
  sbatchPreview: method<{ script: string }>()(
    z
      .object({
        executor: slurmExecutorSchema,
        trials: z.number().int().min(1).max(300),
        name: z.string().trim().max(200).default('cider search'),
      })
      .strict(),
  ),
} as const;
