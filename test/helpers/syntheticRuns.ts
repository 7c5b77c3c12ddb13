/**
 * Tiny learnable datasets and a tiny bert-base-compatible BERT for the training/evaluation tests.
 *
 * The dataset: a feature store written with the data layer's StoreBuilder. Each sample has a
 * sentiment s in {negative, neutral, positive}; the text features, the first audio channel and the
 * words carry it (positive words 104..115, negative 116..127, neutral 128..139), plus noise, so
 * the labels are learnable from any modality. Token ids follow bert-base-uncased's specials
 * ([PAD] 0, [UNK] 100, [CLS] 101, [SEP] 102, [MASK] 103).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  StoreBuilder,
  SPLITS,
  type ArrayEntry,
  type DatasetManifest,
  type SplitManifest,
  type SplitName,
} from '../../src/main/data/featureStore';
import { classCounts, label3, label7 } from '../../src/main/data/labels';
import { serializeSafetensors } from '../../src/main/ml/io/safetensors';
import { Rng } from '../../src/main/ml/random';
import { tinyBertTensors, TINY_CONFIG } from './tinyBert';

export interface SyntheticOptions {
  sizes?: Record<SplitName, number>;
  L?: number;
  da?: number;
  dv?: number;
  dl?: number;
  /** unaligned: audio/vision get their own lengths Ta/Tv */
  aligned?: boolean;
  Ta?: number;
  Tv?: number;
  seed?: number;
  name?: string;
}

const WORDS = { pos: [104, 116], neg: [116, 128], neu: [128, 140] } as const;

/** A synthetic store's shapes: every one known (a manifest allows L and dl to be absent). */
export interface SyntheticDims {
  L: number;
  Ta: number;
  da: number;
  Tv: number;
  dv: number;
  dl: number;
}

/** One split's arrays as the data layer stores them (labels derived from the regression targets). */
export interface SplitArrays {
  /** sample ids, one per row */
  ids: string[];
  dims: SyntheticDims;
  /** [N, 3, L] token ids, attention mask, segment ids */
  ids3: Int32Array;
  text: Float32Array;
  audio: Float32Array;
  vision: Float32Array;
  audioLengths: Int32Array;
  visionLengths: Int32Array;
  regression: Float32Array;
}

/** Writes one split's arrays and samples file and returns its manifest entry. */
export async function writeSplit(b: StoreBuilder, split: SplitName, a: SplitArrays): Promise<SplitManifest> {
  const { L, Ta, da, Tv, dv, dl } = a.dims;
  const N = a.ids.length;
  const l3 = Uint8Array.from(a.regression, (r) => label3(r));
  const l7 = Uint8Array.from(a.regression, (r) => label7(r));
  const arrays: Partial<Record<string, ArrayEntry>> = {
    textBert: await b.writeTyped(b.rel(split, 'textBert'), 'int32', [N, 3, L], a.ids3),
    text: await b.writeTyped(b.rel(split, 'text'), 'float32', [N, L, dl], a.text),
    audio: await b.writeTyped(b.rel(split, 'audio'), 'float32', [N, Ta, da], a.audio),
    vision: await b.writeTyped(b.rel(split, 'vision'), 'float32', [N, Tv, dv], a.vision),
    audioLengths: await b.writeTyped(b.rel(split, 'audioLengths'), 'int32', [N], a.audioLengths),
    visionLengths: await b.writeTyped(b.rel(split, 'visionLengths'), 'int32', [N], a.visionLengths),
    regression: await b.writeTyped(b.rel(split, 'regression'), 'float32', [N], a.regression),
    labels3: await b.writeTyped(b.rel(split, 'labels3'), 'uint8', [N], l3),
    labels7: await b.writeTyped(b.rel(split, 'labels7'), 'uint8', [N], l7),
  };
  const samplesFile = `${split}/samples.json`;
  await b.writeJson(samplesFile, { ids: a.ids, rawText: a.ids.map(() => '') });
  return {
    count: N,
    arrays,
    samplesFile,
    labelCounts: { three: classCounts(l3, 3), seven: classCounts(l7, 7) },
    zeroedNegInfAudio: 0,
  };
}

/** Commits a synthetic store's manifest (the source is recorded as an empty MMSA pickle). */
export async function commitSyntheticStore(
  b: StoreBuilder,
  name: string,
  aligned: boolean,
  dims: SyntheticDims,
  splits: Record<SplitName, SplitManifest>,
): Promise<DatasetManifest> {
  const manifest: DatasetManifest = {
    format: 'cider-feature-store',
    version: 1,
    name,
    createdAt: new Date().toISOString(),
    source: { kind: 'mmsa-pickle', files: [], bytes: 0 },
    aligned,
    dims,
    splits,
    warnings: [],
  };
  await b.commit(manifest);
  return manifest;
}

