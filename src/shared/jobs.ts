/**
 * The job catalogue: every kind of long work the app runs in a worker, with per kind the zod
 * schema of its params (the runner validates them before a job is recorded), the figures its
 * progress carries and what its record holds when it succeeded. Services submit through it, the
 * worker runs tasks typed by it, and the renderer and the CLI read progress and results through
 * the same types. Adding a kind: its schema in `jobParamsSchemas`, its entry in `JobTypes`, its
 * task in src/main/jobs/tasks.ts (the compiler asks for each).
 */
import { z } from 'zod';
import { AppError } from './errors';
import type { JobStatus } from './types';
import { MODALITIES } from './clips';
import type { Dataset, DatasetDims, DatasetFormat, DatasetSplit, LabelCounts, OodBuild } from './contract/datasets';
import { evaluationOptionsSchema, TAU_RULES, trainingOptionsSchema, type EpochLosses } from './contract/training';
import { searchSpaceSchema } from './contract/search';
import { executorSchema } from './contract/executors';
import { ABLATION_VARIANTS, type AblationVariant } from './contract/ablation';
import { id } from './contract/method';

const filePath = z.string().min(1).max(4096);
const checkpoint = z.enum(['best', 'last']).default('best');
const seed = z
  .number()
  .int()
  .min(0)
  .max(2 ** 31 - 1);
const datasetRef = z.object({ id, dir: filePath, name: z.string() }).strict();

/** a transcript segment, as much of it as feature extraction reads */
const transcriptSegmentSchema = z.object({
  index: z.number().int().min(0),
  start: z.number().nullable(),
  end: z.number().nullable(),
  text: z.string(),
  correction: z.string().nullable().optional(),
});

/** What a job of each kind is given. Services build these; the runner parses them before recording. */
export const jobParamsSchemas = {
  'backend.selftest': z
    .object({
      size: z.number().int().min(8).max(2048).default(256),
      iterations: z.number().int().min(1).max(100_000).default(20),
    })
    .strict(),
  'dataset.import': z
    .object({
      files: z.array(filePath).min(1),
      name: z.string().min(1),
      format: z.enum(['mmsa', 'csd']),
      extras: z.array(filePath).default([]),
      folds: filePath.optional(),
      /** MMSA files: whether the features are word-aligned (auto: decided from the file) */
      alignment: z.enum(['auto', 'aligned', 'unaligned']).optional(),
      /** recorded with the dataset by main when the job succeeds */
      kind: z.enum(['iid', 'ood']).optional(),
      parentId: id.nullable().optional(),
    })
    .strict(),
  'dataset.splitOod': z
    .object({
      sourceDir: filePath,
      name: z.string().min(1),
      seed,
      kind: z.literal('ood').optional(),
      parentId: id.nullable().optional(),
      strength: z.number().min(0).max(1).optional(),
      targetTest3: z.tuple([z.number().min(0), z.number().min(0), z.number().min(0)]).optional(),
      biasWordCount: z.number().int().min(1).optional(),
    })
    .strict(),
  'clips.extract': z
    .object({
      clips: z.array(
        z
          .object({
            id,
            name: z.string(),
            path: filePath,
            hasAudio: z.boolean(),
            hasVideo: z.boolean(),
            width: z.number().int().nullable(),
            height: z.number().int().nullable(),
            segments: z.array(transcriptSegmentSchema),
          })
          .strict(),
      ),
      ffmpeg: filePath,
      bertDir: filePath.nullable(),
      modalities: z.array(z.enum(MODALITIES)),
      textLength: z.number().int().positive(),
      visionRate: z.number().positive(),
      force: z.boolean(),
    })
    .strict(),
  train: z.object({ runId: id, resume: z.boolean().default(false) }).strict(),
  evaluate: z.object({ runId: id, options: evaluationOptionsSchema }).strict(),
  'analysis.robustness': z
    .object({
      runId: id,
      protocols: z.array(z.string().min(1)).min(1),
      rates: z.array(z.number().min(0).max(1)).min(1),
      seed: seed.default(1111),
      checkpoint,
    })
    .strict(),
  'analysis.compareOod': z
    .object({
      runId: id,
      checkpoint,
      iid: datasetRef,
      ood: datasetRef,
      /** the paper's protocol: a run trained on the OOD dataset, scored on its test split beside this run */
      withRunId: id.optional(),
      tauRule: z.enum(TAU_RULES).default('validation'),
    })
    .strict(),
  search: z
    .object({
      name: z.string(),
      datasetId: id.nullable(),
      datasetFolder: filePath,
      projectId: id.nullable(),
      trials: z.number().int().min(1),
      seed,
      space: searchSpaceSchema,
      options: trainingOptionsSchema,
      /** where the trials run; absent in searches started before executors existed: local */
      executor: executorSchema.optional(),
    })
    .strict(),
  ablation: z
    .object({
      name: z.string(),
      datasetId: id,
      datasetFolder: filePath,
      projectId: id.nullable(),
      options: trainingOptionsSchema,
      variants: z.array(z.enum(ABLATION_VARIANTS)).min(1),
      iid: datasetRef,
      ood: datasetRef,
      tauRule: z.enum(TAU_RULES),
      rmfmRates: z.array(z.number().min(0).max(1)).min(2),
      /** where the trials run; absent in ablations started before executors existed: local */
      executor: executorSchema.optional(),
    })
    .strict(),
  /** the robustness sweep of several runs (e.g. one per seed), one trial per run, then mean ± sd */
  'analysis.robustnessRuns': z
    .object({
      runIds: z.array(id).min(1).max(50),
      protocols: z.array(z.string().min(1)).min(1),
      rates: z.array(z.number().min(0).max(1)).min(1),
      seed: seed.default(1111),
      checkpoint,
      executor: executorSchema.default({ kind: 'local' }),
    })
    .strict(),
} as const;

