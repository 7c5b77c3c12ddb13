/**
 * The clips service: researchers' own videos with transcripts, imported, turned into the three
 * streams CIDer reads (feature extraction runs as the 'clips.extract' job), watched, annotated by
 * several annotators with agreement, exchanged as ELAN .eaf / CSV, and exported as a dataset.
 */
import { z } from 'zod';
import type {
  Annotation,
  Annotator,
  Clip,
  ClipDetail,
  DatasetExportResult,
  FeatureTrack,
  ImportResult,
  ProjectAgreement,
} from '../clips';
import { MODALITIES, TRANSCRIPT_FORMATS } from '../clips';
import { TIER_KINDS, type Tier, type TierAgreement, type TierSegment } from '../tiers';
import type { JobRecordOf } from '../jobs';
import { id, method, nameSchema } from './method';

const path = z.string().min(1).max(4096);
const score = z.number().min(-3).max(3);
export const annotationInput = z
  .object({
    segment: z.number().int().min(-1),
    score: score.nullable(),
    note: z.string().max(20_000).default(''),
    correction: z.string().max(20_000).nullable().default(null),
  })
  .strict();

export const clipsContract = {
  list: method<Clip[]>()(z.object({ projectId: id }).strict()),
  get: method<ClipDetail>()(z.object({ id }).strict()),
  /** video files and/or folders (their videos, with a same-named .srt/.vtt/.txt beside each taken as its transcript) */
  import: method<ImportResult>()(
    z
      .object({
        projectId: id,
        paths: z.array(path).min(1).max(10_000),
        /** a transcript for the one video given */
        transcript: path.optional(),
        recursive: z.boolean().default(false),
      })
      .strict(),
  ),
  /** replace a clip's transcript from a file, or from text (format txt unless given) */
  setTranscript: method<ClipDetail>()(
    z
      .object({
        id,
        path: path.optional(),
        text: z.string().max(1_000_000).optional(),
        format: z.enum(TRANSCRIPT_FORMATS).optional(),
      })
      .strict(),
  ),
  remove: method<{ removed: true }>()(z.object({ id }).strict()),
  /** starts a 'clips.extract' job over the project's clips (or the ones given) */
  extract: method<JobRecordOf<'clips.extract'>>()(
    z
      .object({
        projectId: id,
        clipIds: z.array(id).optional(),
        modalities: z.array(z.enum(MODALITIES)).min(1).default(['text', 'audio', 'vision']),
        /** a BERT folder (with vocab.txt) or a vocab.txt; default: the setting clips.bertDir */
        bertDir: path.optional(),
        textLength: z.number().int().min(8).max(512).default(50),
        visionRate: z.number().min(0.5).max(30).default(10),
        force: z.boolean().default(false),
      })
      .strict(),
  ),
  /** one extracted stream as a track for the timeline (downsampled to at most maxFrames) */
  features: method<FeatureTrack | null>()(
    z
      .object({
        id,
        modality: z.enum(['audio', 'vision']),
        maxFrames: z.number().int().min(10).max(100_000).default(2000),
      })
      .strict(),
  ),
  /** min/max peaks of the audio for the timeline; null without audio */
  waveform: method<{ min: number[]; max: number[]; durationSec: number } | null>()(
    z.object({ id, points: z.number().int().min(10).max(20_000).default(1000) }).strict(),
  ),
  annotators: method<Annotator[]>()(z.object({ projectId: id }).strict()),
  addAnnotator: method<Annotator>()(z.object({ projectId: id, name: nameSchema('an annotator', 100) }).strict()),
  annotations: method<Annotation[]>()(z.object({ clipId: id.optional(), projectId: id.optional() }).strict()),
  /** replace one annotator's labels on one clip (the editor's autosave) */
  saveAnnotations: method<Annotation[]>()(
    z.object({ clipId: id, annotatorId: id, items: z.array(annotationInput).max(10_000) }).strict(),
  ),
  agreement: method<ProjectAgreement>()(z.object({ projectId: id }).strict()),
  /** the project's tiers (the default sentiment score tier is always there) */
  tiers: method<Tier[]>()(z.object({ projectId: id }).strict()),
  createTier: method<Tier>()(
    z
      .object({
        projectId: id,
        name: z.string().trim().min(1, 'a tier needs a name').max(100),
        kind: z.enum(TIER_KINDS),
        /** a category tier's label set (its controlled vocabulary in ELAN) */
        labels: z.array(z.string().trim().min(1).max(100)).max(200).default([]),
      })
      .strict(),
  ),
  removeTier: method<{ removed: true }>()(z.object({ id }).strict()),
  /** segments on a clip (all tiers and annotators, or the ones given) */
  segments: method<TierSegment[]>()(
    z.object({ clipId: id, tierId: id.optional(), annotatorId: id.optional() }).strict(),
  ),
  /** replace one annotator's segments on one tier of one clip (the timeline editor's autosave) */
  saveSegments: method<TierSegment[]>()(
    z
      .object({
        clipId: id,
        tierId: id,
        annotatorId: id,
        segments: z
          .array(
            z
              .object({
                start: z.number().min(0),
                end: z.number().min(0),
                value: z.union([z.number(), z.string().max(20_000), z.null()]),
              })
              .strict(),
          )
          .max(100_000),
      })
      .strict(),
  ),
  /** agreement per tier, per clip and overall, with the units behind each figure */
  tierAgreement: method<TierAgreement[]>()(z.object({ projectId: id }).strict()),
  /**
   * ELAN .eaf with the transcript tier, each annotator's sentiment and note tiers, and every project
   * tier per annotator (linguistic type per kind, a controlled vocabulary per category tier)
   */
  exportEaf: method<{ path: string | null; xml: string }>()(z.object({ id, path: path.optional() }).strict()),
  /** read an .eaf: a transcript tier (if any) replaces the transcript; sentiment-NAME tiers become NAME's labels; project tiers (created when new) get their segments */
  importEaf: method<{
    segments: number;
    annotations: number;
    annotators: string[];
    tiers: string[];
    tierSegments: number;
    ignoredTiers: string[];
  }>()(z.object({ id, path }).strict()),
  exportCsv: method<{ path: string | null; csv: string }>()(
    z.object({ projectId: id, path: path.optional() }).strict(),
  ),
  /** tier rows (a "tier" column filled) are not imported from CSV: they are counted in skippedTierRows (tiers travel as .eaf) */
  importCsv: method<{ annotations: number; annotators: string[]; skippedTierRows: number }>()(
    z.object({ projectId: id, path }).strict(),
  ),
  /** labelled clips (mean score over annotators) as a feature-store dataset the engine trains on */
  exportDataset: method<DatasetExportResult>()(
    z
      .object({
        projectId: id,
        name: nameSchema('a dataset'),
        clipIds: z.array(id).optional(),
        splits: z
          .object({ train: z.number().min(0), valid: z.number().min(0), test: z.number().min(0) })
          .strict()
          .default({ train: 0.7, valid: 0.15, test: 0.15 }),
        seed: z
          .number()
          .int()
          .min(0)
          .max(2 ** 31 - 1)
          .default(1),
        aligned: z.boolean().default(false),
        /** unaligned lengths: longer sequences are cut, shorter padded (default: the longest clip's) */
        maxAudioFrames: z.number().int().min(1).max(100_000).optional(),
        maxVisionFrames: z.number().int().min(1).max(100_000).optional(),
        folder: path.optional(),
        /** record it in the datasets list (default true) */
        register: z.boolean().default(true),
      })
      .strict(),
  ),
  /** the ffmpeg binary to use (null: back to the bundled one) */
  setFfmpeg: method<{ path: string | null; version: string | null; source: string }>()(
    z.object({ path: path.nullable() }).strict(),
  ),
  /** the BERT folder whose vocab.txt tokenises transcripts (null: none) */
  setBertDir: method<{ bertDir: string | null }>()(z.object({ bertDir: path.nullable() }).strict()),
} as const;
