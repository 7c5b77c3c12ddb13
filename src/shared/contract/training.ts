/**
 * The runs service: training CIDer on a dataset held by the app (spec section 4), and evaluating
 * a trained run (spec sections 3, 5, 6). Training and evaluation run as jobs ('train',
 * 'evaluate'); the calls that start them return the run and the job.
 *
 * The option schemas carry the paper's defaults, so `{}` is the authors' configuration:
 * batch 128, up to 200 epochs, patience 10, seed 1111, lr 1e-3 (BERT 5e-5, weight decay 0.001),
 * loss weights 0.5 / 0.1 / 0.6, d = 32, 3 layers, 8 heads, dropouts 0.1/0.1/0.0/0.2/0.3.
 */
import { z } from 'zod';
import type { JobRecordOf } from '../jobs';
import { id, method, nameSchema } from './method';

const folderPath = z.string().trim().min(1, 'a folder path is needed').max(4096);

/**
 * What early stopping, the best checkpoint and MACI's tau choice maximise on the validation split.
 * The spec's default is Non0_acc_2 (3 classes) / Acc_7 (7 classes); on easy data Non0_acc_2
 * saturates (it ignores neutral samples), so a run may choose Acc_3, F1_3 or the validation loss
 * (mean NLL, lower is better). Ties are broken by the validation loss.
 */
export const SELECTION_METRICS = ['Non0_acc_2', 'Acc_3', 'F1_3', 'Acc_7', 'validation_loss'] as const;
export type SelectionMetricName = (typeof SELECTION_METRICS)[number];
/** metrics a task can select on */
export const SELECTION_METRICS_BY_TASK: Record<3 | 7, readonly SelectionMetricName[]> = {
  3: ['Non0_acc_2', 'Acc_3', 'F1_3', 'validation_loss'],
  7: ['Acc_7', 'validation_loss'],
};
export const defaultSelectionMetric = (task: 3 | 7): SelectionMetricName => (task === 3 ? 'Non0_acc_2' : 'Acc_7');

/** The run's selection metric (its own choice or the task's default); a choice the task lacks is refused. */
export function runSelectionMetric(o: { task: 3 | 7; selectionMetric?: SelectionMetricName }): SelectionMetricName {
  const m = o.selectionMetric ?? defaultSelectionMetric(o.task);
  if (!SELECTION_METRICS_BY_TASK[o.task].includes(m))
    throw new Error(
      `selection metric ${m} does not exist for the ${o.task}-class task (choose ${SELECTION_METRICS_BY_TASK[o.task].join(', ')})`,
    );
  return m;
}

/**
 * How MACI's tau is chosen: 'validation' (the honest default: the selection metric on the
 * validation split), 'balanced' (the same on the validation split re-weighted so that the bias
 * words carry no label information: ml/eval/balanced.ts) or 'reference' (the authors' protocol:
 * per metric the best tau on the TEST split, optimistic, always labelled).
 */
export const TAU_RULES = ['validation', 'balanced', 'reference'] as const;
export type TauRule = (typeof TAU_RULES)[number];
const rate = z.number().min(0).max(1);
const positiveInt = z.number().int().positive();

/**
 * Where the text features come from:
 * - 'features': the dataset's precomputed BERT features (MMSA's `text`). No BERT model, so the
 *   features of a dropped token cannot be recomputed from [UNK]: a missing view ZEROES the dropped
 *   positions' features instead (labelled wherever such numbers are shown), and MACI (which needs
 *   the features of [MASK]ed texts) is unavailable.
 * - 'frozen': a BERT model folder, not trained; complete-view features cached on disk.
 * - 'finetune': a BERT model folder trained with the model (the paper's setting; for GPUs).
 */
export const textSourceSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('features') }).strict(),
  z.object({ kind: z.literal('frozen'), modelDir: folderPath }).strict(),
  z.object({ kind: z.literal('finetune'), modelDir: folderPath }).strict(),
]);
export type TextSourceSpec = z.output<typeof textSourceSchema>;

