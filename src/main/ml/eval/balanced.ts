/**
 * The "balanced validation" tau rule: choose MACI's tau on a validation split re-weighted so that
 * the bias dictionary's words carry no information about the label.
 *
 * Why: the validation split is usually drawn like the training data, so a model that learned a
 * word shortcut is rewarded for it there, any debiasing costs validation accuracy, and the plain
 * validation rule picks tau = 0. Re-weighting the validation samples so that, within every stratum
 * of bias-word presence, the label distribution equals the overall one (w = p(y) / p(y | stratum))
 * removes the shortcut's reward without looking at the test split.
 *
 * The strata: samples are grouped by which of a few dictionary words they contain. The words are
 * taken strongest first, by their bias strength in the TRAINING split (the chi-square statistic of
 * their class counts against an even split, total * cv^2, the quantity the dictionary's cv ranks),
 * and a word is only added when every stratum it creates keeps at least `minStratum` validation
 * samples (otherwise the strata it would split stay merged); at most `maxWords` words, so at most
 * 2^maxWords strata. p(y | stratum) is smoothed towards p(y) with `smoothing` pseudo-samples, so a
 * small stratum is pulled towards weight 1 rather than getting extreme weights.
 *
 * Assumes: the dictionary's words are where the bias lives (a shortcut outside the dictionary is
 * not corrected), and the validation split contains both classes within the shortcut's strata (a
 * stratum with one class gets weights but cannot show the trade-off). It fails when the validation
 * split is too small to keep any word (one stratum: the rule equals the validation rule, and says
 * so) or when the effective sample size collapses (reported with every result).
 */
import { badArgument, requireInteger, requireLength } from './errors';
import type { NumClasses } from './labels';
import type { BiasDictionary } from './maci';

export interface BalancedOptions {
  /** the smallest stratum a word may create, default 20 validation samples */
  minStratum?: number;
  /** at most this many words define the strata, default 4 */
  maxWords?: number;
  /** pseudo-samples pulling p(y | stratum) towards p(y), default 2 */
  smoothing?: number;
}

export interface BalancedStratum {
  /** the stratum's pattern: for each of `words`, whether the sample contains it */
  present: boolean[];
  size: number;
  /** validation label counts in the stratum (length C) */
  labelCounts: number[];
  /** the weight of a sample of class y in this stratum (length C) */
  classWeights: number[];
}

export interface BalancedWeights {
  rule: 'balanced';
  /** per validation sample, normalised to mean 1 */
  weights: Float64Array;
  /** the dictionary ids whose presence defines the strata, strongest first */
  words: number[];
  strata: BalancedStratum[];
  n: number;
  /** (sum w)^2 / sum w^2: how many unweighted samples the weighted split is worth */
  effectiveSampleSize: number;
  minStratum: number;
  maxWords: number;
  smoothing: number;
}

/** The dictionary's words strongest first: chi-square of the judged class counts against an even split. */
export function biasStrengthOrder(dictionary: BiasDictionary): number[] {
  const strength = (counts: number[]): number => {
    const judged = dictionary.numClasses === 3 ? [counts[0], counts[2]] : counts;
    const total = judged.reduce((s, x) => s + x, 0);
    if (total === 0) return 0;
    const expected = total / judged.length;
    return judged.reduce((s, c) => s + ((c - expected) * (c - expected)) / expected, 0);
  };
  return dictionary.words
    .map((w) => ({ id: w.id, s: strength(w.counts) }))
    .sort((a, b) => b.s - a.s || a.id - b.id)
    .map((w) => w.id);
}

/**
 * Sample weights for the balanced-validation rule from the VALIDATION split's token ids (B, 3, L)
 * (row 0 ids, row 1 attention mask), its class labels, and the dictionary built on the training split.
 */
