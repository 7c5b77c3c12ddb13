/**
 * Classification metrics of spec section 6, from model scores (log-probabilities or any scores
 * whose argmax is the prediction), shape (N, C) flattened row-major, and the truth as class labels
 * or regression scores.
 *
 * Definitions (they follow the reference's sklearn calls; the choices are spelled out because the
 * published numbers depend on them):
 * - argmax takes the FIRST maximum on ties, like numpy.argmax.
 * - weighted F1 is sklearn's f1_score(y_true, y_pred, average='weighted', zero_division=0): over
 *   the labels present in truth or prediction, per-class F1 = 2 tp / (2 tp + fp + fn) (0 when
 *   undefined), averaged with weights = the class's support in the truth. A class that only
 *   appears in predictions has weight 0; a class with support that is never predicted has
 *   precision 0 by zero_division and F1 0. zero_division never changes a weighted F1 otherwise.
 * - Acc_3 / F1_3: over the three classes.
 * - Has0_acc_2 / Has0_F1: truth 0 if negative, 1 if neutral or positive; prediction = argmax over
 *   the negative and positive scores only (the neutral score is ignored), 0 negative, 1 positive.
 * - Non0_acc_2 / Non0_F1: samples whose truth is neutral are removed. Prediction = argmax over all
 *   three scores, truth in {negative, positive}. A neutral prediction counts as an error in the
 *   accuracy. In the weighted F1 (the reference passes the 3-valued prediction to sklearn) a
 *   neutral prediction is a false negative of the sample's true class and a false positive of
 *   "neutral", a class with support 0 and so weight 0: it lowers the true class's recall and
 *   does not touch the other class's precision. Non0 metrics are NaN when no sample is
 *   non-neutral.
 * - Acc_7 / F1_7: over the seven classes.
 * Confusion matrices: rows are truth, columns are prediction, counts.
 */
import { badArgument } from './errors';
import { classLabelsFromRegression, type NumClasses } from './labels';

/** The truth of a split: class labels (0..C-1) or regression scores (derived per spec 1). */
export type Truth = { classes: ArrayLike<number> } | { regression: ArrayLike<number> };

export const THREE_CLASS_METRICS = ['Acc_3', 'F1_3', 'Has0_acc_2', 'Has0_F1', 'Non0_acc_2', 'Non0_F1'] as const;
export const SEVEN_CLASS_METRICS = ['Acc_7', 'F1_7'] as const;
export type ThreeClassMetricName = (typeof THREE_CLASS_METRICS)[number];
export type SevenClassMetricName = (typeof SEVEN_CLASS_METRICS)[number];
export type MetricName = ThreeClassMetricName | SevenClassMetricName;

export interface ThreeClassMetrics {
  numClasses: 3;
  /** number of samples */
  n: number;
  /** samples whose truth is not neutral (the Non0 denominator) */
  nonNeutralCount: number;
  values: Record<ThreeClassMetricName, number>;
  confusion: {
    /** 3 x 3, truth negative/neutral/positive x prediction negative/neutral/positive */
    threeClass: number[][];
    /** 2 x 2, truth negative / non-negative x prediction negative / positive (neutral score ignored) */
    has0: number[][];
    /** 2 x 3, truth negative/positive x prediction negative/neutral/positive (the neutral column is all errors) */
    non0: number[][];
  };
}

export interface SevenClassMetrics {
  numClasses: 7;
  n: number;
  values: Record<SevenClassMetricName, number>;
  confusion: {
    /** 7 x 7, truth x prediction, classes -3..+3 */
    sevenClass: number[][];
  };
}

export type Metrics = ThreeClassMetrics | SevenClassMetrics;

/** The metric early stopping, tau selection and best-checkpoint choice use (spec 4). */
export function selectionMetricName(numClasses: NumClasses): 'Non0_acc_2' | 'Acc_7' {
  if (numClasses === 3) return 'Non0_acc_2';
  if (numClasses === 7) return 'Acc_7';
  throw badArgument('selectionMetricName', 'numClasses', `must be 3 or 7, got ${String(numClasses)}`);
}

export function selectionMetric(metrics: Metrics): number {
  return metrics.numClasses === 3 ? metrics.values.Non0_acc_2 : metrics.values.Acc_7;
}

/** A selection metric: one of the task's metrics, or the validation loss (see contract/training.ts). */
export type SelectionName = MetricName | 'validation_loss';

