/**
 * Labelled clips as a feature-store dataset (src/main/data/featureStore.ts) the engine trains on.
 *
 * - label: the mean of the annotators' clip-level scores (MOSI/MOSEI average their annotators
 *   too); a clip with only segment scores takes the mean of those; unlabelled clips are left out.
 * - text: the BERT token ids (3, L) from the text features; a clip without a transcript gets
 *   [CLS] [SEP] only (an empty text, the "missing text" case).
 * - unaligned (default): audio (Ta, da) at 100 Hz and vision (Tv, dv) at the vision rate, cut or
 *   zero-padded to Ta/Tv, with the true lengths; a missing stream is zeros with length 0.
 * - aligned: audio and vision averaged over each token's word span, Ta = Tv = L, lengths = the
 *   text length, as MMSA's aligned_50 data.
 * - splits: a seeded shuffle of the labelled clips, cut by the user's proportions; the same seed and
 *   clips always give the same splits (the clip ids per split are returned and kept in the
 *   manifest).
 */
import {
  SPLITS,
  StoreBuilder,
  type ArrayEntry,
  type DatasetManifest,
  type SplitManifest,
  type SplitName,
} from '../data/featureStore';
import { classCounts } from '../data/labels';
import { sevenClassLabel, threeClassLabel } from '../ml/eval/labels';
import { Rng } from '../ml/random';
import type { ExportSplits } from '../../shared/clips';
import { readFeatureFrames, readFeatureRecord } from './features/store';
import type { TextFeatures } from './features/text';

export interface ExportClip {
  id: number;
  name: string;
  text: string;
  score: number;
}

export interface ExportOptions {
  dataDir: string;
  name: string;
  splits: ExportSplits;
  seed: number;
  aligned: boolean;
  maxAudioFrames?: number;
  maxVisionFrames?: number;
}

export interface ExportPlan {
  assignment: Record<SplitName, ExportClip[]>;
}

/** Seeded split: shuffle by seed, then cut by the proportions (largest remainders get the rest). */
export function planSplits(clips: ExportClip[], splits: ExportSplits, seed: number): Record<SplitName, ExportClip[]> {
  const total = splits.train + splits.valid + splits.test;
  if (!(total > 0)) throw new Error('the split proportions add up to 0');
  const order = [...clips].sort((a, b) => a.id - b.id);
  new Rng(seed).child('clips.exportDataset').shuffle(order);
  const n = order.length;
  const exact = SPLITS.map((s) => (n * splits[s]) / total);
  const counts = exact.map(Math.floor);
  let left = n - counts.reduce((a, b) => a + b, 0);
  const byRemainder = SPLITS.map((_, i) => i).sort((a, b) => exact[b] - counts[b] - (exact[a] - counts[a]) || a - b);
  for (const i of byRemainder) {
    if (left <= 0) break;
    counts[i]++;
    left--;
  }
  const out = {} as Record<SplitName, ExportClip[]>;
  let at = 0;
  SPLITS.forEach((s, i) => {
    out[s] = order.slice(at, at + counts[i]);
    at += counts[i];
  });
  return out;
}

interface Loaded {
  clip: ExportClip;
  text: TextFeatures | null;
  audio: { frames: number; dims: number; data: Float32Array | null; aligned: Float32Array | null };
  vision: { frames: number; dims: number; data: Float32Array | null; aligned: Float32Array | null };
}

function load(dataDir: string, clip: ExportClip, aligned: boolean): Loaded {
  const t = readFeatureRecord(dataDir, clip.id, 'text');
  const stream = (m: 'audio' | 'vision') => {
    const r = readFeatureRecord(dataDir, clip.id, m);
    if (!r) throw new Error(`clip "${clip.name}" has no ${m} features yet: run feature extraction first`);
    const has = r.available && r.frames > 0;
    return {
      frames: has ? r.frames : 0,
      dims: r.dims,
      data: has && !aligned ? readFeatureFrames(dataDir, clip.id, m) : null,
      aligned: has && aligned && r.aligned ? readFeatureFrames(dataDir, clip.id, m, true) : null,
    };
  };
  if (!t) throw new Error(`clip "${clip.name}" has no text features yet: run feature extraction first`);
  return {
    clip,
    text: t.available ? ((t.text as TextFeatures | undefined) ?? null) : null,
    audio: stream('audio'),
    vision: stream('vision'),
  };
}

