/**
 * Small building blocks with PyTorch semantics (Linear, LayerNorm, GRU, dropout, the sinusoidal
 * table). Weights are passed in, never owned, so the same code serves training and inference.
 */
import { tf } from '../backends/tf.js';
import type { Rng } from '../random.js';

/**
 * x W^T for x (N, in) and W (out, in), with explicit transposes in the forward and the backward
 * pass. tf.matMul with transposeB (the forward) or transposeA (the weight gradient) takes a slow
 * path on tfjs-wasm: at (4800, 32) x (128, 32)^T it ran 20 ms against 1.4 ms for a transpose of
 * W plus a plain product (bench/profile-engine.ts). The transposes are the size of W and dy.
 */
export const matMulXWt = tf.customGrad((...args: unknown[]) => {
  const [x, w, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
  save([x, w]);
  return {
    value: tf.tidy(() => tf.matMul(x, tf.transpose(w))) as tf.Tensor,
    // tidy: a custom gradFunc runs outside the engine's per-node scope, so without it the
    // transposed dy would live until the whole backward pass ends
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
      tf.tidy(() => {
        const [sx, sw] = saved as tf.Tensor2D[];
        const g = dy as tf.Tensor2D;
        return [tf.matMul(g, sw), tf.matMul(tf.transpose(g), sx)];
      }),
  };
}) as unknown as (x: tf.Tensor2D, w: tf.Tensor2D) => tf.Tensor2D;

/** y = x W^T + b over the last axis (PyTorch nn.Linear). Any leading shape. */
export function linear(x: tf.Tensor, weight: tf.Tensor, bias?: tf.Tensor): tf.Tensor {
  const inF = weight.shape[1]!;
  const outF = weight.shape[0]!;
  const lead = x.shape.slice(0, -1);
  if (x.shape[x.rank - 1] !== inF) throw new Error(`linear: input has ${x.shape[x.rank - 1]} features, weight [${weight.shape.join(', ')}] expects ${inF}`);
  let y: tf.Tensor = matMulXWt(x.reshape([-1, inF]) as tf.Tensor2D, weight as tf.Tensor2D);
  if (bias) y = tf.add(y, bias);
  return y.reshape([...lead, outF]);
}

/** LayerNorm over the last axis, biased variance, eps 1e-5 (PyTorch default). */
export function layerNorm(x: tf.Tensor, weight?: tf.Tensor, bias?: tf.Tensor, eps = 1e-5): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  let y = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps)));
  if (weight) y = tf.mul(y, weight);
  if (bias) y = tf.add(y, bias);
  return y;
}

/**
 * Source of dropout masks. Null in eval mode. Each call draws a fresh seed from the training RNG
 * so a run is reproducible from its seed.
 */
export interface DropoutSource {
  rng: Rng;
}

export function dropout(x: tf.Tensor, rate: number, src: DropoutSource | null): tf.Tensor {
  if (!src || rate <= 0) return x;
  return tf.dropout(x, rate, undefined, src.rng.int(0, 2 ** 31 - 1));
}

export interface GruWeights {
  weightIh: tf.Tensor; // (3H, I), gate order r, z, n
  weightHh: tf.Tensor; // (3H, H)
  biasIh: tf.Tensor; // (3H)
  biasHh: tf.Tensor; // (3H)
}

/**
 * Single-layer GRU over all T steps of x (B, T, I), zero initial state, padded steps included
 * (the reference does not pack). PyTorch gates: the reset gate multiplies (W_hn h + b_hn).
 * Returns (B, T, H).
 */
export function gru(x: tf.Tensor3D, w: GruWeights): tf.Tensor3D {
  const [B, T] = x.shape;
  const H = w.weightHh.shape[1]!;
  // Input projections of all steps at once: one big matmul instead of T small ones.
  const xi = linear(x, w.weightIh, w.biasIh) as tf.Tensor3D; // (B, T, 3H)
  // split/unstack rather than slice: tfjs keeps every gradient tensor until the backward pass
  // ends, and a slice's gradient is a zero-padded copy of the WHOLE input (T copies per gate).
  const [xr, xz, xn] = tf.split(xi, 3, 2).map((g) => tf.unstack(g, 1) as tf.Tensor2D[]);
  const [whr, whz, whn] = tf.split(w.weightHh, 3, 0);
  const [bhr, bhz, bhn] = tf.split(w.biasHh, 3, 0);
  let h: tf.Tensor2D = tf.zeros([B, H]);
  const hs: tf.Tensor2D[] = [];
  for (let t = 0; t < T; t++) {
    const r = tf.sigmoid(tf.add(xr[t], linear(h, whr, bhr)));
    const z = tf.sigmoid(tf.add(xz[t], linear(h, whz, bhz)));
    const n = tf.tanh(tf.add(xn[t], tf.mul(r, linear(h, whn, bhn))));
    // h' = (1 - z) n + z h  ==  n + z (h - n)
    h = tf.add(n, tf.mul(z, tf.sub(h, n))) as tf.Tensor2D;
    hs.push(h);
  }
  return tf.stack(hs, 1) as tf.Tensor3D;
}

/** Fixed sinusoidal table (rows, d): sin on even channels, cos on odd (spec 2.5). */
export function sinusoidalTable(rows: number, d: number): Float32Array {
  const out = new Float32Array(rows * d);
  for (let p = 0; p < rows; p++) {
    for (let i = 0; i < d; i += 2) {
      const angle = p / Math.pow(10000, i / d);
      out[p * d + i] = Math.sin(angle);
      if (i + 1 < d) out[p * d + i + 1] = Math.cos(angle);
    }
  }
  return out;
}
