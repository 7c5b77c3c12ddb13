/**
 * The analysis service: what a trained run does with one sample (inspector, missing-modality
 * simulator, counterfactual text editor) and with whole splits (robustness curves, IID vs OOD
 * comparison). Per-sample calls answer directly (one small batch through the model); whole-split
 * work runs as jobs ('analysis.robustness', 'analysis.compareOod') whose results are stored.
 *
 * Removing a modality always means the missing protocols' masking (spec 3): text tokens become
 * [UNK] except [CLS]/[SEP], audio/vision frames are zeroed. In a run whose text comes from the
 * dataset's precomputed features (no BERT model) a dropped token's features are zeroed instead,
 * as the runs code does; every result carries that note, and counterfactual text (which needs
 * the features of [MASK]ed words) is unavailable there.
 */
import { z } from 'zod';
import type { JobRecordOf } from '../jobs';
import { id, method, nameSchema } from './method';
import { TAU_RULES, type TauRule } from './training';
import { executorSchema, slurmExecutorSchema } from './executors';

const rate = z.number().min(0).max(1);

/** What to look at: a dataset sample (default: the run's own dataset) or an imported clip. */
export const analysisTargetSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('sample'),
      datasetId: id.optional(),
      split: z.enum(['train', 'valid', 'test']),
      index: z.number().int().min(0),
    })
    .strict(),
  z.object({ kind: z.literal('clip'), clipId: id }).strict(),
]);
export type AnalysisTarget = z.output<typeof analysisTargetSchema>;

/**
 * The simulator's missing view: whole modalities on/off, or a missing rate per modality
 * (RMFM_same masks from a fixed seed; a dataset sample draws from its own stream, so rate p gives
 * the same mask as the evaluation at p).
 */
export const missingSettingSchema = z.discriminatedUnion('mode', [
  z.object({ mode: z.literal('complete') }).strict(),
  z
    .object({
      mode: z.literal('toggles'),
      text: z.boolean(),
      audio: z.boolean(),
      vision: z.boolean(),
    })
    .strict(),
  z
    .object({
      mode: z.literal('rates'),
      text: rate,
      audio: rate,
      vision: rate,
      seed: z.number().int().min(0).default(1111),
    })
    .strict(),
]);
export type MissingSetting = z.output<typeof missingSettingSchema>;

export const ANALYSIS_MODALITIES = ['text', 'audio', 'vision'] as const;
export type AnalysisModality = (typeof ANALYSIS_MODALITIES)[number];

export interface TokenView {
  /** position in the text (0 = [CLS]) */
  position: number;
  id: number;
  /** word piece or word; '#<id>' when no vocabulary or transcript names it */
  token: string;
  special: boolean;
  /** a word of the run's bias-word dictionary (training split, spec 5) */
  bias: boolean;
  /** dropped by the simulator's missing view (shown as [UNK]) */
  dropped: boolean;
}

export interface Explanation {
  runId: number;
  target: AnalysisTarget;
  label: string;
  classNames: string[];
  truth: number | null;
  /** class probabilities of the simulator's view (the complete view by default) */
  probabilities: number[];
  prediction: number;
  /**
   * Exact Shapley values over {text, audio, vision} of each class probability, from all 8
   * subsets: removing a modality = the missing protocol's masking on top of the simulator's view.
   * shapley[m][c]; sum over m = probabilities(all) - probabilities(none).
   */
  shapley: Record<AnalysisModality, number[]>;
  /** probabilities of every subset, keyed by the kept modalities ('' = none, 'T', 'TA', ...) */
  subsets: Record<string, number[]>;
  tokens: TokenView[];
  /** fractions of droppable positions the simulator's view drops */
  dropped: Record<AnalysisModality, number>;
  /**
   * last MCT layer, simulator's view: share of attention from query segment (row: text, audio,
   * vision) to key segment (column), averaged over heads and the sample's valid word positions.
   */
  attentionSegments: number[][];
  /** per valid word position: its attention shares to the text/audio/vision segments, and the mean attention it receives */
  attentionWords: {
    position: number;
    toText: number;
    toAudio: number;
    toVision: number;
    received: number;
  }[];
  /** unaligned runs: WSAM word-to-frame weights, rows = valid words (1..len-2), columns = valid frames */
  wsam: { audio: number[][]; vision: number[][]; words: number[] } | null;
  textNote: string;
  engine: string;
}

