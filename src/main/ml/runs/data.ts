/**
 * A dataset split as the training loop and the evaluator read it: per-sample lengths and labels
 * held in memory (small), feature rows read from the on-disk feature store batch by batch (a
 * split never has to fit in memory).
 */
import type { FeatureStore, SplitName, SplitReader } from '../../data/featureStore';
import { textLengthsFromInput, type MissingLayout } from '../eval/missing';

export class RunDataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RunDataError';
  }
}

export interface SplitData {
  name: SplitName;
  reader: SplitReader;
  count: number;
  aligned: boolean;
  L: number;
  Ta: number;
  Tv: number;
  da: number;
  dv: number;
  /** the dataset's precomputed text features width, or null when it has none */
  dl: number | null;
  /** (N, 3, L) token ids / attention mask / segment ids of the whole split */
  ids3: Int32Array;
  textLengths: Int32Array;
  audioLengths: Int32Array;
  visionLengths: Int32Array;
  /** class of the task per sample */
  labels: Int32Array;
}

/** Rows of one batch, everything the views need. Masks are float 0/1. */
export interface BatchArrays {
  rows: number[];
  size: number;
  ids3: Int32Array;
  /** (B, L, dl) when the dataset has text features */
  features: Float32Array | null;
  audio: Float32Array;
  vision: Float32Array;
  textLengths: Int32Array;
  audioLengths: Int32Array;
  visionLengths: Int32Array;
  labels: Int32Array;
  textMask: Float32Array;
  audioMask: Float32Array;
  visionMask: Float32Array;
}

function clampLengths(values: ArrayLike<number>, T: number): Int32Array {
  const out = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = Math.max(0, Math.min(T, Math.round(values[i])));
  return out;
}

export async function openSplit(store: FeatureStore, name: SplitName, task: 3 | 7): Promise<SplitData> {
  const reader = store.split(name);
  const m = store.manifest;
  if (!reader.has('textBert')) {
    throw new RunDataError(
      `dataset ${m.name}: split ${name} has no BERT token ids (text_bert); CIDer needs them for the text mask and the missing views`,
    );
  }
  const [, , L] = reader.entry('textBert').shape;
  const [, Ta, da] = reader.entry('audio').shape;
  const [, Tv, dv] = reader.entry('vision').shape;
  const dl = reader.has('text') ? reader.entry('text').shape[2] : null;
  const N = reader.count;
  const ids3 = (await reader.read('textBert')) as Int32Array;
  let textLengths: Int32Array;
  try {
    textLengths = textLengthsFromInput(ids3, N, L);
  } catch (e) {
    throw new RunDataError(`dataset ${m.name}, split ${name}: ${(e as Error).message}`);
  }
  const aligned = m.aligned;
  if (aligned && (Ta !== L || Tv !== L))
    throw new RunDataError(`dataset ${m.name} is marked aligned but L=${L}, Ta=${Ta}, Tv=${Tv} differ`);
  // aligned data: audio and vision share the text's time axis and lengths (spec 1)
  const audioLengths = aligned
    ? textLengths
    : reader.has('audioLengths')
      ? clampLengths(await reader.read('audioLengths'), Ta)
      : new Int32Array(N).fill(Ta);
  const visionLengths = aligned
    ? textLengths
    : reader.has('visionLengths')
      ? clampLengths(await reader.read('visionLengths'), Tv)
      : new Int32Array(N).fill(Tv);
  const labels = Int32Array.from(task === 3 ? await reader.labels3() : await reader.labels7());
  return {
    name,
    reader,
    count: N,
    aligned,
    L,
    Ta,
    Tv,
    da,
    dv,
    dl,
    ids3,
    textLengths,
    audioLengths,
    visionLengths,
    labels,
  };
}

function maskOf(lengths: Int32Array, T: number): Float32Array {
  const m = new Float32Array(lengths.length * T);
  lengths.forEach((len, b) => m.fill(1, b * T, b * T + len));
  return m;
}

