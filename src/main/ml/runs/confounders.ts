/**
 * The Multimodal Causal Module's inputs (spec 2.9): one confounder vector per class, the mean over
 * the TRAINING samples of that class of the unimodal features pooled over time, and the training
 * class distribution as prior. The reference's pooling is not published; ours is the mean over
 * each sample's valid steps (text: attention-mask positions incl. [CLS]/[SEP]; audio/vision: valid
 * frames), then the mean over the class's samples. The text part comes from the same text features
 * the model reads (the dataset's, or the chosen BERT's complete view).
 *
 * Or read from the reference's .npy files attached to the dataset (extras).
 */
import fs from 'node:fs';
import path from 'node:path';
import { tf } from '../backends/tf';
import type { FeatureStore } from '../../data/featureStore';
import { ranges, readBatch, RunDataError, type SplitData } from './data';
import type { TextProvider } from './text';

export interface ConfounderArrays {
  /** (C, dl + da + dv) row-major */
  dictionary: Float32Array;
  /** (C) */
  prior: Float32Array;
  /** training samples per class */
  counts: number[];
  source: string;
}

/** Per-class means over the training split, batch by batch. */
export async function confoundersFromTraining(
  train: SplitData,
  text: TextProvider,
  classes: number,
  batchSize: number,
  signal?: AbortSignal,
): Promise<ConfounderArrays> {
  const { dl } = text;
  const { da, dv, L, Ta, Tv } = train;
  const D = dl + da + dv;
  const sums = new Float64Array(classes * D);
  const counts = new Array<number>(classes).fill(0);
  for (const [start, size] of ranges(train.count, batchSize)) {
    signal?.throwIfAborted();
    const rows = Array.from({ length: size }, (_, i) => start + i);
    const batch = await readBatch(train, rows, text.kind === 'features');
    const feats = await text.complete(batch);
    const tf32 = (await feats.data()) as Float32Array;
    feats.dispose();
    for (let b = 0; b < size; b++) {
      const c = batch.labels[b];
      counts[c]++;
      const base = c * D;
      const pool = (src: Float32Array, T: number, dim: number, len: number, offset: number) => {
        if (len <= 0) return;
        for (let t = 0; t < len; t++) {
          const row = (b * T + t) * dim;
          for (let k = 0; k < dim; k++) sums[base + offset + k] += src[row + k] / len;
        }
      };
      pool(tf32, L, dl, batch.textLengths[b], 0);
      pool(batch.audio, Ta, da, batch.audioLengths[b], dl);
      pool(batch.vision, Tv, dv, batch.visionLengths[b], dl + da);
    }
  }
  const dictionary = new Float32Array(classes * D);
  for (let c = 0; c < classes; c++)
    for (let k = 0; k < D; k++) dictionary[c * D + k] = counts[c] ? sums[c * D + k] / counts[c] : 0;
  const n = counts.reduce((a, b) => a + b, 0);
  const prior = Float32Array.from(counts, (k) => k / n);
  return { dictionary, prior, counts, source: 'training split (mean over valid steps per class)' };
}

function readExtra(store: FeatureStore, key: string): Float32Array {
  const e = store.manifest.extras?.[key];
  if (!e)
    throw new RunDataError(
      `dataset ${store.manifest.name} has no attached array "${key}" (attached: ${Object.keys(store.manifest.extras ?? {}).join(', ') || 'none'})`,
    );
  const buf = fs.readFileSync(path.join(store.dir, e.file));
  const out = new Float32Array(e.byteLength / 4);
  new Uint8Array(out.buffer).set(buf.subarray(e.offset, e.offset + e.byteLength));
  return out;
}

/** The reference's vectors: one key per class (in class order) and a prior key. */
export function confoundersFromExtras(
  store: FeatureStore,
  keys: string[],
  priorKey: string,
  classes: number,
  D: number,
): ConfounderArrays {
  if (keys.length !== classes)
    throw new RunDataError(`the confounder dictionary needs ${classes} vectors (one per class), got ${keys.length}`);
  const dictionary = new Float32Array(classes * D);
  keys.forEach((k, c) => {
    const v = readExtra(store, k);
    if (v.length !== D)
      throw new RunDataError(`confounder "${k}" has ${v.length} values; this model needs dl+da+dv = ${D}`);
    dictionary.set(v, c * D);
  });
  const prior = readExtra(store, priorKey);
  if (prior.length !== classes)
    throw new RunDataError(`prior "${priorKey}" has ${prior.length} classes; the task has ${classes}`);
  return { dictionary, prior, counts: [], source: `attached arrays ${keys.join(', ')}; prior ${priorKey}` };
}

/** Training-mode MCM inputs as tensors (the caller disposes). */
export function trainingConfounders(
  c: ConfounderArrays,
  classes: number,
): { dictionary: tf.Tensor2D; prior: tf.Tensor1D } {
  return {
    dictionary: tf.tensor2d(c.dictionary, [classes, c.dictionary.length / classes]),
    prior: tf.tensor1d(c.prior),
  };
}