export const trainingOptionsSchema = z
  .object({
    /** 3 (negative/neutral/positive) or 7 classes */
    task: z.union([z.literal(3), z.literal(7)]).default(3),
    text: textSourceSchema.default({ kind: 'features' }),
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .default(1111),
    batchSize: positiveInt.max(4096).default(128),
    maxEpochs: positiveInt.max(10_000).default(200),
    /** early stopping: epochs without a better validation selection metric */
    patience: positiveInt.max(10_000).default(10),
    learningRate: z.number().positive().max(1).default(1e-3),
    bertLearningRate: z.number().positive().max(1).default(5e-5),
    bertWeightDecay: z.number().min(0).max(1).default(0.001),
    lossWeights: z
      .object({
        joint: z.number().min(0).default(0.5),
        attention: z.number().min(0).default(0.1),
        reconstruction: z.number().min(0).default(0.6),
      })
      .strict()
      .prefault({}),
    model: z
      .object({
        d: positiveInt.max(1024).default(32),
        layers: positiveInt.max(16).default(3),
        heads: positiveInt.max(64).default(8),
        dropouts: z
          .object({
            relu: rate.max(0.99).default(0.1),
            residual: rate.max(0.99).default(0.1),
            attention: rate.max(0.99).default(0.0),
            embedding: rate.max(0.99).default(0.2),
            output: rate.max(0.99).default(0.3),
          })
          .strict()
          .prefault({}),
        /** 'reference' reproduces the reference's batch-indexed positional table (spec 2.5) */
        positional: z.enum(['temporal', 'reference']).default('temporal'),
      })
      .strict()
      .prefault({}),
    /**
     * Model-Specific Self-Distillation (spec 4): false trains on the complete view only (no
     * missing-view pass, so no joint/attention/reconstruction losses): the paper's "w/o MSSD".
     */
    mssd: z.boolean().default(true),
    /** early stopping / best checkpoint / tau metric; absent = the task's default (Non0_acc_2 or Acc_7) */
    selectionMetric: z.enum(SELECTION_METRICS).optional(),
    /** the reference's quirk (spec 4): the missing-view update also applies the complete view's gradients */
    accumulateFullViewGrad: z.boolean().default(true),
    /** split each batch into micro-batches of this many rows (exact gradient accumulation; bounds memory) */
    microBatchSize: positiveInt.max(4096).optional(),
    /**
     * threads a training step uses (data parallel: the batch's rows are split, gradients summed);
     * absent = both cores for batches of 32 rows or more, else 1. A step on N threads equals the
     * one-thread step with micro-batches of the shares' size, dropout masks included; so with
     * dropout on, 1 thread without micro-batches draws other masks than 2 threads.
     */
    workers: positiveInt.max(64).optional(),
    /**
     * The validation view early stopping selects on: the complete view (default), or RMFM at one
     * fixed rate with seeded masks (the same masks every epoch).
     */
    validation: z
      .discriminatedUnion('view', [
        z.object({ view: z.literal('complete') }).strict(),
        z.object({ view: z.literal('RMFM'), rate, seed: z.number().int().min(0).default(1111) }).strict(),
      ])
      .default({ view: 'complete' }),
    /**
     * The confounder dictionary and training prior: computed from the training split (per-class
     * mean over valid steps of the unimodal features), or read from arrays attached to the dataset
     * (the reference's .npy files): one confounder key per class, in class order, and a prior key.
     */
    confounders: z
      .discriminatedUnion('source', [
        z.object({ source: z.literal('train') }).strict(),
        z
          .object({
            source: z.literal('extras'),
            dictionary: z.array(z.string().min(1)).min(3).max(7),
            prior: z.string().min(1),
          })
          .strict(),
      ])
      .default({ source: 'train' }),
    /** rows per forward pass at validation/evaluation */
    evalBatchSize: positiveInt.max(4096).default(128),
  })
  .strict();
export type TrainingOptions = z.output<typeof trainingOptionsSchema>;
export type TrainingOptionsInput = z.input<typeof trainingOptionsSchema>;