/**
 * Mean negative log-likelihood of the true classes under softmax(scores) per row: the validation
 * loss for log-probabilities (softmax of log-probabilities is the identity) and for debiased scores
 * alike. Rows are log-sum-exp normalised in float64.
 */
export function meanNll(
  scores: ArrayLike<number>,
  numClasses: NumClasses,
  classes: ArrayLike<number>,
  weights?: ArrayLike<number>,
): number {
  const n = classes.length;
  if (scores.length !== n * numClasses)
    throw badArgument('meanNll', 'scores', `has ${scores.length} values for ${n} rows of ${numClasses}`);
  checkWeights('meanNll', weights, n);
  if (n === 0) return NaN;
  let sum = 0;
  let total = 0;
  for (let i = 0; i < n; i++) {
    let max = -Infinity;
    for (let c = 0; c < numClasses; c++) max = Math.max(max, scores[i * numClasses + c]);
    let z = 0;
    for (let c = 0; c < numClasses; c++) z += Math.exp(scores[i * numClasses + c] - max);
    const w = weights ? weights[i] : 1;
    sum += w * (max + Math.log(z) - scores[i * numClasses + classes[i]]);
    total += w;
  }
  return total === 0 ? NaN : sum / total;
}

/**
 * The value a selection maximises: the named metric, or minus the loss for 'validation_loss'.
 * NaN (e.g. Non0 with no non-neutral sample) never wins.
 */
export function selectionScore(metrics: Metrics, name: SelectionName, loss: number): number {
  if (name === 'validation_loss') return -loss;
  return metricValue(metrics, name);
}

/**
 * a is better than b: a strictly higher selection score, or the same score and a strictly lower
 * validation loss (the tie-break every selection uses). NaN scores never win.
 */
export function selectionBetter(
  a: { score: number; loss: number },
  b: { score: number; loss: number } | null,
): boolean {
  if (Number.isNaN(a.score)) return false;
  if (b === null || Number.isNaN(b.score)) return true;
  if (a.score !== b.score) return a.score > b.score;
  if (Number.isNaN(a.loss)) return false;
  if (Number.isNaN(b.loss)) return true;
  // losses equal up to float64 rounding (e.g. debiased scores shifted by a constant) are a tie
  return a.loss < b.loss - 1e-12 * Math.max(1, Math.abs(b.loss));
}

/** Index of the first maximum of scores[offset + j] over j in `columns`, like numpy.argmax. */
function argmaxOver(scores: ArrayLike<number>, offset: number, columns: readonly number[]): number {
  let best = columns[0];
  let bestValue = scores[offset + best];
  for (let k = 1; k < columns.length; k++) {
    const v = scores[offset + columns[k]];
    if (v > bestValue) {
      best = columns[k];
      bestValue = v;
    }
  }
  return best;
}

/** Predicted class per row (first maximum), validating shape and NaN. */
export function predictClasses(scores: ArrayLike<number>, numClasses: NumClasses): Int32Array {
  checkScores('predictClasses', scores, numClasses);
  const n = scores.length / numClasses;
  const all = Array.from({ length: numClasses }, (_, j) => j);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = argmaxOver(scores, i * numClasses, all);
  return out;
}

function checkScores(fn: string, scores: ArrayLike<number>, numClasses: number): void {
  if (numClasses !== 3 && numClasses !== 7)
    throw badArgument(fn, 'numClasses', `must be 3 or 7, got ${String(numClasses)}`);
  if (scores.length % numClasses !== 0)
    throw badArgument(fn, 'scores', `has ${scores.length} entries, not a multiple of numClasses=${numClasses}`);
  for (let i = 0; i < scores.length; i++) {
    if (Number.isNaN(scores[i]))
      throw badArgument(fn, 'scores', `has NaN at row ${Math.floor(i / numClasses)}, column ${i % numClasses}`);
  }
}

/** Class labels of the truth, validated against N and C. */
export function truthClasses(fn: string, truth: Truth, n: number, numClasses: NumClasses): Int32Array {
  let classes: Int32Array;
  if ('regression' in truth) {
    classes = classLabelsFromRegression(truth.regression, numClasses);
  } else {
    classes = new Int32Array(truth.classes.length);
    for (let i = 0; i < truth.classes.length; i++) {
      const c = truth.classes[i];
      if (!Number.isInteger(c) || c < 0 || c >= numClasses)
        throw badArgument(fn, `truth.classes[${i}]`, `must be an integer class in 0..${numClasses - 1}, got ${c}`);
      classes[i] = c;
    }
  }
  if (classes.length !== n) throw badArgument(fn, 'truth', `has ${classes.length} samples but scores have ${n} rows`);
  return classes;
}

