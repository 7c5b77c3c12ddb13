/**
 * Extract the three streams of one clip, reusing cached records (same extractor version, same
 * source), writing new ones. Runs in a job worker; the caller reports progress between clips.
 */
import { createHash } from 'node:crypto';
import type { Modality } from '../../../shared/clips';
import type { ClipExtractSummary, JobParams } from '../../../shared/jobs';
import { AppError } from '../../../shared/errors';
import { decodeFrames, decodePcm, fitSize } from '../../media/decode';
import type { WordPieceTokenizer } from '../../ml/text/tokenizer';
import type { FaceDetector } from '../../ml/backends/face';
import { transcriptText, transcriptWords } from '../transcript';
import { alignToTokens } from './align';
import { AUDIO_EXTRACTOR_VERSION, AUDIO_FEATURE_NAMES, AUDIO_SAMPLE_RATE, audioFeatures } from './audio';
import { fileFingerprint, readFeatureFrames, readFeatureRecord, writeFeatureRecord, type FeatureRecord } from './store';
import { DEFAULT_TEXT_LENGTH, TEXT_EXTRACTOR_VERSION, textFeatures, type TextFeatures } from './text';
import {
  confidentFace,
  FACE_MIN_CONFIDENCE,
  VISION_FEATURE_NAMES,
  VISION_FRAME_RATE,
  VISION_MAX_SIDE,
  visionFeatureRow,
} from './vision';

/** a clip as the 'clips.extract' job is given it */
export type ClipToExtract = JobParams<'clips.extract'>['clips'][number];

export interface ExtractOptions {
  dataDir: string;
  ffmpeg: string;
  modalities: Modality[];
  /** the BERT vocabulary; without it the text stream is skipped with a reason */
  tokenizer: { tokenizer: WordPieceTokenizer; id: string } | null;
  textLength?: number;
  visionRate?: number;
  face: () => Promise<FaceDetector>;
  force?: boolean;
  signal?: AbortSignal;
  log?: (message: string) => void;
  /** fraction of this clip's work done (0..1) */
  onStep?: (fraction: number, message: string) => void;
}

export type { ClipExtractSummary } from '../../../shared/jobs';

function summary(r: FeatureRecord, cached: boolean) {
  return { available: r.available, reason: r.reason, cached, frames: r.frames, dims: r.dims };
}

