/**
 * The reports service: what a researcher puts in a paper's appendix, for one run or a comparison of
 * runs. A report is a plain-data model (ReportModel, also the JSON export) built from the database,
 * the dataset's manifest and (when present) the analysis service; the HTML, PDF, CSV and JSON files
 * are renderings of that one model, so every format carries the same numbers.
 *
 * Every section is a `ReportSection<T>`: either its data, or the reason it is not available for
 * this run (no MACI evaluation, a dataset not made from annotated clips, no analysis service, ...).
 */
import { z } from 'zod';
import type { DatasetSplit, LabelCounts, OodBuild } from './datasets';
import type { EvalProtocol, RunStatus } from './training';
import { id, method } from './method';

export type ReportSection<T> = { available: true; data: T } | { available: false; reason: string };

/** One table of the report; CSV and JSON exports write each one as a file named by its id. */
export interface ReportTable {
  /** file-name safe: [a-z0-9.-] */
  id: string;
  title: string;
  columns: string[];
  rows: (string | number | null)[][];
  note?: string;
}

export const REPORT_FORMATS = ['html', 'pdf', 'csv', 'json'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export const REPORT_SECTIONS = [
  'dataset',
  'config',
  'curves',
  'metrics',
  'robustness',
  'explanations',
  'agreement',
  'predictions',
] as const;
export type ReportSectionName = (typeof REPORT_SECTIONS)[number];

/** A clip (or a dataset sample) the user pinned for per-modality contributions and counterfactual edits. */
export const pinnedRefSchema = z.union([
  z.object({ clipId: id }).strict(),
  z
    .object({
      split: z.enum(['train', 'valid', 'test']),
      index: z.number().int().min(0),
    })
    .strict(),
]);
export type PinnedRef = z.output<typeof pinnedRefSchema>;

const reportRequest = {
  /** one run, or several for a comparison (in this order) */
  runIds: z.array(id).min(1).max(8),
  /** the sections to include; default all */
  sections: z
    .array(z.enum(REPORT_SECTIONS))
    .min(1)
    .default([...REPORT_SECTIONS]),
  pinned: z.array(pinnedRefSchema).max(50).default([]),
  title: z.string().trim().max(300).optional(),
};
export const reportRequestSchema = z.object(reportRequest).strict();
export type ReportRequest = z.output<typeof reportRequestSchema>;

/** a plain file name: no folder part, no '..', no control characters */
const baseName = z
  .string()
  .trim()
  .min(1)
  .max(120)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'a file name of letters, digits, ".", "_" and "-" (no folder part)');

export const reportExportSchema = z
  .object({
    ...reportRequest,
    formats: z.array(z.enum(REPORT_FORMATS)).min(1),
    /** the folder the user chose; nothing is written outside it (created when missing) */
    folder: z.string().trim().min(1, 'choose a folder').max(4096),
    /** file names start with this (default report-run<ids>) */
    baseName: baseName.optional(),
  })
  .strict();
export type ReportExportRequest = z.output<typeof reportExportSchema>;

export interface DatasetSummary {
  name: string;
  /** the dataset's record in the app, when the run was started from one */
  datasetId: number | null;
  folder: string;
  /** 'iid' / 'ood' from the app's record or the manifest; 'unknown' for a bare folder without either */
  distribution: 'iid' | 'ood' | 'unknown';
  source: string;
  aligned: boolean;
  dims: {
    L: number | null;
    Ta: number;
    da: number;
    Tv: number;
    dv: number;
    dl: number | null;
  };
  splits: Record<DatasetSplit, { count: number; labels: LabelCounts }>;
  ood: OodBuild | null;
  warnings: string[];
}

export interface ConfigRow {
  /** dotted path into the training options, e.g. lossWeights.joint */
  setting: string;
  value: string;
  /** set for the named switches (reference quirks and choices that change numbers) */
  switchNote?: string;
}

export interface TrainingCurves {
  selectionMetric: string;
  bestEpoch: number | null;
  epochs: {
    epoch: number;
    losses: Record<string, number>;
    validation: Record<string, number>;
    improved: boolean;
    durationMs: number;
  }[];
}

export interface MetricsSummary {
  /** which test split: the run's dataset is IID or OOD */
  split: string;
  complete: ReportSection<{
    evaluationId: number;
    checkpoint: string;
    engine: string;
    textNote: string;
    metrics: Record<string, number | null>;
    confusion: Record<string, number[][]>;
  }>;
  debiased: ReportSection<{
    evaluationId: number;
    checkpoint: string;
    engine: string;
    textNote: string;
    referenceLabel: string;
    rows: {
      rate: number | string | null;
      metric: string;
      plain: number | null;
      debiased: number | null;
      tau: number;
      reference: number | null;
      referenceTau: number | null;
    }[];
  }>;
}

export interface RobustnessCurve {
  /** 'evaluation' (the runs service's stored evaluations) or 'analysis sweep <id>' (the analysis service) */
  source: string;
  /** the evaluation's or the sweep's id */
  evaluationId: number;
  /** RMFM, RMM, TMFM, STMFM, RMFM_same, SMM, 'MACI (debiased, tau on validation)', or an analysis sweep's 'SMM:T', ... */
  protocol: string;
  checkpoint: string;
  seed: number;
  engine: string;
  textNote: string;
  /** numeric rates (sweeps) or SMM subsets */
  points: {
    rate: number | string | null;
    metrics: Record<string, number | null>;
  }[];
  auilc: Record<string, number | null> | null;
}

