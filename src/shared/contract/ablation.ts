/**
 * The ablation service: the paper's ablation set trained with one seed on one dataset, and one
 * table of every variant's IID and OOD test metrics, plain and debiased (MACI), and AUILC under
 * RMFM. An ablation is its 'ablation' job (params: the variants, base options, the IID/OOD pair,
 * the tau rule) plus the runs it creates, named `ablation #<job> <variant>` (no table of its own,
 * like a search): each trial trains its run, evaluates it under RMFM and compares IID vs OOD, and
 * those stored records are what the table reads.
 *
 * Variants (spec section 4, the paper's ablation of CIDer's training): the full model; w/o MSSD
 * (complete view only); w/o each self-distillation loss (its weight 0). "w/o MACI" is every row's
 * plain column: MACI only changes inference, so it needs no run of its own.
 */
import { z } from 'zod';
import type { JobParams, JobRecordOf } from '../jobs';
import { id, method } from './method';
import { executorSchema, slurmExecutorSchema, type ExecutorSpec } from './executors';
import {
  trainingOptionsSchema,
  TAU_RULES,
  type RunStatus,
  type SelectionMetricName,
  type TauRule,
  type TrainingOptions,
} from './training';

export const ABLATION_VARIANTS = ['full', 'no-mssd', 'no-joint', 'no-attention', 'no-reconstruction'] as const;
export type AblationVariant = (typeof ABLATION_VARIANTS)[number];

export const ABLATION_LABELS: Record<AblationVariant, string> = {
  full: 'CIDer (full)',
  'no-mssd': 'w/o MSSD',
  'no-joint': 'w/o joint-representation loss',
  'no-attention': 'w/o attention-map loss',
  'no-reconstruction': 'w/o reconstruction loss',
};

/** A variant's training options: the base options with the variant's switch applied. */
export function variantOptions(base: TrainingOptions, v: AblationVariant): TrainingOptions {
  const w = base.lossWeights;
  switch (v) {
    case 'full':
      return { ...base, mssd: true };
    case 'no-mssd':
      return { ...base, mssd: false };
    case 'no-joint':
      return { ...base, mssd: true, lossWeights: { ...w, joint: 0 } };
    case 'no-attention':
      return { ...base, mssd: true, lossWeights: { ...w, attention: 0 } };
    case 'no-reconstruction':
      return { ...base, mssd: true, lossWeights: { ...w, reconstruction: 0 } };
  }
}

/** The name of an ablation's runs: how the service finds them again. */
export const ablationRunName = (ablationId: number, v: AblationVariant) => `ablation #${ablationId} ${v}`;
export const parseAblationRunName = (name: string): { ablationId: number; variant: AblationVariant } | null => {
  const m = /^ablation #(\d+) (\S+)$/.exec(name);
  if (!m || !(ABLATION_VARIANTS as readonly string[]).includes(m[2])) return null;
  return { ablationId: Number(m[1]), variant: m[2] as AblationVariant };
};

/** Plain (no MACI) and debiased (MACI at the tau rule's tau) test metrics of one split. */
export interface AblationSplitMetrics {
  datasetName: string;
  /** test samples scored (after removing those the run trained/validated on) */
  count: number;
  /** test samples removed as seen by the run */
  removed: number;
  plain: Record<string, number>;
  /** null when MACI is unavailable (features-mode text) */
  debiased: Record<string, number> | null;
}

export interface AblationRow {
  variant: AblationVariant;
  label: string;
  runId: number | null;
  status: RunStatus | 'pending';
  /** the switches the run was trained with */
  mssd: boolean;
  lossWeights: TrainingOptions['lossWeights'];
  bestEpoch: number | null;
  bestMetric: number | null;
  iid: AblationSplitMetrics | null;
  ood: AblationSplitMetrics | null;
  /** tau the debiased columns use (validation rule; null under the reference rule or without MACI) */
  tau: number | null;
  /** AUILC of each metric under RMFM on the IID test split (null until evaluated) */
  auilcRmfm: Record<string, number | null> | null;
}

export interface AblationRecord {
  /** the ablation's job id */
  id: number;
  name: string;
  seed: number;
  datasetId: number;
  oodDatasetId: number;
  options: TrainingOptions;
  selectionMetric: SelectionMetricName;
  tauRule: TauRule;
  /** what the tau rule means, shown with the table */
  tauNote: string;
  /** the metrics the table shows first (Acc_3, F1_3, Non0_acc_2 or Acc_7, F1_7) */
  headline: string[];
  rmfmRates: number[];
  /** where the trials run */
  executor: ExecutorSpec;
  job: JobRecordOf<'ablation'>;
  rows: AblationRow[];
  textNote: string | null;
}

/** The 'ablation' job's params, as the service submits them: the job catalogue's. */
export type AblationJobParams = JobParams<'ablation'>;

export const ablationContract = {
  /** start an 'ablation' job: one run per variant (one seed), each evaluated under RMFM and IID vs OOD */
  start: method<AblationRecord>()(
    z
      .object({
        /** the IID dataset (its OOD version is found, or given) */
        datasetId: id,
        oodDatasetId: id.optional(),
        projectId: id.optional(),
        name: z.string().trim().max(200).optional(),
        variants: z
          .array(z.enum(ABLATION_VARIANTS))
          .min(1)
          .max(ABLATION_VARIANTS.length)
          .default([...ABLATION_VARIANTS]),
        tauRule: z.enum(TAU_RULES).default('validation'),
        rmfmRates: z.array(z.number().min(0).max(1)).min(2).max(101).optional(),
        options: trainingOptionsSchema.prefault({}),
        /** where the variants' trials run (default: here) */
        executor: executorSchema.default({ kind: 'local' }),
      })
      .strict(),
  ),
  /** the sbatch script a SLURM ablation would submit, to show before starting it */
  sbatchPreview: method<{ script: string }>()(
    z
      .object({
        executor: slurmExecutorSchema,
        trials: z.number().int().min(1).max(ABLATION_VARIANTS.length),
        name: z.string().trim().max(200).default('cider ablation'),
      })
      .strict(),
  ),
  list: method<AblationRecord[]>()(z.object({ datasetId: id.optional() }).strict()),
  get: method<AblationRecord>()(z.object({ id }).strict()),
  stop: method<AblationRecord>()(z.object({ id }).strict()),
} as const;
