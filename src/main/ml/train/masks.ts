/**
 * RMFM training masks (spec 3): every present position of every modality is dropped
 * independently; each position draws its own rate r ~ U(0, 1) and is dropped when u ~ U(0, 1) <= r.
 * Text never loses [CLS] (position 0) or [SEP] (position len - 1); padding stays padding.
 * The result is a keep mask per modality (1 = kept); missing = input mask - keep.
 */
import type { Rng } from '../random.js';

export interface KeepMasks {
  text: Float32Array;
  audio: Float32Array;
  vision: Float32Array;
}

function dropPositions(rng: Rng, mask: ArrayLike<number>, protect: (i: number) => boolean): Float32Array {
  const keep = new Float32Array(mask.length);
  for (let i = 0; i < mask.length; i++) {
    if (mask[i] < 0.5) continue; // padding: not present, so neither kept nor dropped
    // draw both numbers even for protected positions so the stream does not depend on them
    const r = rng.next();
    const u = rng.next();
    keep[i] = protect(i) || u > r ? 1 : 0;
  }
  return keep;
}

/**
 * Training masks for one batch. `textMask` (B*L), `audioMask` (B*Ta), `visionMask` (B*Tv) are
 * the input masks; `textLengths` locate [SEP].
 */
export function rmfmTrainingMasks(
  rng: Rng,
  batch: number,
  textMask: ArrayLike<number>,
  textLengths: ArrayLike<number>,
  audioMask: ArrayLike<number>,
  visionMask: ArrayLike<number>,
): KeepMasks {
  const L = textMask.length / batch;
  // one sequential stream: Rng.child would not advance the parent, repeating masks every step
  const text = dropPositions(rng, textMask, (i) => {
    const l = i % L;
    return l === 0 || l === textLengths[Math.floor(i / L)] - 1;
  });
  const audio = dropPositions(rng, audioMask, () => false);
  const vision = dropPositions(rng, visionMask, () => false);
  return { text, audio, vision };
}