export interface CounterfactualResult {
  runId: number;
  target: AnalysisTarget;
  classNames: string[];
  available: boolean;
  /** why counterfactual predictions are unavailable (features-mode runs) */
  reason: string | null;
  /** the automatic counterfactual text of the simulator's view: bias words and specials kept, the rest [MASK] */
  automatic: TokenView[];
  /** the counterfactual text that was scored (the edit, or the automatic one) */
  scored: TokenView[];
  /** P(y | view) of the factual (simulator's) view */
  factual: number[];
  /** P(y | counterfactual view): edited text with the same missing audio and vision */
  counterfactual: number[] | null;
  taus: number[];
  /** per tau: softmax of log P(view) - tau * log P(counterfactual), and its argmax */
  debiased: { tau: number; probabilities: number[]; prediction: number }[];
  /** tau chosen on the validation split (null: no MACI evaluation or OOD comparison yet) */
  validationTau: { tau: number; source: string } | null;
  /** every tau rule's tau, where one was computed (the slider marks all three); absent in older results */
  ruleTaus?: Record<TauRule, { tau: number; source: string } | null>;
}

/** A saved counterfactual text for a sample or a clip, with the run's predictions for it. */
export interface TextEdit {
  id: number;
  runId: number;
  target: AnalysisTarget;
  name: string;
  /** the edited counterfactual text, [CLS] ... [SEP] */
  tokenIds: number[];
  missing: MissingSetting;
  counterfactual: number[] | null;
  factual: number[];
  debiased: { tau: number; probabilities: number[]; prediction: number }[];
  createdAt: string;
  updatedAt: string;
}

export interface RobustnessCurve {
  /** 'RMFM', 'RMM', 'TMFM', 'STMFM', 'SMM:T' (the modalities outside T dropped at rate p), 'RMFM_same:1/0.5/0' (per-modality rates = p x weights) */
  protocol: string;
  rates: number[];
  /** metric name -> value per rate */
  metrics: Record<string, number[]>;
  /** metric name -> AUILC (null when the rates do not span [0, 1]) */
  auilc: Record<string, number | null>;
  /** why a protocol was not run (TMFM/STMFM on unaligned data) */
  skipped?: string;
}

export interface RobustnessSweep {
  id: number;
  runId: number;
  runName: string;
  jobId: number | null;
  seed: number;
  checkpoint: 'best' | 'last';
  split: 'test';
  curves: RobustnessCurve[];
  engine: string;
  textNote: string;
  createdAt: string;
}

/** mean ± sd across runs (sd: the sample standard deviation; null with fewer than two runs) */
export interface MeanSd {
  mean: number | null;
  sd: number | null;
  /** runs with a value */
  n: number;
}

/** One protocol's curve over several runs: per metric and rate, and the AUILC, mean ± sd. */
export interface RobustnessCurveAcross {
  protocol: string;
  rates: number[];
  metrics: Record<string, MeanSd[]>;
  auilc: Record<string, MeanSd>;
  /** the runs whose sweep has this protocol (not skipped) */
  runs: number;
}

/** A robustness-over-runs job: each run's sweep, and the curves across the runs. */
export interface RobustnessRunsRecord {
  /** the 'analysis.robustnessRuns' job's id */
  id: number;
  job: JobRecordOf<'analysis.robustnessRuns'>;
  runs: {
    runId: number;
    runName: string;
    status: 'pending' | 'completed' | 'failed';
    sweepId: number | null;
    error: string | null;
  }[];
  /** the runs' sweeps stored by this job (newest first) */
  sweeps: RobustnessSweep[];
  across: RobustnessCurveAcross[];
}