export type JobKind = keyof typeof jobParamsSchemas;
export const JOB_KINDS = Object.keys(jobParamsSchemas) as readonly JobKind[];
export const isJobKind = (kind: string): kind is JobKind => Object.hasOwn(jobParamsSchemas, kind);

/** a job's params as stored in its record (parsed, defaulted) */
export type JobParams<K extends JobKind> = z.output<(typeof jobParamsSchemas)[K]>;
/** a job's params as a service may give them to the runner (defaults filled in there) */
export type JobParamsInput<K extends JobKind> = z.input<(typeof jobParamsSchemas)[K]>;

/** process memory for the progress panel (in a worker thread, rss is the whole app process) */
export interface MemoryFigures {
  rssBytes: number;
  heapUsedBytes: number;
  externalBytes: number;
  arrayBuffersBytes: number;
}

/** a training batch finished */
export interface TrainBatchProgress {
  runId: number;
  epoch: number;
  batch: number;
  batches: number;
  losses: EpochLosses;
  /** the last finished epoch's validation metrics */
  validation: Record<string, number> | null;
  memory: MemoryFigures;
  /** when the batch finished (ms since 1970): the view's time-left estimate from batch timings */
  at: number;
}

/** a training epoch finished (no `batch`) */
export interface TrainEpochProgress {
  runId: number;
  epoch: number;
  batch?: undefined;
  losses: EpochLosses;
  validation: Record<string, number>;
  bestEpoch: number | null;
  bestMetric: number | null;
  memory: MemoryFigures;
}

export type TrainProgress = TrainBatchProgress | TrainEpochProgress;
/** a search's progress is its current trial's training progress, and which trial that is */
export type SearchProgress = TrainProgress & { searchId: number; trial: number; trials: number };
/** a search whose trials run on a cluster (jobs/executors/remote.ts): how many are stored, per state */
export interface RemoteTrialsProgress {
  executor: 'slurm' | 'queue';
  /** the SLURM job array */
  arrayJobId?: number;
  stored: number;
  trials: number;
  states: Record<string, number>;
}
/** whole-split passes through a run's model (evaluation, sweeps, OOD comparison) */
export interface RunPassProgress {
  runId: number;
  done: number;
  total: number;
}

