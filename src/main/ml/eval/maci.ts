/**
 * Model-Agnostic Causal Inference (spec section 5): the bias-word dictionary, counterfactual texts
 * and debiased prediction argmax(log P(y | missing view) - tau * log P(y | counterfactual view)).
 */
import type { TauRule } from '../../../shared/contract/training';
import type { BalancedWeights } from './balanced';
import { badArgument, requireInteger, requireLength } from './errors';
import type { NumClasses } from './labels';
import { MASK_ID, SPECIAL_TOKEN_IDS } from './missing';
import {
  type MetricName,
  type Metrics,
  type Truth,
  classificationMetrics,
  metricNames,
  meanNll,
  metricValue,
  selectionBetter,
  selectionMetricName,
  selectionScore,
  truthClasses,
  type SelectionName,
} from './metrics';

/** One dictionary word with the counts the UI shows. */
export interface BiasWord {
  /** BERT token id */
  id: number;
  /** occurrences per class in the training split (length C), repeats within a sample included */
  counts: number[];
  /** occurrences over all classes (the frequency ranking key) */
  total: number;
  /** coefficient of variation of the counts it was judged on (3-class: negative and positive only) */
  cv: number;
}

/** Plain data (no Set), so it can be stored and sent to the UI as is. */
export interface BiasDictionary {
  numClasses: NumClasses;
  /** most frequent first; ties by ascending id */
  words: BiasWord[];
  /** the kept ids, ascending */
  ids: number[];
  /** K: at most this many words */
  size: number;
  minCv: number;
  /** ids judged on cv (non-special, seen in the split) */
  candidateCount: number;
  /** 3-class only: ids seen only in neutral samples, skipped (see biasDictionary) */
  skippedNeutralOnly: number;
}

export interface BiasDictionaryOptions {
  /** K, default 100 */
  size?: number;
  /** keep words with cv >= minCv, default 0.1 */
  minCv?: number;
}

/** Population coefficient of variation std / mean, std with ddof = 0 like numpy.std's default. */
export function coefficientOfVariation(counts: readonly number[]): number {
  const n = counts.length;
  let sum = 0;
  for (const c of counts) sum += c;
  const mean = sum / n;
  let sq = 0;
  for (const c of counts) sq += (c - mean) * (c - mean);
  return Math.sqrt(sq / n) / mean;
}

/**
 * The bias-word dictionary from the TRAINING split's token ids (B, 3, L) (row 0 ids, row 1
 * attention mask) and its labels.
 *
 * For every non-special id (PAD 0, UNK 100, CLS 101, SEP 102, MASK 103 excluded) at a valid
 * position, count every occurrence per class. cv = std / mean (population std, ddof = 0) over the
 * negative and positive counts for the 3-class task (the neutral count is left out, as in the
 * reference) and over all seven counts for the 7-class task. Keep ids with cv >= minCv, then the
 * `size` most frequent by total count over ALL classes (neutral included), ties broken by
 * ascending id so the dictionary never depends on iteration order.
 *
 * Named deviation ("neutral-only words"): in the 3-class task a word seen only in neutral samples
 * has mean 0 and no cv; the reference then reuses the previous word's cv, which makes the
 * dictionary depend on vocabulary order. We skip such words and report how many were skipped.
 */
