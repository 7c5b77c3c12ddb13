/**
 * The datasets service: benchmark data (MMSA pickles, joblib OOD repartitions, .csd sets) imported
 * into the on-disk feature store and indexed in SQLite; OOD repartitions built from an IID
 * dataset; what the views show (label distributions, the MACI bias-word list, samples).
 * Import and OOD builds run as jobs ('dataset.import', 'dataset.splitOod'); the call returns the job.
 */
import { z } from 'zod';
import type { JobRecordOf } from '../jobs';
import { id, method, nameSchema, none } from './method';

export const DATASET_SPLITS = ['train', 'valid', 'test'] as const;
export type DatasetSplit = (typeof DATASET_SPLITS)[number];
export type DatasetKind = 'iid' | 'ood';
export type DatasetFormat = 'mmsa-pickle' | 'joblib' | 'csd' | 'ood-split' | 'clips';

/** class names of the two tasks (spec section 1) */
export const CLASS_NAMES = {
  3: ['negative', 'neutral', 'positive'],
  7: ['-3', '-2', '-1', '0', '+1', '+2', '+3'],
} as const;

export interface LabelCounts {
  /** 3-class counts: negative, neutral, positive */
  three: number[];
  /** 7-class counts: round(clip(score)) + 3 = 0..6 */
  seven: number[];
}

export interface DatasetDims {
  L: number | null;
  Ta: number;
  da: number;
  Tv: number;
  dv: number;
  dl: number | null;
}

/** How an OOD repartition was built (the feature store's record without the per-sample provenance). */
export interface OodBuild {
  method: string;
  seed: number;
  strength: number;
  sizes: Record<DatasetSplit, number>;
  pool3: number[];
  targetTest3: number[];
  plannedTest3: number[];
  biasAgreement: Record<DatasetSplit, number> | null;
  biasWordCount: number;
}

export interface Dataset {
  id: number;
  name: string;
  kind: DatasetKind;
  /** the IID dataset an OOD version was built from (or declared as, on import) */
  parentId: number | null;
  format: DatasetFormat;
  sourceFiles: string[];
  /** the feature store folder, relative to <dataDir>/datasets */
  folder: string;
  aligned: boolean;
  dims: DatasetDims;
  splits: Record<DatasetSplit, { count: number; labels: LabelCounts }>;
  ood: OodBuild | null;
  /** auxiliary arrays stored with it: confounder vectors, class priors */
  extras: string[];
  warnings: string[];
  createdAt: string;
}

export interface BiasWordRow {
  id: number;
  /** the word, when it could be recovered from the raw text (see services/datasets.ts); null shows the id */
  word: string | null;
  /** per-class occurrences in the training split (3 or 7 entries) */
  counts: number[];
  total: number;
  cv: number;
}
export interface BiasWordList {
  datasetId: number;
  task: 3 | 7;
  k: number;
  /** how word strings were obtained */
  wordSource: 'raw-text-alignment' | 'none';
  words: BiasWordRow[];
}

export interface SampleSummary {
  index: number;
  id: string;
  text: string;
  regression: number;
  label3: number;
  label7: number;
  /** real tokens incl. [CLS]/[SEP] (null without token ids), audio and vision frames */
  lengths: { text: number | null; audio: number; vision: number };
}
export interface SamplePage {
  split: DatasetSplit;
  offset: number;
  total: number;
  samples: SampleSummary[];
}

/** A feature track downsampled for plotting: `points` frame positions, one series per channel. */
export interface FeatureTrack {
  frames: number;
  channels: number;
  /** frame index (bin centre) of each point */
  x: number[];
  /** series[channel][point]: the mean over the bin */
  series: number[][];
}
export interface SampleDetail extends SampleSummary {
  split: DatasetSplit;
  /** real token ids ([CLS] ... [SEP]), or null */
  tokenIds: number[] | null;
  audio: FeatureTrack;
  vision: FeatureTrack;
}

const split = z.enum(DATASET_SPLITS);
const path = z.string().trim().min(1, 'a file path is needed').max(4096);
const name = nameSchema('a dataset');

export const datasetsContract = {
  list: method<Dataset[]>()(none),
  get: method<Dataset>()(z.object({ id }).strict()),
  /** starts a 'dataset.import' job; the format is detected from the files' contents */
  import: method<JobRecordOf<'dataset.import'>>()(
    z
      .object({
        /** one MMSA pickle / joblib file, or a .csd set (audio, vision, labels and optionally words) */
        files: z.array(path).min(1).max(8),
        /** default: the first file's name without extension */
        name: name.optional(),
        /** 'ood' for a published OOD repartition (e.g. CIDer's joblib files); default 'iid' */
        kind: z.enum(['iid', 'ood']).default('iid'),
        /** the IID dataset an imported OOD version belongs to */
        parentId: id.optional(),
        /** confounder vectors / class priors (.npy) stored with the dataset */
        extras: z.array(path).max(64).default([]),
        /** .csd sets: a JSON file {train: [ids], valid: [...], test: [...]} (the SDK's standard folds) */
        folds: path.optional(),
        /**
         * MMSA/joblib files: 'auto' judges aligned data from the shapes and lengths (Ta = Tv = L,
         * lengths equal to the text lengths); 'aligned' / 'unaligned' override, refused when the
         * shapes do not permit it. The reason is recorded in the dataset's manifest.
         */
        alignment: z.enum(['auto', 'aligned', 'unaligned']).default('auto'),
        projectId: id.optional(),
      })
      .strict(),
  ),
  /** starts a 'dataset.splitOod' job building an OOD repartition of an IID dataset */
  splitOod: method<JobRecordOf<'dataset.splitOod'>>()(
    z
      .object({
        id,
        seed: z
          .number()
          .int()
          .min(0)
          .max(2 ** 31 - 1),
        name: name.optional(),
        /** 0 keeps the pool's label mix in test, 1 swaps negative and positive (default 1) */
        strength: z.number().min(0).max(1).optional(),
        /** target 3-class proportions of the test split */
        targetTest3: z.tuple([z.number().min(0), z.number().min(0), z.number().min(0)]).optional(),
        /** the bias-word dictionary size K used to score samples (default 100) */
        biasWordCount: z.number().int().min(1).max(10_000).optional(),
        projectId: id.optional(),
      })
      .strict(),
  ),
  /** refused while runs use the dataset, unless force (those runs are marked; never while one trains) */
  remove: method<{ removed: true; markedRuns: number[] }>()(z.object({ id, force: z.boolean().optional() }).strict()),
  /** the MACI bias-word dictionary (spec section 5) from the training split */
  biasWords: method<BiasWordList>()(
    z
      .object({
        id,
        task: z.union([z.literal(3), z.literal(7)]),
        k: z.number().int().min(1).max(1000).default(100),
      })
      .strict(),
  ),
  samples: method<SamplePage>()(
    z
      .object({
        id,
        split,
        offset: z.number().int().min(0).default(0),
        limit: z.number().int().min(1).max(500).default(50),
      })
      .strict(),
  ),
  sample: method<SampleDetail>()(
    z
      .object({ id, split, index: z.number().int().min(0), points: z.number().int().min(2).max(1000).default(120) })
      .strict(),
  ),
} as const;
