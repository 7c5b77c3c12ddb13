/**
 * Plain data of the clips service (import, features, annotation, exchange). No Node, no DOM.
 */

export const VIDEO_EXTENSIONS = ['.mp4', '.webm', '.mov', '.mkv'] as const;
export const TRANSCRIPT_FORMATS = ['srt', 'vtt', 'txt', 'eaf'] as const;
export type TranscriptFormat = (typeof TRANSCRIPT_FORMATS)[number];
export const MODALITIES = ['text', 'audio', 'vision'] as const;
export type Modality = (typeof MODALITIES)[number];

export interface TranscriptSegment {
  /** 0-based position in the transcript */
  index: number;
  /** seconds; null in an untimed (plain text) transcript */
  start: number | null;
  end: number | null;
  text: string;
  /** a corrected text, when someone fixed the transcript */
  correction?: string | null;
}

export interface TranscriptWord {
  text: string;
  segment: number;
  /** [charStart, charEnd) in the joined transcript text */
  charStart: number;
  charEnd: number;
  /** seconds, estimated inside a timed segment; null without timings */
  start: number | null;
  end: number | null;
}

export interface Transcript {
  format: TranscriptFormat;
  sourcePath: string | null;
  timed: boolean;
  segments: TranscriptSegment[];
}

/** What a modality of a clip looks like: present in the file, missing, or extracted. */
export interface ModalityState {
  /** false: the clip has no such stream (no audio track, no transcript, no face found) */
  available: boolean;
  /** why it is missing, in words the UI shows */
  reason: string | null;
  /** feature extraction state for the current extractor version */
  features: { version: string; frames: number; dims: number; rate: number | null; presentFraction?: number } | null;
}

export interface Clip {
  id: number;
  projectId: number;
  name: string;
  sourcePath: string;
  container: string;
  durationSec: number;
  width: number | null;
  height: number | null;
  fps: number | null;
  videoCodec: string | null;
  audioCodec: string | null;
  audioRate: number | null;
  hasVideo: boolean;
  hasAudio: boolean;
  fileSize: number;
  modalities: Record<Modality, ModalityState>;
  createdAt: string;
}

export interface ClipDetail extends Clip {
  transcript: Transcript | null;
  words: TranscriptWord[];
}

export interface ImportFailure {
  file: string;
  message: string;
}

export interface ImportResult {
  imported: Clip[];
  /** files already in the project (same path): left as they were */
  skipped: { file: string; clipId: number }[];
  failed: ImportFailure[];
}

export interface Annotator {
  id: number;
  projectId: number;
  name: string;
}

/** One annotator's label for a whole clip (segment -1) or one transcript segment. */
export interface Annotation {
  clipId: number;
  annotatorId: number;
  /** -1: the whole clip */
  segment: number;
  /** sentiment in [-3, 3], or null when only a note / correction was given */
  score: number | null;
  note: string;
  /** corrected transcript text for this segment (segment >= 0), as this annotator reads it */
  correction: string | null;
  updatedAt: string;
}

export interface AnnotationInput {
  segment: number;
  score: number | null;
  note: string;
  correction: string | null;
}

export interface ClipAgreement {
  clipId: number;
  /** units (clip or segments) rated by at least two annotators */
  units: number;
  raters: number;
  meanScore: number | null;
  /** spread of the annotators' clip scores */
  scoreSd: number | null;
  scoreRange: number | null;
  /** share of annotator pairs that gave the same 3-/7-class label, over all rated units */
  pairAgreement3: number | null;
  pairAgreement7: number | null;
  /** Krippendorff's alpha (interval) over the clip's segment units, when it has two or more */
  alphaInterval: number | null;
}

export interface ProjectAgreement {
  annotators: Annotator[];
  /** (clip, segment) units rated by at least two annotators */
  units: number;
  alphaInterval: number | null;
  /** nominal alpha on the derived classes */
  alpha3: number | null;
  alpha7: number | null;
  /** Cohen's kappa with exactly two annotators, Fleiss' kappa with three or more (units rated by all) */
  kappa3: { method: 'cohen' | 'fleiss'; value: number | null; units: number } | null;
  kappa7: { method: 'cohen' | 'fleiss'; value: number | null; units: number } | null;
  clips: ClipAgreement[];
}

export interface FeatureTrack {
  modality: Modality;
  version: string;
  rate: number;
  names: string[];
  frames: number;
  /** frames x names, row-major, downsampled to at most maxFrames */
  values: number[];
  step: number;
}

export interface ExportSplits {
  train: number;
  valid: number;
  test: number;
}

export interface DatasetExportResult {
  folder: string;
  name: string;
  aligned: boolean;
  counts: ExportSplits;
  dims: { L: number; Ta: number; da: number; Tv: number; dv: number };
  seed: number;
  clipIds: Record<keyof ExportSplits, number[]>;
  warnings: string[];
  /** the datasets service's id when the export was registered there */
  datasetId: number | null;
}

/**
 * The derived classes of a score, for the UI (the renderer may import only src/shared). Same rule as
 * src/main/ml/eval/labels.ts (spec section 1; a unit test checks the two agree): 3-class < 0, = 0,
 * > 0; 7-class round-half-to-even(clip(score, -3, 3)) + 3.
 */
export function scoreClasses(score: number): { three: number; seven: number } {
  const x = Math.min(3, Math.max(-3, score));
  const f = Math.floor(x);
  const d = x - f;
  const r = d < 0.5 ? f : d > 0.5 ? f + 1 : f % 2 === 0 ? f : f + 1;
  return { three: score < 0 ? 0 : score > 0 ? 2 : 1, seven: r + 3 };
}
export const THREE_CLASS_LABELS = ['negative', 'neutral', 'positive'] as const;