export function biasDictionary(
  text: ArrayLike<number>,
  batch: number,
  textSteps: number,
  truth: Truth,
  numClasses: NumClasses,
  options: BiasDictionaryOptions = {},
): BiasDictionary {
  const fn = 'biasDictionary';
  if (numClasses !== 3 && numClasses !== 7)
    throw badArgument(fn, 'numClasses', `must be 3 or 7, got ${String(numClasses)}`);
  requireInteger(fn, 'batch', batch, 0);
  requireInteger(fn, 'textSteps', textSteps, 1);
  requireLength(fn, 'text', text.length, batch * 3 * textSteps, `(B=${batch}, 3, L=${textSteps})`);
  const size = options.size ?? 100;
  const minCv = options.minCv ?? 0.1;
  requireInteger(fn, 'options.size', size, 0);
  if (!Number.isFinite(minCv)) throw badArgument(fn, 'options.minCv', `must be a finite number, got ${minCv}`);
  const labels = truthClasses(fn, truth, batch, numClasses);

  const counts = new Map<number, number[]>();
  for (let b = 0; b < batch; b++) {
    const row = b * 3 * textSteps;
    for (let t = 0; t < textSteps; t++) {
      if (text[row + textSteps + t] !== 1) continue;
      const id = text[row + t];
      if (SPECIAL_TOKEN_IDS.has(id)) continue;
      let c = counts.get(id);
      if (!c) counts.set(id, (c = new Array<number>(numClasses).fill(0)));
      c[labels[b]]++;
    }
  }

  const kept: BiasWord[] = [];
  let skippedNeutralOnly = 0;
  for (const [id, c] of counts) {
    const judged = numClasses === 3 ? [c[0], c[2]] : c;
    if (numClasses === 3 && c[0] + c[2] === 0) {
      skippedNeutralOnly++;
      continue;
    }
    const cv = coefficientOfVariation(judged);
    if (cv >= minCv) kept.push({ id, counts: c, total: c.reduce((s, x) => s + x, 0), cv });
  }
  kept.sort((a, b) => b.total - a.total || a.id - b.id);
  const words = kept.slice(0, size);
  return {
    numClasses,
    words,
    ids: words.map((w) => w.id).sort((a, b) => a - b),
    size,
    minCv,
    candidateCount: counts.size,
    skippedNeutralOnly,
  };
}

/**
 * Counterfactual text of a batch (B, 3, L): at valid positions keep special tokens ([CLS], [SEP],
 * [UNK] from the missing view, ...) and dictionary words, replace every other token by [MASK]
 * (103); padding, the attention mask and segment ids are unchanged. Start from the MISSING view's
 * ids: the counterfactual view pairs this text with the same missing audio and vision.
 */
export function counterfactualText(
  text: ArrayLike<number>,
  batch: number,
  textSteps: number,
  dictionary: BiasDictionary | readonly number[],
): Int32Array {
  const fn = 'counterfactualText';
  requireInteger(fn, 'batch', batch, 0);
  requireInteger(fn, 'textSteps', textSteps, 1);
  requireLength(fn, 'text', text.length, batch * 3 * textSteps, `(B=${batch}, 3, L=${textSteps})`);
  const keepIds = new Set('ids' in dictionary ? dictionary.ids : dictionary);
  const out = Int32Array.from(text);
  for (let b = 0; b < batch; b++) {
    const row = b * 3 * textSteps;
    for (let t = 0; t < textSteps; t++) {
      if (out[row + textSteps + t] !== 1) continue;
      const id = out[row + t];
      if (!SPECIAL_TOKEN_IDS.has(id) && !keepIds.has(id)) out[row + t] = MASK_ID;
    }
  }
  return out;
}

/** tau in {0.0, 0.1, ..., 3.0}, computed as i / 10. */
export function tauGrid(): number[] {
  return Array.from({ length: 31 }, (_, i) => i / 10);
}

/** log P(missing) - tau * log P(counterfactual), (N, C) flattened; its argmax is the debiased prediction. */
export function debiasedScores(
  missing: ArrayLike<number>,
  counterfactual: ArrayLike<number>,
  tau: number,
): Float64Array {
  if (missing.length !== counterfactual.length)
    throw badArgument(
      'debiasedScores',
      'counterfactual',
      `has ${counterfactual.length} scores, missing has ${missing.length}`,
    );
  if (!Number.isFinite(tau)) throw badArgument('debiasedScores', 'tau', `must be finite, got ${tau}`);
  const out = new Float64Array(missing.length);
  // tau = 0 must be exactly the missing view's prediction even where log P(counterfactual) = -inf
  for (let i = 0; i < out.length; i++) {
    out[i] = tau === 0 ? missing[i] : missing[i] - tau * counterfactual[i];
    // -inf - tau * -inf: both views gave probability 0; say so here rather than as a NaN score later
    if (Number.isNaN(out[i]))
      throw badArgument(
        'debiasedScores',
        'missing/counterfactual',
        `give NaN at flat index ${i} (missing=${missing[i]}, counterfactual=${counterfactual[i]}, tau=${tau})`,
      );
  }
  return out;
}

/** Model outputs of one split for MACI. */
export interface MaciSplit {
  /** log P(y | missing view), (N, C) flattened */
  missing: ArrayLike<number>;
  /** log P(y | counterfactual view), (N, C) flattened */
  counterfactual: ArrayLike<number>;
  truth: Truth;
  /** per-sample weights for the selection metric (the balanced-validation rule); none = all 1 */
  weights?: ArrayLike<number>;
}

