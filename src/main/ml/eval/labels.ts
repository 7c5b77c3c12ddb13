/**
 * Class labels derived from the regression score in [-3, 3] (spec section 1).
 */
import { badArgument } from './errors';

export type NumClasses = 3 | 7;

/** Class indices of the 3-class ("binary" in the reference) task. */
export const THREE_CLASS_NAMES = ['negative', 'neutral', 'positive'] as const;
/** Class indices of the 7-class task: round(clip(score, -3, 3)) + 3. */
export const SEVEN_CLASS_NAMES = ['-3', '-2', '-1', '0', '+1', '+2', '+3'] as const;

/**
 * Round half to even ("banker's rounding"), the rule of Python's round() and numpy's np.round,
 * which is what the reference applies to the regression scores. MOSI scores are means of
 * annotators' integers, so exact halves (+-0.5, +-1.5, +-2.5) really occur and Math.round (half
 * up) would move about one in ten of them to a different class: 0.5 -> 0 (not 1), 1.5 -> 2,
 * 2.5 -> 2, -0.5 -> -0, -2.5 -> -2. Only exact halves of the stored value count; a float32 score
 * that prints as 0.5 but is not exactly 0.5 rounds to the nearer integer, as in numpy.
 */
export function roundHalfToEven(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff < 0.5) return floor;
  if (diff > 0.5) return floor + 1;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** 3-class label of one regression score: < 0 -> 0 negative, = 0 -> 1 neutral, > 0 -> 2 positive. */
export function threeClassLabel(score: number): number {
  if (Number.isNaN(score)) throw badArgument('threeClassLabel', 'score', 'is NaN');
  return score < 0 ? 0 : score > 0 ? 2 : 1;
}

/** 7-class label of one regression score: roundHalfToEven(clip(score, -3, 3)) + 3, in 0..6. */
export function sevenClassLabel(score: number): number {
  if (Number.isNaN(score)) throw badArgument('sevenClassLabel', 'score', 'is NaN');
  return roundHalfToEven(Math.min(3, Math.max(-3, score))) + 3;
}

/** Class labels of a whole split from its regression scores. */
export function classLabelsFromRegression(scores: ArrayLike<number>, numClasses: NumClasses): Int32Array {
  if (numClasses !== 3 && numClasses !== 7)
    throw badArgument('classLabelsFromRegression', 'numClasses', `must be 3 or 7, got ${String(numClasses)}`);
  const out = new Int32Array(scores.length);
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i];
    if (Number.isNaN(s)) throw badArgument('classLabelsFromRegression', `scores[${i}]`, 'is NaN');
    out[i] = numClasses === 3 ? threeClassLabel(s) : sevenClassLabel(s);
  }
  return out;
}