export interface ContributionRow {
  item: string;
  predicted: string;
  probabilities: number[];
  /** exact Shapley values over {text, audio, vision} */
  shapley: { text: number; audio: number; vision: number };
}
export interface CounterfactualEditRow {
  item: string;
  text: string;
  counterfactualText: string;
  prediction: string;
  counterfactualPrediction: string;
  debiasedPrediction: string;
  tau: number;
}
export interface OodComparison {
  iidSplit: string;
  oodSplit: string;
  rows: {
    metric: string;
    iidPlain: number | null;
    iidDebiased: number | null;
    oodPlain: number | null;
    oodDebiased: number | null;
    /** the paper's protocol: the paired run (trained on the OOD training split) on the OOD test split */
    pairedOodPlain?: number | null;
    pairedOodDebiased?: number | null;
  }[];
  /** how tau was chosen, and the test samples removed as seen by the run (one line each) */
  notes?: string[];
  /** the paired run of the paper's protocol, when the comparison has one */
  pairedRun?: { id: number; name: string } | null;
}
/** A pinned item the analysis could not use, by its own name (e.g. 'clip "interview.mp4" (#3)'), and why. */
export interface LeftOutPin {
  item: string;
  reason: string;
}
/** A section over the pinned items: the good ones' rows; the bad ones each named in `leftOut`. */
export type PinnedSection<T> = ReportSection<T> & { leftOut?: LeftOutPin[] };

export interface Explanations {
  contributions: PinnedSection<ContributionRow[]>;
  counterfactualEdits: PinnedSection<CounterfactualEditRow[]>;
  oodComparison: ReportSection<OodComparison>;
}

export interface AgreementSummary {
  projectIds: number[];
  clips: number;
  annotators: string[];
  units: number;
  alphaInterval: number | null;
  alpha3: number | null;
  alpha7: number | null;
  kappa3: { method: string; value: number | null; units: number } | null;
  kappa7: { method: string; value: number | null; units: number } | null;
  perClip: {
    clipId: number;
    name: string;
    raters: number;
    meanScore: number | null;
    scoreSd: number | null;
    pairAgreement3: number | null;
    alphaInterval: number | null;
  }[];
}

export interface HashedFile {
  /** relative to the folder hashed */
  file: string;
  bytes: number;
  sha256: string;
}
/** How to check the numbers came from these files: `sha256sum` of the listed files, then sha256 of that listing. */
export interface DataTrace {
  /** sha256 of the lines "<sha256>  <file>\n" (sha256sum's format) of the files, sorted by file */
  sha256: string;
  folder: string;
  files: HashedFile[];
}

export interface RunReport {
  run: {
    id: number;
    name: string;
    status: RunStatus;
    task: 3 | 7;
    epochsDone: number;
    bestEpoch: number | null;
    bestMetric: number | null;
    selectionMetric: string;
    engine: string | null;
    createdAt: string;
    finishedAt: string | null;
  };
  dataset: ReportSection<DatasetSummary>;
  config: ReportSection<ConfigRow[]>;
  curves: ReportSection<TrainingCurves>;
  metrics: ReportSection<MetricsSummary>;
  robustness: ReportSection<RobustnessCurve[]>;
  explanations: ReportSection<Explanations>;
  agreement: ReportSection<AgreementSummary>;
  /** evaluations whose per-sample predictions are exported (CSV/JSON) */
  predictions: ReportSection<{ evaluationId: number; protocol: EvalProtocol; count: number }[]>;
  trace: {
    data: ReportSection<DataTrace>;
    checkpoint: ReportSection<HashedFile>;
    /** engines the stored numbers were computed with (run and evaluations) */
    engines: string[];
  };
}

export interface ReportComparison {
  runIds: number[];
  /** settings whose values differ between the runs */
  configDiff: { setting: string; values: (string | null)[] }[];
  /** one row per metric: each run's complete-view test value */
  metrics: { metric: string; values: (number | null)[] }[];
  /** RMFM AUILC per metric, when each run has an RMFM sweep over [0, 1] */
  auilc: { metric: string; values: (number | null)[] }[];
}

export interface ReportModel {
  format: 'cider-report';
  version: 1;
  title: string;
  generatedAt: string;
  sections: ReportSectionName[];
  pinned: PinnedRef[];
  app: {
    version: string;
    mode: string;
    backend: {
      name: string;
      reason: string;
      gpu: boolean;
      tfjsVersion: string;
    };
    node: string;
    platform: string;
  };
  runs: RunReport[];
  comparison: ReportSection<ReportComparison>;
}

export interface ReportFile {
  format: ReportFormat;
  /** absolute path */
  path: string;
  bytes: number;
}
export interface ReportExportResult {
  folder: string;
  files: ReportFile[];
  /** how the PDF was made: 'electron' (printToPDF), 'chromium' (headless, which binary) or 'pdf-lib' (no browser found) */
  pdf: { renderer: 'electron' | 'chromium' | 'pdf-lib'; detail: string } | null;
}

export const reportsContract = {
  /** the report as data (the JSON export's main file) */
  model: method<ReportModel>()(reportRequestSchema),
  /** the self-contained HTML, for a preview (iframe srcdoc) */
  preview: method<{
    html: string;
    tables: { id: string; title: string; rows: number }[];
  }>()(reportRequestSchema),
  /** write the chosen formats into a folder */
  export: method<ReportExportResult>()(reportExportSchema),
} as const;