/** Read the given rows (in this order). `withFeatures` reads the dataset's text features too. */
export async function readBatch(split: SplitData, rows: number[], withFeatures: boolean): Promise<BatchArrays> {
  const B = rows.length;
  const L = split.L;
  const ids3 = new Int32Array(B * 3 * L);
  rows.forEach((r, i) => ids3.set(split.ids3.subarray(r * 3 * L, (r + 1) * 3 * L), i * 3 * L));
  const pick = (a: Int32Array) => Int32Array.from(rows, (r) => a[r]);
  const textLengths = pick(split.textLengths);
  const audioLengths = pick(split.audioLengths);
  const visionLengths = pick(split.visionLengths);
  let features: Float32Array | null = null;
  if (withFeatures) {
    if (split.dl === null)
      throw new RunDataError(
        `dataset ${split.reader.store.manifest.name} has no precomputed text features; choose a BERT model folder (frozen or finetune)`,
      );
    features = (await split.reader.readRows('text', rows)) as Float32Array;
  }
  const audio = (await split.reader.readRows('audio', rows)) as Float32Array;
  const vision = (await split.reader.readRows('vision', rows)) as Float32Array;
  return {
    rows,
    size: B,
    ids3,
    features,
    audio,
    vision,
    textLengths,
    audioLengths,
    visionLengths,
    labels: pick(split.labels),
    textMask: maskOf(textLengths, L),
    audioMask: maskOf(audioLengths, split.Ta),
    visionMask: maskOf(visionLengths, split.Tv),
  };
}

/** The missing-protocol layout of a whole split (or of rows [start, start + size)). */
export function splitLayout(split: SplitData, start = 0, size = split.count): MissingLayout {
  return {
    batch: size,
    textSteps: split.L,
    audioSteps: split.Ta,
    visionSteps: split.Tv,
    textLengths: split.textLengths.subarray(start, start + size),
    audioLengths: split.audioLengths.subarray(start, start + size),
    visionLengths: split.visionLengths.subarray(start, start + size),
    aligned: split.aligned,
    firstSample: start,
  };
}

/** Consecutive row ranges [start, start + size). */
export function ranges(n: number, size: number): [number, number][] {
  const out: [number, number][] = [];
  for (let s = 0; s < n; s += size) out.push([s, Math.min(size, n - s)]);
  return out;
}

/**
 * The given rows of a split (in this order) as a split of its own: batches, layouts and sample
 * texts read through it see only those rows (row k is the source's rows[k]). Used to score a test
 * split without the samples a run trained on (analysis/overlap.ts).
 */
export function subsetSplit(split: SplitData, rows: readonly number[]): SplitData {
  const L = split.L;
  const ids3 = new Int32Array(rows.length * 3 * L);
  rows.forEach((r, i) => ids3.set(split.ids3.subarray(r * 3 * L, (r + 1) * 3 * L), i * 3 * L));
  const pick = (a: Int32Array) => Int32Array.from(rows, (r) => a[r]);
  const base = split.reader;
  const reader = Object.create(base) as SplitReader;
  Object.defineProperty(reader, 'count', { value: rows.length });
  reader.readRows = (name, rs) =>
    base.readRows(
      name,
      Array.from(rs, (r) => rows[r]),
    );
  reader.read = async (name, start = 0, end = rows.length) => base.readRows(name, rows.slice(start, end));
  reader.samples = async () => {
    const s = await base.samples();
    return {
      ids: rows.map((r) => s.ids[r]),
      rawText: rows.map((r) => s.rawText[r]),
      ...(s.annotations ? { annotations: rows.map((r) => s.annotations![r]) } : {}),
    };
  };
  return {
    ...split,
    reader,
    count: rows.length,
    ids3,
    textLengths: pick(split.textLengths),
    audioLengths: pick(split.audioLengths),
    visionLengths: pick(split.visionLengths),
    labels: pick(split.labels),
  };
}
