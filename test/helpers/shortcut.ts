/**
 * A planted-shortcut benchmark for MACI's tau rules, written by the tests themselves.
 *
 * Text (bert-base-uncased specials, a tiny BERT vocabulary of 500 ids): every sample has filler
 * words (ids 200..449, equally likely in every class) and, with probability `sentimentRate` per
 * content token, a sentiment word of its class (positive 120..159, negative 160..199): the genuine,
 * weaker signal, spread over 80 words so that none is frequent enough to enter the bias dictionary
 * (the dictionary keeps the 100 most frequent words with cv >= 0.1, and there are 250 fillers).
 * The shortcut word (id 110) appears in `shortcut.positive` of the positive samples and
 * `shortcut.negative` of the negative ones; in the OOD test split the two rates are swapped.
 * Audio and vision carry a faint copy of the sentiment (0.25 * s in channel 0, noise 1).
 * Labels: negative -1.5 or positive +1.5 (10 % neutral 0), so the 3-class task's Non0 metrics see
 * mostly the two polar classes.
 *
 * Two stores share train and validation (same seed, same draws) and differ in the test split: the
 * IID store's test split is drawn like training, the OOD store's has the shortcut flipped.
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

export const SHORTCUT_ID = 110;
const POSITIVE = [120, 160] as const;
const NEGATIVE = [160, 200] as const;
const FILLER = [200, 450] as const;
export const SHORTCUT_VOCAB = 500;
const AV = Number(process.env.AV ?? 0.05);
const SENTIMENT_STRENGTH = Number(process.env.SSTR ?? 1.5);
const SHORTCUT_STRENGTH = Number(process.env.CSTR ?? 2);

export interface ShortcutOptions {
  sizes?: Record<SplitName, number>;
  /** P(shortcut word | positive) and P(shortcut word | negative) in train, valid and IID test */
  shortcut?: { positive: number; negative: number };
  sentimentRate?: number;
  L?: number;
  seed?: number;
}

type Draw = (rng: Rng, s: -1 | 0 | 1) => boolean;

async function writeStore(
  dir: string,
  o: Required<ShortcutOptions>,
  testShortcut: Draw,
  name: string,
): Promise<DatasetManifest> {
  const { L } = o;
  const da = 3;
  const dv = 3;
  const dl = 4;
  const b = await StoreBuilder.create(dir);
  const splits = {} as Record<SplitName, SplitManifest>;
  const trainShortcut: Draw = (rng, s) =>
    rng.next() <
    (s > 0 ? o.shortcut.positive : s < 0 ? o.shortcut.negative : 0.5 * (o.shortcut.positive + o.shortcut.negative));
  for (const [si, split] of SPLITS.entries()) {
    // each split has its own stream, so train and valid are the same in both stores
    const rng = new Rng(o.seed * 31 + si);
    const hasShortcut = split === 'test' ? testShortcut : trainShortcut;
    const N = o.sizes[split];
    const ids3 = new Int32Array(N * 3 * L);
    const text = new Float32Array(N * L * dl);
    const audio = new Float32Array(N * L * da);
    const vision = new Float32Array(N * L * dv);
    const lengths = new Int32Array(N);
    const reg = new Float32Array(N);
    for (let i = 0; i < N; i++) {
      const u = rng.next();
      const s: -1 | 0 | 1 = u < 0.1 ? 0 : u < 0.55 ? -1 : 1;
      reg[i] = 1.5 * s;
      const len = L - rng.int(0, 3);
      lengths[i] = len;
      const base = i * 3 * L;
      const shortcutAt = hasShortcut(rng, s) ? 1 + rng.int(0, len - 2) : -1;
      for (let t = 0; t < len; t++) {
        let id: number;
        if (t === 0) id = 101;
        else if (t === len - 1) id = 102;
        else if (t === shortcutAt) id = SHORTCUT_ID;
        else if (s !== 0 && rng.next() < o.sentimentRate)
          id = s > 0 ? rng.int(POSITIVE[0], POSITIVE[1]) : rng.int(NEGATIVE[0], NEGATIVE[1]);
        else id = rng.int(FILLER[0], FILLER[1]);
        ids3[base + t] = id;
        ids3[base + L + t] = 1;
        for (let k = 0; k < dl; k++) text[(i * L + t) * dl + k] = rng.normal();
        for (let k = 0; k < da; k++) audio[(i * L + t) * da + k] = rng.normal() + (k === 0 ? AV * s : 0);
        for (let k = 0; k < dv; k++) vision[(i * L + t) * dv + k] = rng.normal() + (k === 0 ? AV * s : 0);
      }
    }
    const l3 = Uint8Array.from(reg, (r) => label3(r));
    const l7 = Uint8Array.from(reg, (r) => label7(r));
    const arrays: Partial<Record<string, ArrayEntry>> = {
      textBert: await b.writeTyped(b.rel(split, 'textBert'), 'int32', [N, 3, L], ids3),
      text: await b.writeTyped(b.rel(split, 'text'), 'float32', [N, L, dl], text),
      audio: await b.writeTyped(b.rel(split, 'audio'), 'float32', [N, L, da], audio),
      vision: await b.writeTyped(b.rel(split, 'vision'), 'float32', [N, L, dv], vision),
      audioLengths: await b.writeTyped(b.rel(split, 'audioLengths'), 'int32', [N], lengths),
      visionLengths: await b.writeTyped(b.rel(split, 'visionLengths'), 'int32', [N], lengths),
      regression: await b.writeTyped(b.rel(split, 'regression'), 'float32', [N], reg),
      labels3: await b.writeTyped(b.rel(split, 'labels3'), 'uint8', [N], l3),
      labels7: await b.writeTyped(b.rel(split, 'labels7'), 'uint8', [N], l7),
    };
    const samplesFile = `${split}/samples.json`;
    await b.writeJson(samplesFile, {
      ids: Array.from({ length: N }, (_, i) => `${name}-${split}-${i}`),
      rawText: Array.from({ length: N }, () => ''),
    });
    splits[split] = {
      count: N,
      arrays,
      samplesFile,
      labelCounts: { three: classCounts(l3, 3), seven: classCounts(l7, 7) },
      zeroedNegInfAudio: 0,
    };
  }
  const manifest: DatasetManifest = {
    format: 'cider-feature-store',
    version: 1,
    name,
    createdAt: new Date().toISOString(),
    source: { kind: 'mmsa-pickle', files: [], bytes: 0 },
    aligned: true,
    dims: { L, Ta: L, da, Tv: L, dv, dl },
    splits,
    warnings: [],
  };
  await b.commit(manifest);
  return manifest;
}