/** rows x cols count matrix from paired integer labels */
export function confusionMatrix(
  truth: ArrayLike<number>,
  prediction: ArrayLike<number>,
  rows: number,
  cols: number = rows,
): number[][] {
  if (truth.length !== prediction.length)
    throw badArgument('confusionMatrix', 'prediction', `has ${prediction.length} entries, truth has ${truth.length}`);
  const m = Array.from({ length: rows }, () => new Array<number>(cols).fill(0));
  for (let i = 0; i < truth.length; i++) {
    const t = truth[i];
    const p = prediction[i];
    if (!(t >= 0 && t < rows && Number.isInteger(t)))
      throw badArgument('confusionMatrix', `truth[${i}]`, `must be an integer in 0..${rows - 1}, got ${t}`);
    if (!(p >= 0 && p < cols && Number.isInteger(p)))
      throw badArgument('confusionMatrix', `prediction[${i}]`, `must be an integer in 0..${cols - 1}, got ${p}`);
    m[t][p]++;
  }
  return m;
}

/**
 * Fraction of equal pairs; NaN for no samples (an empty split has no accuracy, not 0). With
 * sample weights (sklearn's sample_weight): the weighted fraction, NaN when the weights sum to 0.
 */
export function accuracy(truth: ArrayLike<number>, prediction: ArrayLike<number>, weights?: ArrayLike<number>): number {
  if (truth.length !== prediction.length)
    throw badArgument('accuracy', 'prediction', `has ${prediction.length} entries, truth has ${truth.length}`);
  checkWeights('accuracy', weights, truth.length);
  if (truth.length === 0) return NaN;
  let hits = 0;
  let total = 0;
  for (let i = 0; i < truth.length; i++) {
    const w = weights ? weights[i] : 1;
    total += w;
    if (truth[i] === prediction[i]) hits += w;
  }
  return total === 0 ? NaN : hits / total;
}

function checkWeights(fn: string, weights: ArrayLike<number> | undefined, n: number): void {
  if (!weights) return;
  if (weights.length !== n) throw badArgument(fn, 'weights', `has ${weights.length} entries, there are ${n} samples`);
  for (let i = 0; i < n; i++)
    if (!(weights[i] >= 0) || !Number.isFinite(weights[i]))
      throw badArgument(fn, `weights[${i}]`, `must be finite and >= 0, got ${weights[i]}`);
}

/**
 * sklearn's f1_score(truth, prediction, average='weighted', zero_division=0) over non-negative
 * integer labels. Computed as sum_k support_k * F1_k / N, which equals sklearn's weighted
 * average because only classes with support > 0 carry weight, and for those 2tp + fp + fn > 0.
 * NaN for no samples.
 */
export function weightedF1(
  truth: ArrayLike<number>,
  prediction: ArrayLike<number>,
  weights?: ArrayLike<number>,
): number {
  if (truth.length !== prediction.length)
    throw badArgument('weightedF1', 'prediction', `has ${prediction.length} entries, truth has ${truth.length}`);
  checkWeights('weightedF1', weights, truth.length);
  if (truth.length === 0) return NaN;
  // with sample weights (sklearn's sample_weight) tp, fp, fn and the support are sums of weights
  const tp = new Map<number, number>();
  const fp = new Map<number, number>();
  const fn = new Map<number, number>();
  const support = new Map<number, number>();
  const add = (m: Map<number, number>, k: number, w: number) => m.set(k, (m.get(k) ?? 0) + w);
  let total = 0;
  for (let i = 0; i < truth.length; i++) {
    const t = truth[i];
    const p = prediction[i];
    const w = weights ? weights[i] : 1;
    total += w;
    add(support, t, w);
    if (t === p) add(tp, t, w);
    else {
      add(fp, p, w);
      add(fn, t, w);
    }
  }
  if (total === 0) return NaN;
  let sum = 0;
  for (const [k, s] of support) {
    const tpk = tp.get(k) ?? 0;
    const denom = 2 * tpk + (fp.get(k) ?? 0) + (fn.get(k) ?? 0);
    const f1 = denom === 0 ? 0 : (2 * tpk) / denom;
    sum += s * f1;
  }
  return sum / total;
}