/**
 * Writes a tiny BERT (hidden 16, one layer) over `vocab` with bert-base-uncased's specials placed
 * in it; `adjust` may change the tensors (e.g. plant directions in the word embeddings) before they
 * are saved.
 */
export function writeTinyVocabBert(
  prefix: string,
  vocab: string[],
  seed: number,
  adjust?: (tensors: ReturnType<typeof tinyBertTensors>, hidden: number) => void,
): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  vocab[0] = '[PAD]';
  vocab[100] = '[UNK]';
  vocab[101] = '[CLS]';
  vocab[102] = '[SEP]';
  vocab[103] = '[MASK]';
  const config = {
    ...TINY_CONFIG,
    hidden_size: 16,
    intermediate_size: 32,
    num_attention_heads: 2,
    num_hidden_layers: 1,
    vocab_size: vocab.length,
  };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  writeFileSync(join(dir, 'vocab.txt'), vocab.join('\n') + '\n');
  const tensors = tinyBertTensors(config, seed);
  adjust?.(tensors, config.hidden_size);
  writeFileSync(join(dir, 'model.safetensors'), serializeSafetensors(tensors, { format: 'pt' }));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function writeSyntheticStore(
  dir: string,
  o: SyntheticOptions = {},
): Promise<{ dir: string; manifest: DatasetManifest }> {
  const sizes = o.sizes ?? { train: 60, valid: 30, test: 30 };
  const L = o.L ?? 8;
  const da = o.da ?? 3;
  const dv = o.dv ?? 4;
  const dl = o.dl ?? 12;
  const aligned = o.aligned ?? true;
  const Ta = aligned ? L : (o.Ta ?? 12);
  const Tv = aligned ? L : (o.Tv ?? 10);
  const rng = new Rng(o.seed ?? 7);
  const b = await StoreBuilder.create(dir);
  const splits = {} as Record<SplitName, SplitManifest>;
  for (const split of SPLITS) {
    const N = sizes[split];
    const ids3 = new Int32Array(N * 3 * L);
    const text = new Float32Array(N * L * dl);
    const audio = new Float32Array(N * Ta * da);
    const vision = new Float32Array(N * Tv * dv);
    const aLen = new Int32Array(N);
    const vLen = new Int32Array(N);
    const reg = new Float32Array(N);
    for (let i = 0; i < N; i++) {
      const u = rng.next();
      const s = u < 0.1 ? 0 : u < 0.55 ? -1 : 1;
      reg[i] = s === 0 ? 0 : s * Math.round(1 + rng.next() * 4) * 0.5;
      const len = 4 + rng.int(0, L - 3);
      const base = i * 3 * L;
      for (let t = 0; t < len; t++) {
        const range =
          t === 0 || t === len - 1
            ? null
            : rng.next() < 0.6
              ? s > 0
                ? WORDS.pos
                : s < 0
                  ? WORDS.neg
                  : WORDS.neu
              : WORDS.neu;
        ids3[base + t] = t === 0 ? 101 : t === len - 1 ? 102 : rng.int(range![0], range![1]);
        ids3[base + L + t] = 1;
        for (let k = 0; k < dl; k++) text[(i * L + t) * dl + k] = 0.5 * rng.normal() + (k === 0 ? s : 0);
      }
      aLen[i] = aligned ? len : 3 + rng.int(0, Ta - 2);
      vLen[i] = aligned ? len : 3 + rng.int(0, Tv - 2);
      for (let t = 0; t < aLen[i]; t++)
        for (let k = 0; k < da; k++) audio[(i * Ta + t) * da + k] = 0.5 * rng.normal() + (k === 0 ? 0.8 * s : 0);
      for (let t = 0; t < vLen[i]; t++) for (let k = 0; k < dv; k++) vision[(i * Tv + t) * dv + k] = 0.5 * rng.normal();
    }
    splits[split] = await writeSplit(b, split, {
      ids: Array.from({ length: N }, (_, i) => `${split}-${i}`),
      dims: { L, Ta, da, Tv, dv, dl },
      ids3,
      text,
      audio,
      vision,
      audioLengths: aLen,
      visionLengths: vLen,
      regression: reg,
    });
  }
  const manifest = await commitSyntheticStore(b, o.name ?? 'synthetic', aligned, { L, Ta, da, Tv, dv, dl }, splits);
  return { dir, manifest };
}

/** A tiny BERT whose vocabulary puts the specials where bert-base-uncased has them (140 ids). */
export function writeTinyBaseCompatibleBert(seed = 3): { dir: string; cleanup: () => void } {
  const vocab = Array.from({ length: 140 }, (_, i) => `[unused${i}]`);
  for (let i = 104; i < 140; i++) vocab[i] = `word${i}`;
  return writeTinyVocabBert('cider-tinybert-base-', vocab, seed);
}

/** Small, fast model options for tests (the paper's shapes are in the defaults). */
export const TINY_MODEL = { d: 8, layers: 1, heads: 2 } as const;