/** what the worker hands back from a dataset job; main moves it into place and records it */
export interface StagedDataset {
  staged: string;
  format: DatasetFormat;
  sourceFiles: string[];
  aligned: boolean;
  dims: DatasetDims;
  splits: Record<DatasetSplit, { count: number; labels: LabelCounts }>;
  ood: OodBuild | null;
  extras: string[];
  warnings: string[];
}

export interface SelfTestResult {
  backend: string;
  reason: string;
  size: number;
  iterations: number;
  msPerMatMul: number;
  gflops: number;
}

export interface ClipStreamSummary {
  available: boolean;
  reason: string | null;
  cached: boolean;
  frames: number;
  dims: number;
}
export interface ClipExtractSummary {
  clipId: number;
  streams: Record<string, ClipStreamSummary>;
}
export interface ClipsExtractResult {
  clips: ClipExtractSummary[];
  failed: { clipId: number; name: string; message: string }[];
  /** why the text stream was not extracted (no BERT folder chosen) */
  textSkipped?: string;
}
/** a clip under way, or (last) that the text stream was skipped */
export type ClipsExtractProgress = { clipId: number; clipIndex: number; clips: number } | { textSkipped: string };

export interface TrainJobResult {
  runId: number;
  engine: string;
  selectionMetric: string;
  epochs: number;
  bestEpoch: number | null;
  bestMetric: number | null;
  stopped: 'early-stopping' | 'max-epochs';
  bestCheckpoint: string | null;
  lastCheckpoint: string;
}

export interface EvaluateJobResult {
  runId: number;
  engine: string;
  textNote: string;
  evaluationIds: number[];
  skipped: { protocol: string; reason: string }[];
}

export interface SearchJobResult {
  trials: { trial: number; runId: number; status: string; bestMetric: number | null }[];
}

/** an ablation's progress: the current trial's train / evaluate / compare figures, and which trial */
export type AblationProgress = Partial<TrainProgress | RunPassProgress> & {
  ablationId: number;
  variant: AblationVariant;
  trial: number;
  trials: number;
};
/** what one ablation trial wrote */
export interface AblationTrialOutcome {
  variant: AblationVariant;
  runId: number | null;
  status: string;
  evaluationId: number | null;
  comparisonId: number | null;
  error: string | null;
}
export interface AblationJobResult {
  trials: AblationTrialOutcome[];
}

/** a robustness-over-runs job's progress: the current run's pass, and which run that is */
export type RobustnessRunsProgress = Partial<RunPassProgress> & { trial: number; trials: number };
/** what the sweep of one run produced */
export interface RobustnessRunOutcome {
  runId: number;
  status: 'completed' | 'failed';
  sweepId: number | null;
  error: string | null;
}
export interface RobustnessRunsResult {
  trials: RobustnessRunOutcome[];
}

/**
 * Per kind: `progress` is what `progress.data` holds (never, when the kind reports only a fraction
 * and a message), `output` what the worker's task returns, `result` what the record holds once
 * the job succeeded (the output, or what main's commit hook made of it).
 */
export interface JobTypes {
  'backend.selftest': { progress: { msPerMatMul: number }; output: SelfTestResult; result: SelfTestResult };
  'dataset.import': { progress: never; output: StagedDataset; result: Dataset };
  'dataset.splitOod': { progress: never; output: StagedDataset; result: Dataset };
  'clips.extract': {
    progress: ClipsExtractProgress;
    output: ClipsExtractResult;
    result: ClipsExtractResult;
  };
  train: { progress: TrainProgress; output: TrainJobResult; result: TrainJobResult };
  evaluate: { progress: RunPassProgress; output: EvaluateJobResult; result: EvaluateJobResult };
  'analysis.robustness': {
    progress: RunPassProgress;
    output: { sweepId: number; runId: number; curves: number; samples: number };
    result: { sweepId: number; runId: number; curves: number; samples: number };
  };
  'analysis.compareOod': {
    progress: RunPassProgress;
    output: { comparisonId: number; runId: number };
    result: { comparisonId: number; runId: number };
  };
  search: { progress: SearchProgress | RemoteTrialsProgress; output: SearchJobResult; result: SearchJobResult };
  ablation: { progress: AblationProgress | RemoteTrialsProgress; output: AblationJobResult; result: AblationJobResult };
  'analysis.robustnessRuns': {
    progress: RobustnessRunsProgress | RemoteTrialsProgress;
    output: RobustnessRunsResult;
    result: RobustnessRunsResult;
  };
}

