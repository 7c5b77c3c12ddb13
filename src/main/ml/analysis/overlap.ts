/**
 * Leakage between a run's training data and a test split (issue 15): an OOD dataset built with
 * split-ood (or imported with --ood-of) repartitions the same samples, so part of its "OOD test"
 * may be samples the run trained or validated on. Such samples are removed before scoring:
 * - by sample id (the datasets share ids when one is a repartition of the other);
 * - by a content hash of the sample's raw text, token ids and audio/vision rows, for datasets
 *   whose ids differ (the hash covers the text AND the features: equal raw text alone is not the
 *   same sample, e.g. a short "yes").
 * The counts removed, by rule and by the split they were seen in, go with every result.
 */
import crypto from 'node:crypto';
import type { FeatureStore, SplitReader } from '../../data/featureStore';

export interface OverlapRemoval {
  /** test samples before removal */
  total: number;
  /** test samples scored */
  kept: number;
  removed: number;
  /** removed because their id is a training/validation id */
  byId: number;
  /** removed because their content hash matches a training/validation sample (ids differ) */
  byContent: number;
  /** removed, by the run's split they were seen in */
  fromSplit: { train: number; valid: number };
}

/** The run's seen samples: ids and content hashes of its training and validation splits. */
export interface SeenSamples {
  datasetName: string;
  ids: Map<string, 'train' | 'valid'>;
  hashes: Map<string, 'train' | 'valid'>;
}

const CHUNK = 256;
const normText = (s: string) => s.trim().toLowerCase().replace(/\s+/g, ' ');

/** One content hash per row of a split: raw text, token ids at valid positions, audio and vision rows. */
export async function contentHashes(reader: SplitReader, signal?: AbortSignal): Promise<string[]> {
  const { rawText } = await reader.samples();
  const n = reader.count;
  const out: string[] = new Array<string>(n);
  const tokens = reader.has('textBert') ? ((await reader.read('textBert')) as Int32Array) : null;
  const L = tokens ? reader.entry('textBert').shape[2] : 0;
  const aRow = reader.rowShape('audio').reduce((a, b) => a * b, 1);
  const vRow = reader.rowShape('vision').reduce((a, b) => a * b, 1);
  for (let start = 0; start < n; start += CHUNK) {
    signal?.throwIfAborted();
    const end = Math.min(n, start + CHUNK);
    const audio = (await reader.read('audio', start, end)) as Float32Array;
    const vision = (await reader.read('vision', start, end)) as Float32Array;
    for (let i = start; i < end; i++) {
      const h = crypto.createHash('sha256');
      h.update(normText(rawText[i] ?? ''));
      h.update('\0');
      if (tokens) {
        const ids: number[] = [];
        for (let t = 0; t < L; t++) if (tokens[i * 3 * L + L + t] === 1) ids.push(tokens[i * 3 * L + t]);
        h.update(Int32Array.from(ids));
      }
      const k = i - start;
      h.update(new Uint8Array(audio.buffer, audio.byteOffset + k * aRow * 4, aRow * 4));
      h.update(new Uint8Array(vision.buffer, vision.byteOffset + k * vRow * 4, vRow * 4));
      out[i] = h.digest('base64');
    }
  }
  return out;
}

export async function seenSamples(store: FeatureStore, signal?: AbortSignal): Promise<SeenSamples> {
  const ids = new Map<string, 'train' | 'valid'>();
  const hashes = new Map<string, 'train' | 'valid'>();
  for (const s of ['train', 'valid'] as const) {
    const r = store.split(s);
    for (const id of (await r.samples()).ids) if (!ids.has(id)) ids.set(id, s);
    for (const h of await contentHashes(r, signal)) if (!hashes.has(h)) hashes.set(h, s);
  }
  return { datasetName: store.manifest.name, ids, hashes };
}

/** The rows of a test split the run never saw, and what was removed. */
export async function unseenRows(
  seen: SeenSamples,
  test: SplitReader,
  signal?: AbortSignal,
): Promise<{ rows: number[]; removal: OverlapRemoval }> {
  const { ids } = await test.samples();
  const hashes = await contentHashes(test, signal);
  const rows: number[] = [];
  const removal: OverlapRemoval = {
    total: test.count,
    kept: 0,
    removed: 0,
    byId: 0,
    byContent: 0,
    fromSplit: { train: 0, valid: 0 },
  };
  for (let i = 0; i < test.count; i++) {
    const byId = seen.ids.get(ids[i]);
    const byContent = byId ? undefined : seen.hashes.get(hashes[i]);
    const from = byId ?? byContent;
    if (!from) {
      rows.push(i);
      continue;
    }
    removal.removed++;
    if (byId) removal.byId++;
    else removal.byContent++;
    removal.fromSplit[from]++;
  }
  removal.kept = rows.length;
  return { rows, removal };
}

/** One line for every result: what was removed and why. */
export function overlapNote(r: OverlapRemoval, testName: string, runDataset: string): string {
  if (r.removed === 0) return `${testName}: no sample of the run's training/validation data (${r.total} scored)`;
  return `${testName}: ${r.removed} of ${r.total} samples removed as seen by the run in ${runDataset} (train ${r.fromSplit.train}, valid ${r.fromSplit.valid}; by id ${r.byId}, by text+features hash ${r.byContent}); ${r.kept} scored`;
}