/** The balanced-validation tau rule's strata and effective sample size, shown with its results. */
export interface BalancedSummary {
  description: string;
  effectiveSampleSize: number;
  n: number;
  strata: number;
}

export interface SplitSide {
  datasetId: number | null;
  datasetName: string;
  kind: 'iid' | 'ood';
  count: number;
  labelCounts: number[];
  plain: Record<string, number>;
  /** null when debiasing is unavailable (features-mode run) */
  debiased: Record<string, number> | null;
  confusionPlain: number[][];
  confusionDebiased: number[][] | null;
  /** per class: error rate (1 - recall) plain and debiased */
  classErrors: { plain: number; debiased: number | null }[];
  /** selection metric per tau (the run's validation-chosen tau is marked by the caller) */
  tauCurve: number[];
  /** samples whose prediction changes between plain and debiased (at the validation tau), first 200 */
  flips: {
    index: number;
    truth: number;
    plain: number;
    debiased: number;
    text: string;
  }[];
  flipCount: number;
  /**
   * Test samples removed because the run trained or validated on them (by id, or by a hash of text
   * + features), and the line saying so. Absent in comparisons stored before the removal existed.
   */
  overlap?: {
    total: number;
    kept: number;
    removed: number;
    byId: number;
    byContent: number;
    fromSplit: { train: number; valid: number };
    note: string;
  };
  /** the tau the debiased values/confusion/flips use (validation rule: the chosen tau; reference rule: the selection metric's) */
  debiasedTau?: number | null;
  /** reference rule only: the test-split tau of each metric's debiased value */
  referenceTaus?: Record<string, number>;
}

export interface OodComparison {
  id: number;
  runId: number;
  jobId: number | null;
  classNames: string[];
  selectionMetric: string;
  taus: number[];
  /** tau chosen on the run's validation split (null without debiasing) */
  selectedTau: number | null;
  /** tauRule 'balanced': the re-weighting's strata and effective sample size (absent/null otherwise) */
  balanced?: BalancedSummary | null;
  iid: SplitSide;
  ood: SplitSide;
  textNote: string;
  /** why debiasing is unavailable, if it is */
  debiasNote: string | null;
  /**
   * how tau was chosen: 'validation' (the run's validation split), 'balanced' (that split re-weighted
   * so the bias words carry no label information) or 'reference' (the authors' protocol: per metric
   * the best tau on each test split, optimistic; labelled). Absent = validation.
   */
  tauRule?: TauRule;
  /**
   * The paper's protocol: a second run trained on the OOD dataset's own training split, scored on
   * the OOD test split, shown beside this run's IID test. Null/absent when not asked for.
   */
  paired?: {
    runId: number;
    runName: string;
    ood: SplitSide;
    selectedTau: number | null;
    balanced?: BalancedSummary | null;
    selectionMetric: string;
    textNote: string;
    debiasNote: string | null;
  } | null;
  createdAt: string;
}

const checkpoint = z.enum(['best', 'last']).default('best');
/** token ids of an edited text, [CLS] ... [SEP] included */
const tokenIds = z.array(z.number().int().min(0).max(1_000_000)).min(2).max(4096);

