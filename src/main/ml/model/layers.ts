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
  if (x.shape[x.rank - 1] !== inF)
    throw new Error(
      `linear: input has ${x.shape[x.rank - 1]} features, weight [${weight.shape.join(', ')}] expects ${inF}`,
    );
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
 * The GRU recurrence over all T steps as one primitive with a hand-written backward pass (BPTT).
 * xi (B, T, 3H) are the input projections x W_ih^T + b_ih of every step (one big product outside),
 * weightHh (3H, H), biasHh (3H); gate order r, z, n; zero initial state. Returns (B, T, H).
 * Why: as taped tfjs ops a step was ~22 kernels forward and more backward, each with the tape's
 * bookkeeping, and the hidden products went through transposeA/B matMuls; here a step is 12
 * kernels forward and ~17 backward, and the W_hh gradient is one product over all steps.
 * Saved for the backward pass: the outputs, r and z, n and W_hn h + b_hn, (B, T, .) each.
 */
const gruSequence = tf.customGrad((...args: unknown[]) => {
  const [xi, weightHh, biasHh, save] = args as [tf.Tensor3D, tf.Tensor2D, tf.Tensor1D, tf.GradSaveFunc];
  const [B, T] = xi.shape;
  const H = weightHh.shape[1];
  const [HS, RZ, NS, GN] = tf.tidy(() => {
    const whhT = tf.transpose(weightHh); // (H, 3H)
    const [xrz, xn] = tf.split(xi, [2 * H, H], 2);
    const xrzs = tf.unstack(xrz, 1) as tf.Tensor2D[];
    const xns = tf.unstack(xn, 1) as tf.Tensor2D[];
    let h: tf.Tensor2D = tf.zeros([B, H]);
    const hs: tf.Tensor2D[] = [];
    const rzs: tf.Tensor2D[] = [];
    const ns: tf.Tensor2D[] = [];
    const gns: tf.Tensor2D[] = [];
    for (let t = 0; t < T; t++) {
      const [grz, gn] = tf.split(tf.add(tf.matMul(h, whhT), biasHh), [2 * H, H], 1) as tf.Tensor2D[];
      const rz = tf.sigmoid(tf.add(xrzs[t], grz)) as tf.Tensor2D;
      const [r, z] = tf.split(rz, 2, 1);
      const n = tf.tanh(tf.add(xns[t], tf.mul(r, gn))) as tf.Tensor2D;
      // h' = (1 - z) n + z h  ==  n + z (h - n)
      h = tf.add(n, tf.mul(z, tf.sub(h, n))) as tf.Tensor2D;
      hs.push(h);
      rzs.push(rz);
      ns.push(n);
      gns.push(gn);
    }
    return [tf.stack(hs, 1), tf.stack(rzs, 1), tf.stack(ns, 1), tf.stack(gns, 1)];
  });
  save([weightHh, HS, RZ, NS, GN]);
  return {
    value: HS as tf.Tensor,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
      tf.tidy(() => {
        const [w, hsAll, rzAll, nAll, gnAll] = saved as [
          tf.Tensor2D,
          tf.Tensor3D,
          tf.Tensor3D,
          tf.Tensor3D,
          tf.Tensor3D,
        ];
        const [rAll, zAll] = tf.split(rzAll, 2, 2);
        const dys = tf.unstack(dy, 1) as tf.Tensor2D[];
        const hs = tf.unstack(hsAll, 1) as tf.Tensor2D[];
        const rs = tf.unstack(rAll, 1) as tf.Tensor2D[];
        const zs = tf.unstack(zAll, 1) as tf.Tensor2D[];
        const ns = tf.unstack(nAll, 1) as tf.Tensor2D[];
        const gns = tf.unstack(gnAll, 1) as tf.Tensor2D[];
        const sigD = tf.unstack(tf.mul(rzAll, tf.sub(1, rzAll)), 1) as tf.Tensor2D[]; // sigmoid'
        const tanhD = tf.unstack(tf.sub(1, tf.square(nAll)), 1) as tf.Tensor2D[]; // tanh'
        const zero = tf.zeros([B, H]) as tf.Tensor2D;
        const dXs: tf.Tensor2D[] = new Array(T);
        const dGs: tf.Tensor2D[] = new Array(T);
        let dh: tf.Tensor2D = zero;
        for (let t = T - 1; t >= 0; t--) {
          const g = t === T - 1 ? dys[t] : (tf.add(dh, dys[t]) as tf.Tensor2D);
          const hPrev = t > 0 ? hs[t - 1] : zero;
          const dhz = tf.mul(g, zs[t]); // through z * h
          const dn = tf.sub(g, dhz); // (1 - z) g
          const dz = tf.mul(g, tf.sub(hPrev, ns[t]));
          const dan = tf.mul(dn, tanhD[t]);
          const drz = tf.mul(tf.concat([tf.mul(dan, gns[t]), dz], 1), sigD[t]); // d(pre-sigmoid r, z)
          const dgn = tf.mul(dan, rs[t]);
          dXs[t] = tf.concat([drz, dan], 1) as tf.Tensor2D;
          dGs[t] = tf.concat([drz, dgn], 1) as tf.Tensor2D;
          dh = tf.add(dhz, tf.matMul(dGs[t], w)) as tf.Tensor2D;
        }
        const dG = tf.stack(dGs, 1).reshape([B * T, 3 * H]) as tf.Tensor2D;
        const hPrevAll = tf.stack([zero, ...hs.slice(0, T - 1)], 1).reshape([B * T, H]) as tf.Tensor2D;
        const dW = tf.matMul(tf.transpose(dG), hPrevAll); // (3H, H)
        return [tf.stack(dXs, 1), dW, tf.sum(dG, 0)];
      }),
  };
}) as unknown as (xi: tf.Tensor3D, weightHh: tf.Tensor2D, biasHh: tf.Tensor1D) => tf.Tensor3D;

