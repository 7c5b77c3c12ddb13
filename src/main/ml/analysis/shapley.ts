/**
 * Exact Shapley values over the three modalities. With three players there are only 8 coalitions,
 * so every value is computed from all of them (no sampling): for player m,
 * phi_m = sum over S not containing m of |S|! (n - |S| - 1)! / n! * (v(S + m) - v(S)).
 * Coalitions are bitmasks: bit 0 text, bit 1 audio, bit 2 vision. Values are vectors (one entry
 * per class), so each class probability gets its own attribution.
 */
export const SHAPLEY_PLAYERS = ['text', 'audio', 'vision'] as const;
export type ShapleyPlayer = (typeof SHAPLEY_PLAYERS)[number];

const FACT = [1, 1, 2, 6];

function popcount(x: number): number {
  let n = 0;
  for (let v = x; v; v >>= 1) n += v & 1;
  return n;
}

/** Coalition names as the UI shows them: '' (none), 'T', 'A', 'TA', ..., 'TAV'. */
export function coalitionName(mask: number): string {
  return (mask & 1 ? 'T' : '') + (mask & 2 ? 'A' : '') + (mask & 4 ? 'V' : '');
}

/**
 * `values[mask]` is v(coalition) as a vector of length K; returns phi[player][k]. The values sum
 * to v(all) - v(none) for every k (efficiency), which the tests check.
 */
export function exactShapley(values: readonly (readonly number[])[]): number[][] {
  const n = SHAPLEY_PLAYERS.length;
  if (values.length !== 1 << n) throw new Error(`exactShapley: need ${1 << n} coalition values, got ${values.length}`);
  const K = values[0].length;
  const phi = Array.from({ length: n }, () => new Array<number>(K).fill(0));
  for (let m = 0; m < n; m++) {
    const bit = 1 << m;
    for (let S = 0; S < 1 << n; S++) {
      if (S & bit) continue;
      const s = popcount(S);
      const w = (FACT[s] * FACT[n - s - 1]) / FACT[n];
      for (let k = 0; k < K; k++) phi[m][k] += w * (values[S | bit][k] - values[S][k]);
    }
  }
  return phi;
}