/** NaN (e.g. Non0 with no non-neutral sample) never wins a maximum. */
function better(a: number, b: number): boolean {
  return !Number.isNaN(a) && (Number.isNaN(b) || a > b);
}

export interface TauSelection {
  tau: number;
  metrics: Metrics;
  /** the selection metric at every tau of the grid (for the UI's curve; the loss itself for validation_loss) */
  curve: number[];
  /** what tau was chosen by */
  selectionMetric: SelectionName;
}

/**
 * The tau with the best selection metric on a split (default Non0_acc_2 / Acc_7; or the run's own
 * choice, see contract/training.ts), weighted by the split's weights when it has them (the
 * balanced-validation rule); ties -> the lower loss of the debiased scores, then the smallest tau.
 */
export function selectTau(
  split: MaciSplit,
  numClasses: NumClasses,
  taus: readonly number[] = tauGrid(),
  metric: SelectionName = selectionMetricName(numClasses),
): TauSelection {
  const sorted = checkTaus('selectTau', taus);
  const classes = truthClasses('selectTau', split.truth, split.missing.length / numClasses, numClasses);
  let best: { tau: number; metrics: Metrics; score: number; loss: number } | null = null;
  const curve: number[] = [];
  for (const tau of sorted) {
    const scores = debiasedScores(split.missing, split.counterfactual, tau);
    const metrics = classificationMetrics(scores, numClasses, split.truth, split.weights);
    const loss = meanNll(scores, numClasses, classes, split.weights);
    const score = selectionScore(metrics, metric, loss);
    curve.push(metric === 'validation_loss' ? loss : score);
    if (selectionBetter({ score, loss }, best)) best = { tau, metrics, score, loss };
  }
  // every score NaN: the smallest tau, as before
  if (best === null) {
    const scores = debiasedScores(split.missing, split.counterfactual, sorted[0]);
    best = { tau: sorted[0], metrics: classificationMetrics(scores, numClasses, split.truth), score: NaN, loss: NaN };
  }
  return { tau: best.tau, metrics: best.metrics, curve, selectionMetric: metric };
}

function checkTaus(fn: string, taus: readonly number[]): number[] {
  if (taus.length === 0) throw badArgument(fn, 'taus', 'is empty');
  for (const t of taus)
    if (!Number.isFinite(t) || t < 0) throw badArgument(fn, 'taus', `must be finite and >= 0, got ${t}`);
  return [...taus].sort((a, b) => a - b);
}

export const REFERENCE_PROTOCOL_LABEL = 'reference protocol (max over tau on test)';

/**
 * How tau is chosen: 'validation' (the selection metric on the validation split), 'balanced'
 * (the same on the validation split re-weighted so bias words carry no label information, see
 * balanced.ts), 'reference' (the best on the TEST split, as the authors' code does: optimistic,
 * always labelled).
 */
export { TAU_RULES, type TauRule } from '../../../shared/contract/training';

export const TAU_RULE_LABELS: Record<TauRule, string> = {
  validation: 'validation',
  balanced: 'balanced validation',
  reference: REFERENCE_PROTOCOL_LABEL,
};

/** One rule's choice: its tau and the test metrics at that tau. */
export interface TauChoice {
  tau: number;
  /** test metrics at this tau */
  test: Metrics;
  /** the split tau was chosen on, at this tau (weighted for 'balanced'; the test split for 'reference') */
  chosenOn: Metrics;
  /** the selection metric per tau on that split (same order as taus) */
  curve: number[];
}