/**
 * Acc_3, F1_3, Has0 and Non0 accuracy and F1, with their confusion matrices. Optional sample
 * weights weigh every metric (the confusion matrices stay counts).
 */
export function threeClassMetrics(
  scores: ArrayLike<number>,
  truth: Truth,
  weights?: ArrayLike<number>,
): ThreeClassMetrics {
  checkScores('threeClassMetrics', scores, 3);
  const n = scores.length / 3;
  const y = truthClasses('threeClassMetrics', truth, n, 3);
  checkWeights('threeClassMetrics', weights, n);
  const non0Weights: number[] = [];
  const pred3 = new Int32Array(n);
  const predHas0 = new Int32Array(n);
  const truthHas0 = new Int32Array(n);
  const non0Truth: number[] = [];
  const non0Pred: number[] = [];
  for (let i = 0; i < n; i++) {
    pred3[i] = argmaxOver(scores, i * 3, [0, 1, 2]);
    // Has0: only the negative and positive scores compete; index 0 -> 0, index 2 -> 1
    predHas0[i] = argmaxOver(scores, i * 3, [0, 2]) === 0 ? 0 : 1;
    truthHas0[i] = y[i] === 0 ? 0 : 1;
    if (y[i] !== 1) {
      non0Truth.push(y[i]);
      non0Pred.push(pred3[i]);
      if (weights) non0Weights.push(weights[i]);
    }
  }
  // Non0 confusion: truth rows 0 negative, 1 positive; prediction columns keep 0/1/2
  const non0TruthRow = non0Truth.map((t) => (t === 0 ? 0 : 1));
  return {
    numClasses: 3,
    n,
    nonNeutralCount: non0Truth.length,
    values: {
      Acc_3: accuracy(y, pred3, weights),
      F1_3: weightedF1(y, pred3, weights),
      Has0_acc_2: accuracy(truthHas0, predHas0, weights),
      Has0_F1: weightedF1(truthHas0, predHas0, weights),
      Non0_acc_2: accuracy(non0Truth, non0Pred, weights && non0Weights),
      Non0_F1: weightedF1(non0Truth, non0Pred, weights && non0Weights),
    },
    confusion: {
      threeClass: confusionMatrix(y, pred3, 3),
      has0: confusionMatrix(truthHas0, predHas0, 2),
      non0: confusionMatrix(non0TruthRow, non0Pred, 2, 3),
    },
  };
}

/** Acc_7 and weighted F1_7 with the 7 x 7 confusion matrix. */
export function sevenClassMetrics(
  scores: ArrayLike<number>,
  truth: Truth,
  weights?: ArrayLike<number>,
): SevenClassMetrics {
  const pred = predictClasses(scores, 7);
  const y = truthClasses('sevenClassMetrics', truth, pred.length, 7);
  return {
    numClasses: 7,
    n: pred.length,
    values: { Acc_7: accuracy(y, pred, weights), F1_7: weightedF1(y, pred, weights) },
    confusion: { sevenClass: confusionMatrix(y, pred, 7) },
  };
}

/** The task's metrics: 3-class or 7-class by numClasses (the model's C). */
export function classificationMetrics(
  scores: ArrayLike<number>,
  numClasses: NumClasses,
  truth: Truth,
  weights?: ArrayLike<number>,
): Metrics {
  if (numClasses === 3) return threeClassMetrics(scores, truth, weights);
  if (numClasses === 7) return sevenClassMetrics(scores, truth, weights);
  throw badArgument('classificationMetrics', 'numClasses', `must be 3 or 7, got ${String(numClasses)}`);
}

/** A metric's value by name, as a plain record lookup that works for both tasks. */
export function metricValue(metrics: Metrics, name: MetricName): number {
  const v = (metrics.values as Partial<Record<MetricName, number>>)[name];
  if (v === undefined)
    throw badArgument('metricValue', 'name', `${name} is not a metric of the ${metrics.numClasses}-class task`);
  return v;
}

export function metricNames(numClasses: NumClasses): readonly MetricName[] {
  return numClasses === 3 ? THREE_CLASS_METRICS : SEVEN_CLASS_METRICS;
}