/** The IID store and its OOD twin (test split with the shortcut's association flipped). */
export async function writeShortcutBenchmark(
  dir: string,
  options: ShortcutOptions = {},
): Promise<{ iid: string; ood: string }> {
  const o: Required<ShortcutOptions> = {
    sizes: options.sizes ?? { train: 400, valid: 200, test: 200 },
    shortcut: options.shortcut ?? { positive: 0.9, negative: 0.05 },
    sentimentRate: options.sentimentRate ?? Number(process.env.SENT ?? 0.06),
    L: options.L ?? 14,
    seed: options.seed ?? 5,
  };
  const { positive, negative } = o.shortcut;
  const middle = 0.5 * (positive + negative);
  const iid: Draw = (rng, s) => rng.next() < (s > 0 ? positive : s < 0 ? negative : middle);
  const flipped: Draw = (rng, s) => rng.next() < (s > 0 ? negative : s < 0 ? positive : middle);
  await writeStore(join(dir, 'iid'), o, iid, 'shortcut-iid');
  await writeStore(join(dir, 'ood'), o, flipped, 'shortcut-ood');
  return { iid: join(dir, 'iid'), ood: join(dir, 'ood') };
}

/** A tiny BERT (hidden 16, one layer) whose vocabulary has bert-base-uncased's specials and 500 ids. */
export function writeShortcutBert(seed = 3): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'cider-tinybert-shortcut-'));
  const vocab = Array.from({ length: SHORTCUT_VOCAB }, (_, i) => `[unused${i}]`);
  vocab[0] = '[PAD]';
  vocab[100] = '[UNK]';
  vocab[101] = '[CLS]';
  vocab[102] = '[SEP]';
  vocab[103] = '[MASK]';
  vocab[SHORTCUT_ID] = 'shortcut';
  for (let i = POSITIVE[0]; i < POSITIVE[1]; i++) vocab[i] = `good${i}`;
  for (let i = NEGATIVE[0]; i < NEGATIVE[1]; i++) vocab[i] = `bad${i}`;
  for (let i = FILLER[0]; i < FILLER[1]; i++) vocab[i] = `filler${i}`;
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
  // like a pretrained encoder, it knows what the sentiment words mean (one shared direction), and
  // nothing about the shortcut word, whose embedding stays random
  const H = config.hidden_size;
  const rng = new Rng(seed + 1000);
  const u = Array.from({ length: H }, () => rng.normal());
  const norm = Math.hypot(...u);
  const words = tensors['embeddings.word_embeddings.weight'].data;
  for (let i = POSITIVE[0]; i < NEGATIVE[1]; i++)
    for (let k = 0; k < H; k++) words[i * H + k] += (i < POSITIVE[1] ? 1 : -1) * SENTIMENT_STRENGTH * (u[k] / norm);
  // the shortcut word is salient (a direction of its own), so a small model picks it up quickly
  const v = Array.from({ length: H }, () => rng.normal());
  const vNorm = Math.hypot(...v);
  for (let k = 0; k < H; k++) words[SHORTCUT_ID * H + k] += SHORTCUT_STRENGTH * (v[k] / vNorm);
  writeFileSync(join(dir, 'model.safetensors'), serializeSafetensors(tensors, { format: 'pt' }));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
