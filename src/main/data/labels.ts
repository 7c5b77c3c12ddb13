/**
 * Labels derived from the regression score (spec section 1) and the per-class token counts the
 * MACI bias-word dictionary is built from (spec section 5).
 */

/** 3-class: score < 0 -> 0 (negative), = 0 -> 1 (neutral), > 0 -> 2 (positive) */
export function label3(score: number): number {
  return score < 0 ? 0 : score === 0 ? 1 : 2;
}

/**
 * 7-class: round(clip(score, -3, 3)) + 3. Rounds half to even, as numpy's np.round (which the
 * reference's metrics use) does: -2.5 -> -2, 0.5 -> 0, 1.5 -> 2. MOSI scores are annotator
 * averages, so exact halves occur and the rounding mode changes real labels.
 */
export function label7(score: number): number {
  const x = Math.min(3, Math.max(-3, score));
  const f = Math.floor(x);
  const d = x - f;
  let r: number;
  if (d > 0.5) r = f + 1;
  else if (d < 0.5) r = f;
  else r = f % 2 === 0 ? f : f + 1;
  return r + 3;
}

export function classCounts(labels: ArrayLike<number>, classes: number): number[] {
  const c = new Array(classes).fill(0);
  for (let i = 0; i < labels.length; i++) c[labels[i]]++;
  return c;
}

/** bert-base-uncased special ids: PAD, UNK, CLS, SEP, MASK */
export const SPECIAL_TOKEN_IDS: ReadonlySet<number> = new Set([0, 100, 101, 102, 103]);

/**
 * Per-class occurrence counts of every non-special token (every occurrence, repeats included).
 * tokenIds is the (N, 3, L) int32 text_bert array (row 0 ids, row 1 mask).
 */
export function tokenClassCounts(
  tokenIds: Int32Array,
  L: number,
  labels: ArrayLike<number>,
  classes: number,
  rows?: ArrayLike<number>,
): Map<number, number[]> {
  const counts = new Map<number, number[]>();
  const n = rows ? rows.length : labels.length;
  for (let k = 0; k < n; k++) {
    const i = rows ? rows[k] : k;
    const y = labels[i];
    const base = i * 3 * L;
    for (let t = 0; t < L; t++) {
      if (tokenIds[base + L + t] === 0) continue; // padding (mask 0)
      const id = tokenIds[base + t];
      if (SPECIAL_TOKEN_IDS.has(id)) continue;
      let c = counts.get(id);
      if (!c) counts.set(id, (c = new Array(classes).fill(0)));
      c[y]++;
    }
  }
  return counts;
}

export interface BiasWord {
  id: number;
  counts: number[];
  total: number;
  cv: number;
}

/**
 * The MACI dictionary: coefficient of variation of the per-class counts (3-class task: negative
 * and positive counts only; 7-class: all seven), keep cv >= threshold, then the K most frequent.
 * Words seen only in neutral samples (3-class) are skipped (spec section 5).
 */
export function biasWords(counts: Map<number, number[]>, task: 3 | 7, k = 100, threshold = 0.1): BiasWord[] {
  const out: BiasWord[] = [];
  for (const [id, c] of counts) {
    const xs = task === 3 ? [c[0], c[2]] : c;
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    if (mean === 0) continue;
    const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length);
    const cv = sd / mean;
    if (cv >= threshold) out.push({ id, counts: c.slice(), total: c.reduce((a, b) => a + b, 0), cv });
  }
  out.sort((a, b) => b.total - a.total || a.id - b.id);
  return out.slice(0, k);
}
