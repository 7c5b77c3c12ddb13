/**
 * Losses of spec section 4. Every loss takes explicit normalisers (the full batch size, the
 * number of dropped entries of the whole batch) so that a batch split into micro-batches sums to
 * exactly the same loss and gradients as the whole batch.
 */
import { tf } from '../backends/tf.js';
import type { AttentionState } from '../model/attention.js';

export const DEFAULT_LOSS_WEIGHTS = { joint: 0.5, attention: 0.1, reconstruction: 0.6 } as const;
export type LossWeights = { joint: number; attention: number; reconstruction: number };

/**
 * One-hot as float32. Built as int32 then cast: on the wasm backend tf.oneHot straight to float
 * returned int32 bit patterns (1 -> 1.4e-45), silently zeroing an NLL (engine notes).
 */
export function oneHotFloat(labels: tf.Tensor1D, classes: number): tf.Tensor2D {
  return tf.tidy(() => tf.oneHot(labels.toInt(), classes, 1, 0, 'int32').toFloat() as tf.Tensor2D);
}

/** NLL of log-probabilities: sum over this batch of -log p[y], divided by `batchTotal`. */
export function nllLoss(logProbs: tf.Tensor2D, labels: tf.Tensor1D, batchTotal = logProbs.shape[0]): tf.Scalar {
  const oh = oneHotFloat(labels, logProbs.shape[1]);
  return tf.div(tf.neg(tf.sum(tf.mul(oh, logProbs))), batchTotal) as tf.Scalar;
}

/**
 * 1 - mean cosine(z_m, z_full) over the batch (PyTorch cosine_similarity, eps 1e-8 per norm).
 * Computed without cancellation: with u = a / max(|a|, eps) and w = b / max(|b|, eps),
 * 1 - cos = |u - w|^2 / 2 + (1 - |u|^2) / 2 + (1 - |w|^2) / 2, where |u| = |a| / max(|a|, eps) is
 * exactly 1 unless |a| < eps. The same number as 1 - u.w, but 1 - cos for cos near 1 (a student
 * close to its teacher, the usual case) keeps its relative precision instead of float32's 6e-8
 * absolute rounding of cos.
 */
export function jointLoss(student: tf.Tensor2D, teacher: tf.Tensor2D, batchTotal = student.shape[0]): tf.Scalar {
  const eps = 1e-8;
  const unit = (x: tf.Tensor2D) => {
    const n = tf.norm(x, 'euclidean', -1, true);
    const r = tf.div(n, tf.maximum(n, eps));
    return { u: tf.div(x, tf.maximum(n, eps)), short: tf.sub(1, tf.square(r)) };
  };
  const s = unit(student);
  const t = unit(teacher);
  const perRow = tf.add(tf.sum(tf.square(tf.sub(s.u, t.u)), -1, true), tf.add(s.short, t.short));
  // summed over this micro-batch, / B: the micro-batches add up to 1 - mean cos
  return tf.div(tf.mul(0.5, tf.sum(perRow)), batchTotal) as tf.Scalar;
}

/**
 * The teacher of the attention distillation: full-row log-softmax of the complete view's last-layer
 * scores, per (query segment i, key segment j) block, (B*H, L, L) each. A constant.
 */
export type AttentionTeacher = tf.Tensor3D[][];

export function attentionTeacher(state: AttentionState): AttentionTeacher {
  return tf.tidy(() =>
    state.q.map((qi, i) => state.k.map((kj) => tf.sub(tf.matMul(qi, kj, false, true), state.lse[i]) as tf.Tensor3D)),
  );
}

/**
 * sum over the block of p_t * (log p_t - (q k^T - lse)), with a hand-written gradient so the
 * (B*H, L, L) intermediates are not held by the tape. Teacher log-probs are a closure constant.
 */
function klBlock(teacherLogP: tf.Tensor3D): (q: tf.Tensor3D, k: tf.Tensor3D, lse: tf.Tensor3D) => tf.Scalar {
  return tf.customGrad((...args: unknown[]) => {
    const [q, k, lse, save] = args as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D, tf.GradSaveFunc];
    const value = tf.tidy(() => {
      const pt = tf.exp(teacherLogP);
      const logQ = tf.sub(tf.matMul(q, k, false, true), lse);
      return tf.sum(tf.mul(pt, tf.sub(teacherLogP, logQ)));
    });
    save([q, k]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.tidy(() => {
          const [sq, sk] = saved as tf.Tensor3D[];
          const pt = tf.mul(tf.exp(teacherLogP), dy);
          // d/dS = -p_t, d/dlse = rowsum(p_t)
          return [tf.neg(tf.matMul(pt, sk)), tf.neg(tf.matMul(pt, sq, true, false)), tf.sum(pt, -1, true)];
        }),
    };
  }) as unknown as (q: tf.Tensor3D, k: tf.Tensor3D, lse: tf.Tensor3D) => tf.Scalar;
}

/**
 * KL(softmax(S_full) || softmax(S_m)) with PyTorch's "batchmean": the sum over all entries divided
 * by the number of (batch x head) rows, B*H, of the whole batch (`rowsTotal`).
 */
export function attentionKl(
  student: AttentionState,
  teacher: AttentionTeacher,
  rowsTotal = student.q[0].shape[0],
): tf.Scalar {
  const terms: tf.Scalar[] = [];
  student.q.forEach((qi, i) =>
    student.k.forEach((kj, j) => terms.push(klBlock(teacher[i][j])(qi, kj, student.lse[i]))),
  );
  return tf.div(tf.addN(terms), rowsTotal) as tf.Scalar;
}

/** Number of dropped entries (positions x channels) of a reconstruction target. */
export function droppedEntries(missingMask: Float32Array | number[], channels: number): number {
  let n = 0;
  for (let i = 0; i < missingMask.length; i++) n += missingMask[i];
  return n * channels;
}

/**
 * SmoothL1 (beta 1) summed over the dropped positions, / (dropped entries of the whole batch + 1e-6).
 * `missing` (B, T) = input mask - kept mask.
 */
export function reconstructionLoss(
  recon: tf.Tensor3D,
  target: tf.Tensor3D,
  missing: tf.Tensor2D,
  entriesTotal: number,
): tf.Scalar {
  const diff = tf.abs(tf.sub(recon, target));
  // 0.5 m^2 + (|x| - m) with m = min(|x|, 1): SmoothL1 without a comparison op, which has no gradient in tfjs
  const m = tf.minimum(diff, 1);
  const sl1 = tf.add(tf.mul(0.5, tf.square(m)), tf.sub(diff, m));
  return tf.div(tf.sum(tf.mul(sl1, missing.expandDims(2))), entriesTotal + 1e-6) as tf.Scalar;
}