export const analysisContract = {
  /** class probabilities, exact modality Shapley values, attention summaries and WSAM maps for one sample */
  explain: method<Explanation>()(
    z
      .object({
        runId: id,
        target: analysisTargetSchema,
        missing: missingSettingSchema.default({ mode: 'complete' }),
        checkpoint,
      })
      .strict(),
  ),
  /** the automatic counterfactual text, and the counterfactual / debiased predictions of it or of an edit */
  counterfactual: method<CounterfactualResult>()(
    z
      .object({
        runId: id,
        target: analysisTargetSchema,
        missing: missingSettingSchema.default({ mode: 'complete' }),
        tokenIds: tokenIds.optional(),
        checkpoint,
      })
      .strict(),
  ),
  /** word pieces of a text in the run's BERT vocabulary (to replace a word in the editor) */
  tokenize: method<{ ids: number[]; tokens: string[] }>()(z.object({ runId: id, text: z.string().max(2000) }).strict()),
  /** save (or update, with id) an edited counterfactual text; its predictions are computed and stored */
  saveEdit: method<TextEdit>()(
    z
      .object({
        id: id.optional(),
        runId: id,
        target: analysisTargetSchema,
        name: nameSchema('a saved edit'),
        tokenIds,
        missing: missingSettingSchema.default({ mode: 'complete' }),
        checkpoint,
      })
      .strict(),
  ),
  edits: method<TextEdit[]>()(z.object({ runId: id.optional(), target: analysisTargetSchema.optional() }).strict()),
  removeEdit: method<{ removed: true }>()(z.object({ id }).strict()),
  /** start an 'analysis.robustness' job: metric vs missing rate per protocol on the test split */
  robustness: method<JobRecordOf<'analysis.robustness'>>()(
    z
      .object({
        runId: id,
        protocols: z
          .array(z.string().min(2).max(40))
          .min(1)
          .max(32)
          .default(['RMFM', 'RMM', 'SMM:T', 'SMM:A', 'SMM:V', 'SMM:TA', 'SMM:TV', 'SMM:AV', 'TMFM', 'STMFM']),
        rates: z.array(rate).min(1).max(101).optional(),
        seed: z.number().int().min(0).default(1111),
        checkpoint,
      })
      .strict(),
  ),
  /**
   * start an 'analysis.robustnessRuns' job: the sweep of each of several runs (e.g. one per seed),
   * here or on a SLURM cluster / a job queue, then per run and mean ± sd across runs
   */
  robustnessRuns: method<RobustnessRunsRecord>()(
    z
      .object({
        runIds: z.array(id).min(1).max(50),
        protocols: z
          .array(z.string().min(2).max(40))
          .min(1)
          .max(32)
          .default(['RMFM', 'RMM', 'SMM:T', 'SMM:A', 'SMM:V', 'SMM:TA', 'SMM:TV', 'SMM:AV', 'TMFM', 'STMFM']),
        rates: z.array(rate).min(1).max(101).optional(),
        seed: z.number().int().min(0).default(1111),
        checkpoint,
        executor: executorSchema.default({ kind: 'local' }),
      })
      .strict(),
  ),
  /** a robustness-over-runs job: per run and across runs (while it runs: the runs stored so far) */
  robustnessRunsGet: method<RobustnessRunsRecord>()(z.object({ id }).strict()),
  robustnessRunsList: method<RobustnessRunsRecord[]>()(z.object({ runId: id.optional() }).strict()),
  /** the sbatch script a SLURM robustness-over-runs job would submit */
  sbatchPreview: method<{ script: string }>()(
    z
      .object({
        executor: slurmExecutorSchema,
        trials: z.number().int().min(1).max(50),
        name: z.string().trim().max(200).default('cider robustness'),
      })
      .strict(),
  ),
  /** stored sweeps of these runs (newest first), for overlaid curves */
  sweeps: method<RobustnessSweep[]>()(z.object({ runIds: z.array(id).min(1).max(50) }).strict()),
  /** start an 'analysis.compareOod' job: the run's IID and OOD test splits side by side */
  compareOod: method<JobRecordOf<'analysis.compareOod'>>()(
    z
      .object({
        runId: id,
        oodDatasetId: id.optional(),
        /** the paper's protocol: a run trained on the OOD dataset, scored on its test split beside this run */
        withRunId: id.optional(),
        tauRule: z.enum(TAU_RULES).default('validation'),
        checkpoint,
      })
      .strict(),
  ),
  oodComparisons: method<OodComparison[]>()(z.object({ runId: id }).strict()),
} as const;
