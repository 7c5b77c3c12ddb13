/**
 * Summaries of the last MCT layer's attention for one sample (spec 2.6): the full softmax over
 * all 3L keys (the LAV branch's weights, the map self-distillation uses), averaged over heads.
 * Segments are text, audio, vision, each L word-level steps.
 */
export interface AttentionSummary {
  /** [query segment][key segment]: mean over valid query positions of the attention mass on the key segment */
  segments: number[][];
  /** per valid text position: mass to each segment and the mean attention it receives from valid queries */
  words: {
    position: number;
    toText: number;
    toAudio: number;
    toVision: number;
    received: number;
  }[];
}

/**
 * `probs` (H, 3L, 3L) row-major softmax weights of one sample; `valid` the number of valid word
 * positions (the text length: every segment is at word level, and padded steps still take part in
 * the softmax as in the reference, so their share stays visible in the sums).
 */
export function summariseAttention(probs: Float32Array, heads: number, L: number, valid: number): AttentionSummary {
  const T = 3 * L;
  if (probs.length !== heads * T * T)
    throw new Error(`summariseAttention: ${probs.length} weights, expected H*3L*3L = ${heads * T * T}`);
  const at = (h: number, q: number, k: number) => probs[(h * T + q) * T + k];
  const mass = (q: number, seg: number) => {
    let s = 0;
    for (let h = 0; h < heads; h++) for (let k = seg * L; k < (seg + 1) * L; k++) s += at(h, q, k);
    return s / heads;
  };
  const segments = [0, 1, 2].map((i) =>
    [0, 1, 2].map((j) => {
      let s = 0;
      for (let t = 0; t < valid; t++) s += mass(i * L + t, j);
      return valid ? s / valid : 0;
    }),
  );
  const words = Array.from({ length: valid }, (_, t) => {
    let received = 0;
    for (let h = 0; h < heads; h++)
      for (let seg = 0; seg < 3; seg++) for (let q = 0; q < valid; q++) received += at(h, seg * L + q, t);
    return {
      position: t,
      toText: mass(t, 0),
      toAudio: mass(t, 1),
      toVision: mass(t, 2),
      received: received / (heads * 3 * Math.max(1, valid)),
    };
  });
  return { segments, words };
}