export type JobProgressData<K extends JobKind> = JobTypes[K]['progress'];
export type JobOutput<K extends JobKind> = JobTypes[K]['output'];
export type JobResult<K extends JobKind> = JobTypes[K]['result'];

export interface JobProgress<D = JobProgressData<JobKind>> {
  /** 0..1, or null while the amount of work is unknown */
  fraction: number | null;
  message: string;
  /** the kind's figures (epoch, batch, losses, ...) */
  data?: D;
}

/** the TF.js backend a job's worker chose, and the ones its work ran on (jobs/worker.ts) */
export interface TfjsUsage {
  backend: string;
  used: string[];
}

interface KindRecord<K extends JobKind> {
  id: number;
  kind: K;
  status: JobStatus;
  projectId: number | null;
  params: JobParams<K>;
  progress: JobProgress<JobProgressData<K>>;
  /** set when the job succeeded (an object result also says which TF.js backends the worker used) */
  result: (JobResult<K> & { tfjs?: TfjsUsage }) | null;
  error: { code: string; message: string } | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

/** The record of a job of kind K (of each of them, when K is a union of kinds). */
export type JobRecordOf<K extends JobKind> = K extends JobKind ? KindRecord<K> : never;

/** A job's record: `kind` tells what its params, progress and result hold. */
export type JobRecord = JobRecordOf<JobKind>;

/** a record of one kind as the union (TypeScript does not see a generic kind's record as a member) */
export const asJobRecord = <K extends JobKind>(job: JobRecordOf<K>): JobRecord => job as JobRecord;

export const isJobOf = <K extends JobKind>(job: { kind: JobKind }, ...kinds: K[]): job is JobRecordOf<K> =>
  (kinds as JobKind[]).includes(job.kind);

/** the record as one of these kinds, or undefined when it is of another kind */
export function asKind<K extends JobKind>(job: JobRecord, ...kinds: K[]): JobRecordOf<K> | undefined {
  const j: { kind: JobKind } = job;
  return isJobOf(j, ...kinds) ? j : undefined;
}

/** What a succeeded job produced; a clear error when it did not succeed. */
export function resultOf<K extends JobKind>(job: JobRecordOf<K>): JobResult<K> {
  if (job.status !== 'succeeded' || job.result === null)
    throw new AppError('CONFLICT', `job ${job.id} (${job.kind}) has no result: it is ${job.status}`);
  return job.result;
}

/** the training figures of a train or search job's latest progress, if any */
export function trainProgressOf(job: JobRecord): TrainProgress | SearchProgress | null {
  const data = job.kind === 'train' || job.kind === 'search' ? job.progress.data : undefined;
  return data && 'epoch' in data ? data : null;
}

/** the run a job's progress is about (train, evaluation, analysis and search jobs), if any */
export function runIdOfJob(job: JobRecord): number | null {
  const data = job.progress.data;
  if (data && 'runId' in data && typeof data.runId === 'number') return data.runId;
  return job.kind === 'train' ? job.params.runId : null;
}

/** an epoch-end report (a train or search job's latest progress is not a batch) */
export const isEpochEnd = (job: JobRecord): boolean => {
  const p = trainProgressOf(job);
  return p !== null && p.batch === undefined;
};

const paramsSchemas: { [K in JobKind]: z.ZodType<JobParams<K>, JobParamsInput<K>> } = jobParamsSchemas;

/** A kind's params, parsed and defaulted; a BAD_REQUEST naming the kind and the fields at fault. */
export function parseJobParams<K extends JobKind>(kind: K, params: unknown): JobParams<K> {
  const schema = paramsSchemas[kind];
  const parsed = schema.safeParse(params);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
  const text = issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ');
  throw new AppError('BAD_REQUEST', `invalid params for the job kind "${kind}" (${text})`, { issues });
}