export interface MaciEvaluation {
  numClasses: NumClasses;
  taus: number[];
  selectionMetric: SelectionName;
  /** the rule behind selectedTau / validation / test (default 'validation') */
  tauRule: TauRule;
  /** tau chosen by tauRule (by the selection metric; ties: lower loss, then smaller tau) */
  selectedTau: number;
  /** validation metrics at the selected tau (unweighted) */
  validation: Metrics;
  /** test metrics at the selected tau: the figures to report */
  test: Metrics;
  /** every rule's choice, for showing all three taus; balanced is null without weights */
  byRule: { validation: TauChoice; balanced: TauChoice | null; reference: TauChoice };
  /** the balanced rule's strata and effective sample size (null when it was not computed) */
  balanced: Omit<BalancedWeights, 'weights'> | null;
  /** test metrics at tau = 0, i.e. the missing view without debiasing, for comparison */
  testWithoutDebiasing: Metrics;
  /** validation selection metric per tau (same order as taus) */
  validationCurve: number[];
  /** every test metric per tau (same order as taus), for plots */
  testCurves: Partial<Record<MetricName, number[]>>;
  /**
   * The reference's protocol, optimistic because tau is tuned on the test set and each metric gets
   * its own tau: per metric the maximum over tau on TEST, with the smallest tau attaining it.
   */
  referenceProtocol: {
    label: typeof REFERENCE_PROTOCOL_LABEL;
    values: Partial<Record<MetricName, { value: number; tau: number }>>;
  };
}

/** MACI end to end on a validation and a test split (spec 5). */
export function maciEvaluation(args: {
  numClasses: NumClasses;
  validation: MaciSplit;
  test: MaciSplit;
  taus?: readonly number[];
  /** default: the task's (Non0_acc_2 / Acc_7) */
  selectionMetric?: SelectionName;
  /** weights of the validation samples for the balanced rule (balanced.ts) */
  balanced?: BalancedWeights;
  /** default 'validation'; 'balanced' needs `balanced` */
  tauRule?: TauRule;
}): MaciEvaluation {
  const { numClasses, validation, test } = args;
  const taus = checkTaus('maciEvaluation', args.taus ?? tauGrid());
  const tauRule = args.tauRule ?? 'validation';
  if (tauRule === 'balanced' && !args.balanced)
    throw badArgument('maciEvaluation', 'balanced', 'the balanced tau rule needs the validation weights');
  const metric = args.selectionMetric;
  const plain = selectTau({ ...validation, weights: undefined }, numClasses, taus, metric);
  const weighted = args.balanced
    ? selectTau({ ...validation, weights: args.balanced.weights }, numClasses, taus, metric)
    : null;
  const onTest = selectTau({ ...test, weights: undefined }, numClasses, taus, metric);
  const chosen = tauRule === 'balanced' ? weighted! : tauRule === 'reference' ? onTest : plain;
  const names = metricNames(numClasses);
  const testCurves: Partial<Record<MetricName, number[]>> = {};
  for (const name of names) testCurves[name] = [];
  const referenceValues: Partial<Record<MetricName, { value: number; tau: number }>> = {};
  const testAt = new Map<number, Metrics>();
  for (const tau of taus) {
    const m = classificationMetrics(debiasedScores(test.missing, test.counterfactual, tau), numClasses, test.truth);
    testAt.set(tau, m);
    for (const name of names) {
      const v = metricValue(m, name);
      testCurves[name]!.push(v);
      const current = referenceValues[name];
      if (current === undefined || better(v, current.value)) referenceValues[name] = { value: v, tau };
    }
  }
  const choice = (c: TauSelection): TauChoice => ({
    tau: c.tau,
    test: testAt.get(c.tau)!,
    chosenOn: c.metrics,
    curve: c.curve,
  });
  const validationAt = (tau: number): Metrics =>
    tau === plain.tau
      ? plain.metrics
      : classificationMetrics(
          debiasedScores(validation.missing, validation.counterfactual, tau),
          numClasses,
          validation.truth,
        );
  let balancedInfo: Omit<BalancedWeights, 'weights'> | null = null;
  if (args.balanced) {
    const { weights: _weights, ...rest } = args.balanced;
    balancedInfo = rest;
  }
  return {
    numClasses,
    taus,
    selectionMetric: chosen.selectionMetric,
    tauRule,
    selectedTau: chosen.tau,
    validation: validationAt(chosen.tau),
    test: testAt.get(chosen.tau)!,
    byRule: { validation: choice(plain), balanced: weighted && choice(weighted), reference: choice(onTest) },
    balanced: balancedInfo,
    testWithoutDebiasing: classificationMetrics(
      debiasedScores(test.missing, test.counterfactual, 0),
      numClasses,
      test.truth,
    ),
    validationCurve: plain.curve,
    testCurves,
    referenceProtocol: { label: REFERENCE_PROTOCOL_LABEL, values: referenceValues },
  };
}
