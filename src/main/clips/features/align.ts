/**
 * Word-level alignment: the audio or vision frames inside each token's word span are averaged into
 * one row per token, giving (L, d) sequences aligned to the text, as in MMSA's aligned_50 data
 * (Ta = Tv = L). Tokens without a time span ([CLS], [SEP], [PAD], untimed words) get zeros; a word
 * shorter than one frame takes the frame nearest its middle.
 */
import type { TokenTiming } from './text';

export function alignToTokens(frames: Float32Array, rate: number, dims: number, tokens: TokenTiming[]): Float32Array {
  const n = Math.floor(frames.length / dims);
  const out = new Float32Array(tokens.length * dims);
  tokens.forEach((tok, t) => {
    if (tok.start === null || tok.end === null || n === 0) return;
    let a = Math.ceil(tok.start * rate);
    let b = Math.floor(tok.end * rate);
    if (b < a) a = b = Math.round(((tok.start + tok.end) / 2) * rate);
    a = Math.max(0, Math.min(n - 1, a));
    b = Math.max(a, Math.min(n - 1, b));
    const row = out.subarray(t * dims, (t + 1) * dims);
    for (let f = a; f <= b; f++) for (let d = 0; d < dims; d++) row[d] += frames[f * dims + d];
    const k = b - a + 1;
    for (let d = 0; d < dims; d++) row[d] /= k;
  });
  return out;
}