export async function extractClip(clip: ClipToExtract, opts: ExtractOptions): Promise<ClipExtractSummary> {
  const out: ClipExtractSummary = { clipId: clip.id, streams: {} };
  const L = opts.textLength ?? DEFAULT_TEXT_LENGTH;
  const segHash = createHash('sha256')
    .update(JSON.stringify(clip.segments.map((s) => [s.start, s.end, s.correction ?? s.text])))
    .digest('hex')
    .slice(0, 16);
  const now = () => new Date().toISOString();
  const cachedOk = (m: Modality, version: string, fp: string): FeatureRecord | null => {
    if (opts.force) return null;
    const r = readFeatureRecord(opts.dataDir, clip.id, m);
    return r && r.version === version && r.fingerprint === fp ? r : null;
  };

  // text first: its token timings drive the alignment of the other two
  let text: TextFeatures | null = null;
  const textVersion = `${TEXT_EXTRACTOR_VERSION}-L${L}-${opts.tokenizer?.id ?? 'none'}`;
  {
    const fp = `${segHash}`;
    const hit = cachedOk('text', textVersion, fp);
    if (hit) {
      text = (hit.text as TextFeatures | undefined) ?? null;
      out.streams.text = summary(hit, true);
    } else {
      const joined = transcriptText(clip.segments);
      let record: FeatureRecord;
      if (!joined.trim()) {
        record = {
          modality: 'text',
          version: textVersion,
          fingerprint: fp,
          available: false,
          reason: 'no transcript',
          rate: null,
          frames: 0,
          dims: 3,
          names: ['ids', 'mask', 'segment'],
          createdAt: now(),
        };
      } else if (!opts.tokenizer) {
        record = {
          modality: 'text',
          version: textVersion,
          fingerprint: fp,
          available: false,
          reason: 'no BERT vocabulary chosen (set a text model folder)',
          rate: null,
          frames: 0,
          dims: 3,
          names: ['ids', 'mask', 'segment'],
          createdAt: now(),
        };
      } else {
        text = textFeatures(opts.tokenizer.tokenizer, joined, transcriptWords(clip.segments), L);
        record = {
          modality: 'text',
          version: textVersion,
          fingerprint: fp,
          available: true,
          reason: null,
          rate: null,
          frames: L,
          dims: 3,
          names: ['ids', 'mask', 'segment'],
          text,
          createdAt: now(),
        };
      }
      writeFeatureRecord(opts.dataDir, clip.id, record);
      out.streams.text = summary(record, false);
    }
  }
  opts.onStep?.(0.1, 'text');
  const timedTokens = text?.timed ? text.tokens : null;

  // audio
  if (opts.modalities.includes('audio')) {
    const fp = fileFingerprint(clip.path, timedTokens ? segHash : '');
    const hit = cachedOk('audio', AUDIO_EXTRACTOR_VERSION, fp);
    if (hit) out.streams.audio = summary(hit, true);
    else {
      let record: FeatureRecord;
      if (!clip.hasAudio) {
        record = {
          modality: 'audio',
          version: AUDIO_EXTRACTOR_VERSION,
          fingerprint: fp,
          available: false,
          reason: 'the file has no audio track',
          rate: null,
          frames: 0,
          dims: AUDIO_FEATURE_NAMES.length,
          names: AUDIO_FEATURE_NAMES,
          createdAt: now(),
        };
        writeFeatureRecord(opts.dataDir, clip.id, record);
      } else {
        const pcm = await decodePcm(opts.ffmpeg, clip.path, AUDIO_SAMPLE_RATE, opts.signal);
        if (opts.signal?.aborted) throw new AppError('CANCELLED', 'cancelled by the user');
        const f = audioFeatures(pcm, { signal: opts.signal });
        if (opts.signal?.aborted) throw new AppError('CANCELLED', 'cancelled by the user');
        const aligned = timedTokens ? alignToTokens(f.data, f.rate, f.dims, timedTokens) : undefined;
        record = {
          modality: 'audio',
          version: AUDIO_EXTRACTOR_VERSION,
          fingerprint: fp,
          available: f.frames > 0,
          reason: f.frames > 0 ? null : 'the audio track is empty',
          rate: f.rate,
          frames: f.frames,
          dims: f.dims,
          names: AUDIO_FEATURE_NAMES,
          aligned: aligned ? { L: timedTokens!.length, dims: f.dims } : null,
          createdAt: now(),
        };
        writeFeatureRecord(opts.dataDir, clip.id, record, f.data, aligned);
      }
      out.streams.audio = summary(record, false);
    }
  }
  opts.onStep?.(0.3, 'audio');

  // vision
  if (opts.modalities.includes('vision')) {
    const rate = opts.visionRate ?? VISION_FRAME_RATE;
    const detectorProbe = await opts.face();
    const version = `${detectorProbe.version}-${rate}fps-${VISION_MAX_SIDE}px-min${FACE_MIN_CONFIDENCE}-v2`;
    const fp = fileFingerprint(clip.path, timedTokens ? segHash : '');
    const hit = cachedOk('vision', version, fp);
    if (hit) out.streams.vision = summary(hit, true);
    else {
      const dims = VISION_FEATURE_NAMES.length;
      let record: FeatureRecord;
      if (!clip.hasVideo || !clip.width || !clip.height) {
        record = {
          modality: 'vision',
          version,
          fingerprint: fp,
          available: false,
          reason: 'the file has no video stream',
          rate,
          frames: 0,
          dims,
          names: VISION_FEATURE_NAMES,
          createdAt: now(),
        };
        writeFeatureRecord(opts.dataDir, clip.id, record);
      } else {
        const size = fitSize(clip.width, clip.height, VISION_MAX_SIDE);
        const rows: Float32Array[] = [];
        let present = 0;
        await decodeFrames(
          opts.ffmpeg,
          clip.path,
          rate,
          size,
          async (rgb, i) => {
            if (opts.signal?.aborted) return;
            const face = confidentFace(await detectorProbe.detect(rgb, size.width, size.height));
            const row = new Float32Array(dims);
            visionFeatureRow(face, size.width, size.height, row);
            if (face) present++;
            rows[i] = row;
            if (i % 5 === 0)
              opts.onStep?.(0.3 + Math.min(0.69, (0.7 * i) / Math.max(1, rate * 60)), `vision frame ${i + 1}`);
          },
          opts.signal,
        );
        if (opts.signal?.aborted) throw new AppError('CANCELLED', 'cancelled by the user');
        const data = new Float32Array(rows.length * dims);
        rows.forEach((r, i) => data.set(r, i * dims));
        const aligned = timedTokens ? alignToTokens(data, rate, dims, timedTokens) : undefined;
        const presentFraction = rows.length ? present / rows.length : 0;
        record = {
          modality: 'vision',
          version,
          fingerprint: fp,
          available: present > 0,
          reason: present > 0 ? null : rows.length ? 'no face found in any frame' : 'no frames decoded',
          rate,
          frames: rows.length,
          dims,
          names: VISION_FEATURE_NAMES,
          presentFraction,
          aligned: aligned ? { L: timedTokens!.length, dims } : null,
          createdAt: now(),
        };
        writeFeatureRecord(opts.dataDir, clip.id, record, data, aligned);
      }
      out.streams.vision = summary(record, false);
    }
  }
  opts.onStep?.(1, 'done');
  return out;
}

export { readFeatureFrames, readFeatureRecord };