export async function buildClipsDataset(
  builder: StoreBuilder,
  clips: ExportClip[],
  opts: ExportOptions,
): Promise<{ manifest: DatasetManifest; assignment: Record<SplitName, number[]>; warnings: string[] }> {
  const warnings: string[] = [];
  const plan = planSplits(clips, opts.splits, opts.seed);
  const loaded = new Map(clips.map((c) => [c.id, load(opts.dataDir, c, opts.aligned)]));
  const texts = [...loaded.values()].map((l) => l.text).filter((t): t is TextFeatures => t !== null);
  if (!texts.length)
    throw new Error(
      'none of the clips has text features (a transcript tokenised with a BERT vocabulary); choose a BERT folder and extract features',
    );
  const L = texts[0].L;
  if (texts.some((t) => t.L !== L))
    throw new Error('the clips were tokenised with different lengths L; extract features again with one length');
  const clsId = texts[0].ids[0][0];
  const sepId = texts[0].ids[0][texts[0].length - 1];
  const all = [...loaded.values()];
  const da = all[0].audio.dims;
  const dv = all[0].vision.dims;
  const Ta = opts.aligned ? L : (opts.maxAudioFrames ?? Math.max(1, ...all.map((l) => l.audio.frames)));
  const Tv = opts.aligned ? L : (opts.maxVisionFrames ?? Math.max(1, ...all.map((l) => l.vision.frames)));
  if (opts.aligned) {
    const untimed = all.filter((l) => l.text && !l.text.timed).map((l) => l.clip.name);
    if (untimed.length)
      warnings.push(
        `aligned export: ${untimed.length} clip(s) have no word timings (${untimed.slice(0, 5).join(', ')}); their audio and vision are zeros`,
      );
  }
  const missing = (m: 'audio' | 'vision') => all.filter((l) => l[m].frames === 0).length;
  if (missing('audio'))
    warnings.push(`${missing('audio')} clip(s) without audio: zeros with length 0 (a missing modality)`);
  if (missing('vision'))
    warnings.push(`${missing('vision')} clip(s) without a face: zeros with length 0 (a missing modality)`);
  const noText = all.filter((l) => !l.text).length;
  if (noText) warnings.push(`${noText} clip(s) without a transcript: text is [CLS] [SEP] only`);

  const splits = {} as Record<SplitName, SplitManifest>;
  const assignment = {} as Record<SplitName, number[]>;
  for (const split of SPLITS) {
    const rows = plan[split].map((c) => loaded.get(c.id)!);
    const N = rows.length;
    const audio = new Float32Array(N * Ta * da);
    const vision = new Float32Array(N * Tv * dv);
    const textBert = new Int32Array(N * 3 * L);
    const audioLengths = new Int32Array(N);
    const visionLengths = new Int32Array(N);
    const regression = new Float32Array(N);
    const l3 = new Uint8Array(N);
    const l7 = new Uint8Array(N);
    rows.forEach((r, i) => {
      if (r.text) r.text.ids.forEach((row, k) => textBert.set(row, (i * 3 + k) * L));
      else {
        textBert[i * 3 * L] = clsId;
        textBert[i * 3 * L + 1] = sepId;
        textBert[(i * 3 + 1) * L] = 1;
        textBert[(i * 3 + 1) * L + 1] = 1;
      }
      const textLength = r.text ? r.text.length : 2;
      const put = (s: Loaded['audio'], out: Float32Array, T: number, d: number, lengths: Int32Array) => {
        const src = opts.aligned ? s.aligned : s.data;
        if (!src) return;
        const frames = opts.aligned ? L : s.frames;
        const n = Math.min(T, frames);
        out.set(src.subarray(0, n * d), i * T * d);
        lengths[i] = opts.aligned ? textLength : n;
      };
      put(r.audio, audio, Ta, da, audioLengths);
      put(r.vision, vision, Tv, dv, visionLengths);
      regression[i] = r.clip.score;
      l3[i] = threeClassLabel(r.clip.score);
      l7[i] = sevenClassLabel(r.clip.score);
    });
    const arrays: Partial<Record<string, ArrayEntry>> = {
      audio: await builder.writeTyped(builder.rel(split, 'audio'), 'float32', [N, Ta, da], audio),
      vision: await builder.writeTyped(builder.rel(split, 'vision'), 'float32', [N, Tv, dv], vision),
      textBert: await builder.writeTyped(builder.rel(split, 'textBert'), 'int32', [N, 3, L], textBert),
      audioLengths: await builder.writeTyped(builder.rel(split, 'audioLengths'), 'int32', [N], audioLengths),
      visionLengths: await builder.writeTyped(builder.rel(split, 'visionLengths'), 'int32', [N], visionLengths),
      regression: await builder.writeTyped(builder.rel(split, 'regression'), 'float32', [N], regression),
      labels3: await builder.writeTyped(builder.rel(split, 'labels3'), 'uint8', [N], l3),
      labels7: await builder.writeTyped(builder.rel(split, 'labels7'), 'uint8', [N], l7),
    };
    const samplesFile = `${split}/samples.json`;
    await builder.writeJson(samplesFile, {
      ids: rows.map((r) => `clip-${r.clip.id}:${r.clip.name}`),
      rawText: rows.map((r) => r.clip.text),
    });
    splits[split] = {
      count: N,
      arrays: arrays as SplitManifest['arrays'],
      samplesFile,
      labelCounts: { three: classCounts(l3, 3), seven: classCounts(l7, 7) },
      zeroedNegInfAudio: 0,
    };
    assignment[split] = rows.map((r) => r.clip.id);
  }
  const manifest: DatasetManifest = {
    format: 'cider-feature-store',
    version: 1,
    name: opts.name,
    createdAt: new Date().toISOString(),
    source: { kind: 'clips', files: clips.map((c) => `clip-${c.id}:${c.name}`), bytes: 0 },
    aligned: opts.aligned,
    dims: { L, Ta, da, Tv, dv, dl: null },
    splits,
    warnings,
    clips: { seed: opts.seed, proportions: opts.splits, assignment },
  } as DatasetManifest;
  return { manifest, assignment, warnings };
}