export const RUN_STATUSES = ['queued', 'running', 'completed', 'stopped', 'failed', 'interrupted'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

export interface RunRecord {
  id: number;
  projectId: number | null;
  datasetId: number | null;
  /** absolute path of the dataset's feature store */
  datasetFolder: string;
  name: string;
  options: TrainingOptions;
  status: RunStatus;
  /** the last job that trained it */
  jobId: number | null;
  /** absolute path of the run's folder (checkpoints) */
  folder: string;
  epochsDone: number;
  /** the metric early stopping and the best checkpoint maximise (validation_loss: minimise) */
  selectionMetric: SelectionMetricName;
  bestEpoch: number | null;
  bestMetric: number | null;
  bestCheckpoint: string | null;
  lastCheckpoint: string | null;
  /** 'tfjs-<backend>' */
  engine: string | null;
  error: { code: string; message: string } | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface EpochLosses {
  taskFull: number;
  taskMissing: number;
  joint: number;
  attention: number;
  reconText: number;
  reconAudio: number;
  reconVision: number;
  total: number;
}

export interface RunEpoch {
  runId: number;
  /** 1-based */
  epoch: number;
  /** means over the epoch's batches */
  losses: EpochLosses;
  /** validation metrics of the selection view (Acc_3, F1_3, ... or Acc_7, F1_7) */
  validation: Record<string, number>;
  selectionValue: number | null;
  improved: boolean;
  durationMs: number;
  createdAt: string;
}

export const EVAL_PROTOCOLS = ['complete', 'RMFM', 'RMFM_same', 'SMM', 'RMM', 'TMFM', 'STMFM', 'MACI'] as const;
export type EvalProtocol = (typeof EVAL_PROTOCOLS)[number];

export const evaluationOptionsSchema = z
  .object({
    protocols: z.array(z.enum(EVAL_PROTOCOLS)).min(1).default(['complete']),
    /** missing rates of RMFM / RMM / TMFM / STMFM sweeps and of MACI; default 0, 0.1, ..., 1 */
    rates: z.array(rate).min(1).max(1000).optional(),
    /** RMFM_same: per-modality rates */
    modalityRates: z.object({ text: rate, audio: rate, vision: rate }).strict().optional(),
    /** evaluation masks are drawn from this seed (spec 3) */
    seed: z.number().int().min(0).default(1111),
    checkpoint: z.enum(['best', 'last']).default('best'),
    /** keep the per-sample predictions of the complete view */
    predictions: z.boolean().default(true),
    /** MACI: the rule whose tau gives the reported figures (see TAU_RULES) */
    tauRule: z.enum(TAU_RULES).default('validation'),
  })
  .strict();
export type EvaluationOptions = z.output<typeof evaluationOptionsSchema>;

export interface EvaluationPoint {
  /** the missing rate, or the SMM subset kept ('T', 'AV', ...), or null for the complete view */
  rate: number | string | null;
  metrics: Record<string, number>;
  /** confusion matrices by name (rows truth, columns prediction) */
  confusion?: Record<string, number[][]>;
  /** MACI only: the metrics above are at the tau chosen by `tauRule`; every rule's tau beside it */
  maci?: {
    /** absent in results stored before the balanced rule existed: 'validation' */
    tauRule?: TauRule;
    selectedTau: number;
    /** what tau was chosen by (the run's selection metric; absent in older records: Non0_acc_2 / Acc_7) */
    selectionMetric?: SelectionMetricName;
    /** each rule's tau (balanced: null when it could not be computed) */
    taus?: { validation: number; balanced: number | null; reference: number };
    /** test metrics at each rule's tau */
    testByRule?: {
      validation: Record<string, number>;
      balanced: Record<string, number> | null;
      reference: Record<string, number>;
    };
    /** the balanced rule's strata and effective sample size, in words */
    balanced?: { description: string; effectiveSampleSize: number; n: number; strata: number } | null;
    testWithoutDebiasing: Record<string, number>;
    referenceProtocol: { label: string; values: Record<string, { value: number; tau: number }> };
  };
}

export interface EvaluationRecord {
  id: number;
  runId: number;
  split: 'test';
  protocol: EvalProtocol;
  seed: number;
  checkpoint: 'best' | 'last';
  points: EvaluationPoint[];
  /** per metric, null when the rates do not span [0, 1] */
  auilc: Record<string, number | null> | null;
  /** the inference engine that computed it: 'onnx' or 'tfjs-<backend>' */
  engine: string;
  /** how the text of missing views was obtained, e.g. the 'features' mode's zeroing */
  textNote: string;
  createdAt: string;
}

export interface EvaluationPrediction {
  index: number;
  truth: number;
  prediction: number;
  logProbs: number[];
}

const startArgs = z
  .object({
    /** a dataset held by the app */
    datasetId: id.optional(),
    /** or a feature-store folder directly */
    datasetFolder: folderPath.optional(),
    projectId: id.optional(),
    name: nameSchema('a run').optional(),
    options: trainingOptionsSchema.prefault({}),
  })
  .strict()
  .refine((a) => (a.datasetId === undefined) !== (a.datasetFolder === undefined), {
    message: 'give exactly one of datasetId and datasetFolder',
  });

export const trainingContract = {
  /** create a run and start its 'train' job */
  start: method<{ run: RunRecord; job: JobRecordOf<'train'> }>()(startArgs),
  list: method<RunRecord[]>()(z.object({ projectId: id.optional(), datasetId: id.optional() }).strict()),
  get: method<RunRecord>()(z.object({ id }).strict()),
  epochs: method<RunEpoch[]>()(z.object({ id }).strict()),
  /** cancel the run's job; finished epochs are kept and the run stays resumable */
  stop: method<RunRecord>()(z.object({ id }).strict()),
  /** continue a stopped / interrupted / failed run from its last checkpoint (optionally with more epochs) */
  resume: method<{ run: RunRecord; job: JobRecordOf<'train'> }>()(
    z.object({ id, maxEpochs: positiveInt.max(10_000).optional() }).strict(),
  ),
  /** start an 'evaluate' job on a run's checkpoint */
  evaluate: method<JobRecordOf<'evaluate'>>()(z.object({ id, options: evaluationOptionsSchema.prefault({}) }).strict()),
  evaluations: method<EvaluationRecord[]>()(z.object({ id }).strict()),
  predictions: method<EvaluationPrediction[]>()(z.object({ evaluationId: id }).strict()),
} as const;
