/**
 * A planted-shortcut benchmark for MACI's tau rules, written by the tests themselves.
 *
 * Text (bert-base-uncased specials, a tiny BERT vocabulary of 500 ids): every sample has filler
 * words (ids 200..449, equally likely in every class) and, with probability `sentimentRate` (0.1)
 * per content token, a sentiment word of its class (positive 120..159, negative 160..199): the
 * genuine, weaker signal, spread over 80 words so that none is frequent enough to enter the bias
 * dictionary (the dictionary keeps the 100 most frequent words with cv >= 0.1; there are 250
 * fillers, each more frequent than any sentiment word). The shortcut word (id 110) appears in
 * `shortcut.positive` (0.9) of the positive samples and `shortcut.negative` (0.05) of the negative
 * ones; in the OOD test split the two rates are swapped. Audio and vision carry a faint copy of
 * the sentiment (AV_SIGNAL * s in channel 0, noise 1). Labels: negative -1.5 or positive +1.5
 * (10 % neutral 0), so the 3-class task's Non0 metrics see mostly the two polar classes.
 *
 * Why these numbers (measured with a debug print of the dictionary and of P(y | counterfactual)
 * per label and shortcut presence): the frozen tiny BERT "knows" the sentiment words (one shared
 * direction of strength SENTIMENT_STRENGTH = 2) and gives the shortcut word a salient direction of
 * its own (SHORTCUT_STRENGTH = 4). The dictionary is then the shortcut word plus 99 fillers, no
 * sentiment word, so MACI's counterfactual text is the shortcut (and fillers) with every sentiment
 * word [MASK]ed, which is exactly the bias MACI should subtract. With a weaker shortcut direction
 * (2) the 15-epoch model leans on it only mildly and its counterfactual mostly encodes "text
 * [MASK]ed -> negative" (P(positive | cf) 0.26-0.30 with the word, 0.13-0.22 without), so tau
 * mainly recalibrates and helps OOD little (Non0_acc_2 plain 0.59, balanced tau 0.3: 0.60, best
 * tau on test 0.61). With 4 the model learns the shortcut first (seed 5: IID Non0_acc_2 0.87, OOD
 * 0.27), the counterfactual carries it (P(positive | cf) ~0.4-0.5 with the word, ~0.07 without),
 * and the balanced rule's tau 0.8 lifts OOD Non0_acc_2 to 0.48 (plain validation rule: tau 0.3,
 * 0.30; reference, tuned on the OOD test: tau 1.2, 0.54) while costing IID accuracy (0.81), as it
 * should. Learning rates 1e-2 and 5e-3 (default 1e-3) collapsed the model to a constant prediction.
 *
 * Two stores share train and validation (same seed, same draws) and differ in the test split: the
 * IID store's test split is drawn like training, the OOD store's has the shortcut flipped.
 */
import { join } from 'node:path';
import {
  StoreBuilder,
  SPLITS,
  type DatasetManifest,
  type SplitManifest,
  type SplitName,
} from '../../src/main/data/featureStore';
import { Rng } from '../../src/main/ml/random';
import { commitSyntheticStore, writeSplit, writeTinyVocabBert } from './syntheticRuns';

export const SHORTCUT_ID = 110;
const POSITIVE = [120, 160] as const;
const NEGATIVE = [160, 200] as const;
const FILLER = [200, 450] as const;
export const SHORTCUT_VOCAB = 500;
/** the faint audio/vision copy of the sentiment (mean shift of channel 0 per step, noise 1) */
const AV_SIGNAL = 0.05;
/** how far the sentiment words' embeddings lie along their shared direction */
const SENTIMENT_STRENGTH = 2;
/** how salient the shortcut word's embedding is (see the doc comment: 2 is too weak to be learned first) */
const SHORTCUT_STRENGTH = 4;

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
  const dims = { L, Ta: L, da, Tv: L, dv, dl };
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
        for (let k = 0; k < da; k++) audio[(i * L + t) * da + k] = rng.normal() + (k === 0 ? AV_SIGNAL * s : 0);
        for (let k = 0; k < dv; k++) vision[(i * L + t) * dv + k] = rng.normal() + (k === 0 ? AV_SIGNAL * s : 0);
      }
    }
    splits[split] = await writeSplit(b, split, {
      ids: Array.from({ length: N }, (_, i) => `${name}-${split}-${i}`),
      dims,
      ids3,
      text,
      audio,
      vision,
      audioLengths: lengths,
      visionLengths: lengths,
      regression: reg,
    });
  }
  return commitSyntheticStore(b, name, true, dims, splits);
}

/** The IID store and its OOD twin (test split with the shortcut's association flipped). */
export async function writeShortcutBenchmark(
  dir: string,
  options: ShortcutOptions = {},
): Promise<{ iid: string; ood: string }> {
  const o: Required<ShortcutOptions> = {
    sizes: options.sizes ?? { train: 400, valid: 200, test: 200 },
    shortcut: options.shortcut ?? { positive: 0.9, negative: 0.05 },
    sentimentRate: options.sentimentRate ?? 0.1,
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
  const vocab = Array.from({ length: SHORTCUT_VOCAB }, (_, i) => `[unused${i}]`);
  vocab[SHORTCUT_ID] = 'shortcut';
  for (let i = POSITIVE[0]; i < POSITIVE[1]; i++) vocab[i] = `good${i}`;
  for (let i = NEGATIVE[0]; i < NEGATIVE[1]; i++) vocab[i] = `bad${i}`;
  for (let i = FILLER[0]; i < FILLER[1]; i++) vocab[i] = `filler${i}`;
  return writeTinyVocabBert('cider-tinybert-shortcut-', vocab, seed, (tensors, H) => {
    // like a pretrained encoder, it knows what the sentiment words mean (one shared direction), and
    // nothing about the shortcut word, whose embedding stays random
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
  });
}