/**
 * Single-layer GRU over all T steps of x (B, T, I), zero initial state, padded steps included
 * (the reference does not pack). PyTorch gates: the reset gate multiplies (W_hn h + b_hn).
 * Returns (B, T, H).
 */
export function gru(x: tf.Tensor3D, w: GruWeights): tf.Tensor3D {
  // Input projections of all steps at once: one big matmul instead of T small ones.
  const xi = linear(x, w.weightIh, w.biasIh) as tf.Tensor3D; // (B, T, 3H)
  return gruSequence(xi, w.weightHh as tf.Tensor2D, w.biasHh as tf.Tensor1D);
}

/**
 * Several GRUs with the same shapes (B, T, I) -> (B, T, H) run as one GRU of hidden size G*H:
 * the weights become block-diagonal with gate-major rows ([r of each GRU | z of each | n of
 * each]), so every step is one recurrence of 12 kernels for all of them. Exact: the extra terms
 * of the block-diagonal products are zeros. Returns the G outputs.
 */
export function gruGroup(xs: tf.Tensor3D[], ws: GruWeights[]): tf.Tensor3D[] {
  if (xs.length === 1) return [gru(xs[0], ws[0])];
  const G = xs.length;
  const H = ws[0].weightHh.shape[1]!;
  const gateMajor = (mats: tf.Tensor[], cols: number) => {
    // mats[m] (3H, cols) -> (3 G H, G cols): row block (gate g, GRU m) holds mats[m]'s gate g at column block m
    const gates = mats.map((m) => tf.split(m, 3, 0));
    const rows: tf.Tensor[] = [];
    for (let g = 0; g < 3; g++)
      for (let m = 0; m < G; m++)
        rows.push(
          tf.pad(gates[m][g], [
            [0, 0],
            [m * cols, (G - 1 - m) * cols],
          ]),
        );
    return tf.concat(rows, 0);
  };
  const gateMajorBias = (bs: tf.Tensor[]) => {
    const gates = bs.map((b) => tf.split(b, 3, 0));
    return tf.concat(
      [0, 1, 2].flatMap((g) => gates.map((gm) => gm[g])),
      0,
    );
  };
  const I = ws[0].weightIh.shape[1]!;
  const xi = linear(
    tf.concat(xs, 2),
    gateMajor(
      ws.map((w) => w.weightIh),
      I,
    ),
    gateMajorBias(ws.map((w) => w.biasIh)),
  ) as tf.Tensor3D; // (B, T, 3GH)
  const hs = gruSequence(
    xi,
    gateMajor(
      ws.map((w) => w.weightHh),
      H,
    ) as tf.Tensor2D,
    gateMajorBias(ws.map((w) => w.biasHh)) as tf.Tensor1D,
  );
  return tf.split(hs, G, 2) as tf.Tensor3D[];
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