export function balancedValidationWeights(
  text: ArrayLike<number>,
  batch: number,
  textSteps: number,
  labels: ArrayLike<number>,
  numClasses: NumClasses,
  dictionary: BiasDictionary,
  options: BalancedOptions = {},
): BalancedWeights {
  const fn = 'balancedValidationWeights';
  requireInteger(fn, 'batch', batch, 1);
  requireInteger(fn, 'textSteps', textSteps, 1);
  requireLength(fn, 'text', text.length, batch * 3 * textSteps, `(B=${batch}, 3, L=${textSteps})`);
  requireLength(fn, 'labels', labels.length, batch, `(B=${batch})`);
  const minStratum = options.minStratum ?? 20;
  const maxWords = options.maxWords ?? 4;
  const smoothing = options.smoothing ?? 2;
  requireInteger(fn, 'options.minStratum', minStratum, 1);
  requireInteger(fn, 'options.maxWords', maxWords, 0);
  if (!(smoothing >= 0) || !Number.isFinite(smoothing))
    throw badArgument(fn, 'options.smoothing', `must be finite and >= 0, got ${smoothing}`);
  for (let i = 0; i < batch; i++)
    if (!Number.isInteger(labels[i]) || labels[i] < 0 || labels[i] >= numClasses)
      throw badArgument(fn, `labels[${i}]`, `must be a class in 0..${numClasses - 1}, got ${labels[i]}`);

  // which dictionary words each validation sample contains (valid positions only)
  const inDictionary = new Set(dictionary.ids);
  const contains: Set<number>[] = [];
  for (let b = 0; b < batch; b++) {
    const row = b * 3 * textSteps;
    const found = new Set<number>();
    for (let t = 0; t < textSteps; t++)
      if (text[row + textSteps + t] === 1 && inDictionary.has(text[row + t])) found.add(text[row + t]);
    contains.push(found);
  }

  // add words strongest first while every stratum keeps >= minStratum samples
  const words: number[] = [];
  const keyOf = (b: number, ws: readonly number[]): string => ws.map((w) => (contains[b].has(w) ? '1' : '0')).join('');
  const stratumSizes = (ws: readonly number[]): number[] => {
    const sizes = new Map<string, number>();
    for (let b = 0; b < batch; b++) {
      const k = keyOf(b, ws);
      sizes.set(k, (sizes.get(k) ?? 0) + 1);
    }
    return [...sizes.values()];
  };
  let strataCount = 1;
  for (const id of biasStrengthOrder(dictionary)) {
    if (words.length >= maxWords) break;
    const sizes = stratumSizes([...words, id]);
    // a word in every sample (or none) splits nothing; one that leaves a small stratum is not used
    if (sizes.length > strataCount && Math.min(...sizes) >= minStratum) {
      words.push(id);
      strataCount = sizes.length;
    }
  }

  // p(y) overall, p(y | stratum) smoothed towards it, w = p(y) / p(y | stratum)
  const overall = new Array<number>(numClasses).fill(0);
  for (let b = 0; b < batch; b++) overall[labels[b]]++;
  const prior = overall.map((c) => c / batch);
  const groups = new Map<string, { present: boolean[]; members: number[]; labelCounts: number[] }>();
  for (let b = 0; b < batch; b++) {
    const k = keyOf(b, words);
    let g = groups.get(k);
    if (!g) {
      g = { present: [...k].map((c) => c === '1'), members: [], labelCounts: new Array<number>(numClasses).fill(0) };
      groups.set(k, g);
    }
    g.members.push(b);
    g.labelCounts[labels[b]]++;
  }
  const weights = new Float64Array(batch);
  const strata: BalancedStratum[] = [];
  for (const k of [...groups.keys()].sort()) {
    const g = groups.get(k)!;
    const size = g.members.length;
    const classWeights = prior.map((p, y) => {
      if (p === 0) return 0;
      const conditional = (g.labelCounts[y] + smoothing * p) / (size + smoothing);
      return p / conditional;
    });
    for (const b of g.members) weights[b] = classWeights[labels[b]];
    strata.push({ present: g.present, size, labelCounts: g.labelCounts, classWeights });
  }
  let sum = 0;
  for (const w of weights) sum += w;
  const scale = batch / sum;
  let sumSq = 0;
  for (let b = 0; b < batch; b++) {
    weights[b] *= scale;
    sumSq += weights[b] * weights[b];
  }
  for (const s of strata) s.classWeights = s.classWeights.map((w) => w * scale);
  return {
    rule: 'balanced',
    weights,
    words,
    strata,
    n: batch,
    effectiveSampleSize: (batch * batch) / sumSq,
    minStratum,
    maxWords,
    smoothing,
  };
}

/** One line for results and logs: the rule, its strata and the effective sample size. */
export function describeBalanced(b: BalancedWeights, token: (id: number) => string = (id) => `#${id}`): string {
  const ess = `effective sample size ${b.effectiveSampleSize.toFixed(1)} of ${b.n}`;
  if (b.words.length === 0)
    return `balanced validation: no bias word leaves every stratum >= ${b.minStratum} samples, so one stratum (the plain validation rule); ${ess}`;
  const strata = b.strata
    .map((s) => `${s.present.map((p, i) => `${p ? '+' : '-'}${token(b.words[i])}`).join(' ')} (${s.size})`)
    .join(', ');
  return `balanced validation: w = p(y) / p(y | stratum), ${b.strata.length} strata by presence of ${b.words.map(token).join(', ')}: ${strata}; min stratum ${b.minStratum}, smoothing ${b.smoothing}; ${ess}`;
}
