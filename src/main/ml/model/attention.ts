/**
 * Attention pieces of CIDer: the word-level self-aligned attention (WSAM, spec 2.3) and the
 * Multimodal Composite Attention (MCA, spec 2.6) computed block-wise.
 *
 * Why block-wise: the reference builds seven masked copies of the (B*H, 3L, 3L) score matrix.
 * A restricted branch adds -1e9 outside its segments, so in float32 the masked keys get weight
 * exactly 0 and the branch equals a softmax over its own key segments only; its rows outside
 * the branch are zeroed and never read by the summarisation. So every branch is a softmax over a
 * union of (query segment i, key segment j) blocks. We compute, once per block, the block-local
 * softmax P_ij, its log-sum-exp lse_ij and Y_ij = P_ij v_j; a branch with key set K is then
 * O_iK = sum_{j in K} softmax_j(lse_iK)_j * Y_ij (the flash-attention merge rule). Only the nine
 * (B*H, L, L) blocks of P are held for the backward pass instead of 7 x 9 blocks plus masks.
 */
import { tf } from '../backends/tf.js';
import { dropout, linear, type DropoutSource } from './layers.js';

/**
 * One attention block as a primitive with a hand-written gradient, so that the score and exp
 * intermediates are not kept by the tape (only P is saved).
 * Inputs q (N, Lq, e) already scaled, k (N, Lk, e), v (N, Lk, e).
 * Output packed (N, Lq, e + 1): [softmax(q k^T) v | logsumexp(q k^T)].
 */
const blockAttention = tf.customGrad((...args: unknown[]) => {
  const [q, k, v, save] = args as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D, tf.GradSaveFunc];
  const [P, out] = tf.tidy(() => {
    const s = tf.matMul(q, k, false, true);
    const m = tf.max(s, -1, true);
    const ex = tf.exp(tf.sub(s, m));
    const sum = tf.sum(ex, -1, true);
    const p = tf.div(ex, sum);
    const lse = tf.add(m, tf.log(sum));
    return [p, tf.concat([tf.matMul(p, v), lse], -1)];
  });
  save([q, k, v, P, out]);
  return {
    value: out as tf.Tensor,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
      tf.tidy(() => {
        const [sq, sk, sv, sp, so] = saved as tf.Tensor3D[];
        const e = sv.shape[2];
        const [N, Lq] = sq.shape;
        const dY = dy.slice([0, 0, 0], [N, Lq, e]);
        const dLse = dy.slice([0, 0, e], [N, Lq, 1]);
        const Y = so.slice([0, 0, 0], [N, Lq, e]);
        // dS = P * (dY v^T - rowsum(dY * Y) + dLse): softmax backward plus the lse path (d lse / dS = P).
        const delta = tf.sub(tf.sum(tf.mul(dY, Y), -1, true), dLse);
        const dS = tf.mul(sp, tf.sub(tf.matMul(dY, sv, false, true), delta));
        const dq = tf.matMul(dS, sk);
        const dk = tf.matMul(dS, sq, true, false);
        const dv = tf.matMul(sp, dY, true, false);
        return [dq, dk, dv];
      }),
  };
});

export interface BlockResult {
  /** P_ij v_j, (N, Lq, e) */
  y: tf.Tensor3D;
  /** logsumexp over the block's keys, (N, Lq, 1) */
  lse: tf.Tensor3D;
}

export function attendBlock(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D): BlockResult {
  const packed = blockAttention(q, k, v) as tf.Tensor3D;
  // split, not slice: a slice's gradient is a padded full-size copy that tfjs keeps to the end
  const [y, lse] = tf.split(packed, [packed.shape[2] - 1, 1], 2) as tf.Tensor3D[];
  return { y, lse };
}

/** Merge blocks of one query segment into a softmax over the union of their keys. */
function mergeBlocks(blocks: BlockResult[]): tf.Tensor3D {
  if (blocks.length === 1) return blocks[0].y;
  const w = tf.split(
    tf.softmax(
      tf.concat(
        blocks.map((b) => b.lse),
        -1,
      ),
    ),
    blocks.length,
    2,
  ); // |K| x (N, Lq, 1)
  let out: tf.Tensor3D | null = null;
  blocks.forEach((b, j) => {
    const term = tf.mul(b.y, w[j]) as tf.Tensor3D;
    out = out ? (tf.add(out, term) as tf.Tensor3D) : term;
  });
  return out!;
}

function logSumExpOf(lses: tf.Tensor3D[]): tf.Tensor3D {
  return tf.logSumExp(tf.concat(lses, -1), -1, true) as tf.Tensor3D;
}

/** Segment indices: 0 text, 1 audio, 2 vision. Branch order = out_proj.0..6 of the reference. */
export const MCA_BRANCHES: { name: string; keys: number[] }[] = [
  { name: 'LAV', keys: [0, 1, 2] },
  { name: 'LA', keys: [0, 1] },
  { name: 'LV', keys: [0, 2] },
  { name: 'AV', keys: [1, 2] },
  { name: 'L', keys: [0] },
  { name: 'A', keys: [1] },
  { name: 'V', keys: [2] },
];

/** Which branch outputs feed each segment's summariser s_l / s_a / s_v (spec 2.6). */
const SUMMARY_BRANCHES: number[][] = [
  [0, 1, 2, 4], // text:   LAV, LA, LV, L
  [0, 1, 3, 5], // audio:  LAV, LA, AV, A
  [0, 2, 3, 6], // vision: LAV, LV, AV, V
];

/** Slot s of query segment i reads the key segments KEY_SETS[i][s] (branches SUMMARY_BRANCHES[i]). */
const SLOT_KEYS: number[][][] = SUMMARY_BRANCHES.map((row) => row.map((bi) => MCA_BRANCHES[bi].keys));

/** (3L, 4, 3): 0 where query segment i's slot s reads key segment j, -1e9 elsewhere. */
const slotMaskCache = new Map<number, Float32Array>();
function slotMask(segLen: number): Float32Array {
  let m = slotMaskCache.get(segLen);
  if (!m) {
    m = new Float32Array(3 * segLen * 12);
    for (let t = 0; t < 3 * segLen; t++) {
      const keys = SLOT_KEYS[Math.floor(t / segLen)];
      for (let s = 0; s < 4; s++) for (let j = 0; j < 3; j++) m[t * 12 + s * 3 + j] = keys[s].includes(j) ? 0 : -1e9;
    }
    slotMaskCache.set(segLen, m);
  }
  return m;
}

/** (N, 3L, e) -> (3N, L, e) with the key segment outermost: row j*N + n is segment j of n. */
function segmentsOuter(x: tf.Tensor3D, L: number): tf.Tensor3D {
  const [N, , e] = x.shape;
  return x
    .reshape([N, 3, L, e])
    .transpose([1, 0, 2, 3])
    .reshape([3 * N, L, e]);
}

/** Inverse of segmentsOuter for tensors stored transposed per block: (3N, e, L) -> (N, 3L, e). */
function segmentsInnerFromT(xT: tf.Tensor3D, N: number): tf.Tensor3D {
  const [, e, L] = xT.shape;
  return xT
    .reshape([3, N, e, L])
    .transpose([1, 0, 3, 2])
    .reshape([N, 3 * L, e]);
}

const swap12 = (x: tf.Tensor3D) => x.transpose([0, 2, 1]) as tf.Tensor3D;

/**
 * All of a layer's attention in one primitive with a hand-written gradient.
 * Inputs q (N, 3L, e) already scaled, k and v (N, 3L, e), N = B*H. Output (N, 3L, 4e + 1): for
 * every query, the outputs of the 4 branches its segment belongs to (slot order of
 * SUMMARY_BRANCHES), then the full-row logsumexp of its scores.
 *
 * The nine (query segment, key segment) blocks are batched as (3N, 3L, L) (key segment outermost):
 * one scores product, one block-local softmax P, one P v product. Branch outputs merge the blocks
 * with softmax weights over the blocks' logsumexps (the flash-attention rule). Only P is kept for
 * the backward pass, as in the block-wise version. Every product is a plain batched matMul:
 * transposed operands are made explicitly (tfjs-wasm runs transposeA/B products several times
 * slower). No broadcasting matMul: tfjs-wasm 4.22 returned wrong values for (N,1,..) x (N,3,..).
 * The 7 x 3 branch outputs are never materialised apart: the weights (N*3L, 4, 3) and the
 * blocks' outputs (N*3L, 3, e) give all four slots of a query in one small product.
 */
const mcaCore = tf.customGrad((...args: unknown[]) => {
  const [q, k, v, save] = args as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D, tf.GradSaveFunc];
  const [N, T, e] = q.shape;
  const L = T / 3;
  const [P, Y, W, out] = tf.tidy(() => {
    const qq = tf.concat([q, q, q], 0) as tf.Tensor3D; // (3N, 3L, e)
    const kT = swap12(segmentsOuter(k, L)); // (3N, e, L)
    const S = tf.matMul(qq, kT); // (3N, 3L, L)
    // exp, not tf.softmax: XNNPACK's softmax (4x faster on wasm) rounds differently enough to
    // move the parity losses (joint, attention KL) past their tolerances
    const m = tf.max(S, -1, true);
    const ex = tf.exp(tf.sub(S, m));
    const sum = tf.sum(ex, -1, true);
    const p = tf.div(ex, sum);
    const lse = tf.add(m, tf.log(sum)).reshape([3 * N, T]); // (3N, 3L)
    const y = tf.matMul(p, segmentsOuter(v, L)); // (3N, 3L, e)
    // per query: the three blocks side by side
    const yq = y.reshape([3, N * T, e]).transpose([1, 0, 2]) as tf.Tensor3D; // (N*3L, 3, e)
    const lseq = lse
      .reshape([3, N * T])
      .transpose([1, 0])
      .reshape([N, T, 1, 3]);
    const w = tf.softmax(tf.add(lseq, tf.tensor3d(slotMask(L), [T, 4, 3]))).reshape([N * T, 4, 3]) as tf.Tensor3D;
    const o = tf.matMul(w, yq).reshape([N, T, 4 * e]); // (N*3L, 4, e) -> (N, 3L, 4e)
    const lseFull = tf.logSumExp(lseq.reshape([N, T, 3]), -1, true);
    return [p, y, w, tf.concat([o, lseFull], -1)];
  });
  save([q, k, v, P, Y, W]);
  return {
    value: out as tf.Tensor,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
      tf.tidy(() => {
        const [sq, sk, sv, sp, sy, sw] = saved as tf.Tensor3D[];
        const [dO, dLf] = tf.split(dy, [4 * e, 1], 2);
        const dOq = dO.reshape([N * T, 4, e]) as tf.Tensor3D;
        const yq = sy.reshape([3, N * T, e]).transpose([1, 0, 2]) as tf.Tensor3D; // (N*3L, 3, e)
        // o = w yq: dyq = w^T dO, dw = dO yq^T
        const dyq = tf.matMul(swap12(sw), dOq); // (N*3L, 3, e)
        const dw = tf.matMul(dOq, swap12(yq)); // (N*3L, 4, 3)
        // softmax over blocks; slot 0 (all three blocks) is also softmax(lse), the lseFull gradient
        const dA = tf.mul(sw, tf.sub(dw, tf.sum(tf.mul(sw, dw), -1, true)));
        const w0 = sw.slice([0, 0, 0], [N * T, 1, 3]).reshape([N * T, 3]);
        const dLseq = tf.add(tf.sum(dA, 1), tf.mul(dLf.reshape([N * T, 1]), w0)); // (N*3L, 3)
        const dY = dyq.transpose([1, 0, 2]).reshape([3 * N, T, e]) as tf.Tensor3D;
        const dLse = dLseq.transpose([1, 0]).reshape([3 * N, T, 1]);
        // y = P v, lse = logsumexp(S): dS = P * (dY v^T - rowsum(dY * y) + dlse)
        const v3 = segmentsOuter(sv, L);
        const delta = tf.sub(tf.sum(tf.mul(dY, sy), -1, true), dLse);
        const dS = tf.mul(sp, tf.sub(tf.matMul(dY, swap12(v3)), delta)); // (3N, 3L, L)
        const dqq = tf.matMul(dS, segmentsOuter(sk, L)); // (3N, 3L, e)
        const dq = tf.sum(dqq.reshape([3, N, T, e]), 0);
        const qqT = swap12(tf.concat([sq, sq, sq], 0) as tf.Tensor3D); // (3N, e, 3L)
        const dk = segmentsInnerFromT(tf.matMul(qqT, dS), N); // S^T q, kept transposed
        const dv = segmentsInnerFromT(tf.matMul(swap12(dY), sp), N); // P^T dY, kept transposed
        return [dq, dk, dv];
      }),
  };
}) as unknown as (q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D) => tf.Tensor3D;

/**
 * What the last layer's attention map is made of: the scaled queries and keys per segment and
 * the full-row logsumexp per query segment, all (B*H, L, .). The raw scores of block (i, j) are
 * q[i] k[j]^T and the full log-softmax is q[i] k[j]^T - lse[i]; materialise them only when needed.
 */
export interface AttentionState {
  q: tf.Tensor3D[];
  k: tf.Tensor3D[];
  lse: tf.Tensor3D[];
}

export interface McaWeights {
  inProjWeight: tf.Tensor;
  inProjBias: tf.Tensor;
  outProj: { weight: tf.Tensor; bias: tf.Tensor }[]; // 7
  summary: { weight: tf.Tensor; bias: tf.Tensor }[]; // s_l, s_a, s_v
  finalOut: { weight: tf.Tensor; bias: tf.Tensor };
}

/** (B, T, d) -> (B*H, T, d/H), head-major within each sample (index b*H + h, as the reference). */
function splitHeads(x: tf.Tensor3D, heads: number): tf.Tensor3D {
  const [B, T, d] = x.shape;
  return x
    .reshape([B, T, heads, d / heads])
    .transpose([0, 2, 1, 3])
    .reshape([B * heads, T, d / heads]);
}

function mergeHeads(x: tf.Tensor3D, batch: number): tf.Tensor3D {
  const [BH, T, e] = x.shape;
  const H = BH / batch;
  return x
    .reshape([batch, H, T, e])
    .transpose([0, 2, 1, 3])
    .reshape([batch, T, H * e]);
}

/**
 * MCA over x (B, 3L, d) made of three segments of length L. Returns the layer output (B, 3L, d)
 * and the attention state of this layer.
 */
export function multimodalCompositeAttention(
  x: tf.Tensor3D,
  w: McaWeights,
  heads: number,
  segLen: number,
  attnDropout: number,
  drop: DropoutSource | null,
): { out: tf.Tensor3D; state: AttentionState } {
  const [B, T, d] = x.shape;
  if (T !== 3 * segLen) throw new Error(`MCA: sequence length ${T} is not 3 x ${segLen}`);
  if (drop && attnDropout > 0) return blockwiseMca(x, w, heads, attnDropout, drop);
  const e = d / heads;
  const qkv = linear(x, w.inProjWeight, w.inProjBias) as tf.Tensor3D; // (B, 3L, 3d)
  const [qp, kp, vp] = tf.split(qkv, 3, 2) as tf.Tensor3D[];
  const q = splitHeads(tf.mul(qp, Math.pow(e, -0.5)) as tf.Tensor3D, heads);
  const k = splitHeads(kp, heads);
  const v = splitHeads(vp, heads);
  const [o, lse] = tf.split(mcaCore(q, k, v), [4 * e, 1], 2) as tf.Tensor3D[];
  // (B*H, 3L, 4 slots x e) -> (B, 3L, 4 slots x d): each slot's heads merged as mergeHeads does
  const slots = o
    .reshape([B, heads, T, 4, e])
    .transpose([0, 2, 3, 1, 4])
    .reshape([B, T, 4 * d]);
  const segments = (tf.split(slots, 3, 1) as tf.Tensor3D[]).map((xi, i) => {
    // the four branches' out_proj as one block-diagonal (4d, 4d) linear: the concatenation s_i reads
    const br = SUMMARY_BRANCHES[i].map((bi) => w.outProj[bi]);
    const row = tf.concat(
      br.map((b) => b.weight),
      1,
    ); // (d, 4d)
    const blockDiag = tf.mul(tf.concat([row, row, row, row], 0), blockDiagMask(d));
    const cat = linear(
      xi,
      blockDiag,
      tf.concat(
        br.map((b) => b.bias),
        0,
      ),
    );
    return linear(cat, w.summary[i].weight, w.summary[i].bias);
  });
  const out = linear(tf.concat(segments, 1), w.finalOut.weight, w.finalOut.bias) as tf.Tensor3D;
  const split3 = (t: tf.Tensor3D) => tf.split(t, 3, 1) as tf.Tensor3D[];
  return { out, state: { q: split3(q), k: split3(k), lse: split3(lse) } };
}

const blockMaskCache = new Map<number, Float32Array>();
/** (4d, 4d) 0/1, ones on the four (d, d) diagonal blocks. */
function blockDiagMask(d: number): tf.Tensor2D {
  let a = blockMaskCache.get(d);
  if (!a) {
    a = new Float32Array(16 * d * d);
    for (let r = 0; r < 4 * d; r++)
      for (let c = 0; c < 4 * d; c++) a[r * 4 * d + c] = Math.floor(r / d) === Math.floor(c / d) ? 1 : 0;
    blockMaskCache.set(d, a);
  }
  return tf.tensor2d(a, [4 * d, 4 * d]);
}

/**
 * The block-wise MCA (one custom op per block): used only when attention dropout is on, because
 * dropout acts on the LAV weights themselves (training only; the default rate is 0).
 */
function blockwiseMca(
  x: tf.Tensor3D,
  w: McaWeights,
  heads: number,
  attnDropout: number,
  drop: DropoutSource,
): { out: tf.Tensor3D; state: AttentionState } {
  const [B, , d] = x.shape;
  const scaling = Math.pow(d / heads, -0.5);
  const qkv = linear(x, w.inProjWeight, w.inProjBias) as tf.Tensor3D; // (B, 3L, 3d)
  const [qp, kp, vp] = tf.split(qkv, 3, 2) as tf.Tensor3D[];
  const q = splitHeads(tf.mul(qp, scaling) as tf.Tensor3D, heads);
  const k = splitHeads(kp, heads);
  const v = splitHeads(vp, heads);
  const qs = tf.split(q, 3, 1) as tf.Tensor3D[];
  const ks = tf.split(k, 3, 1) as tf.Tensor3D[];
  const vs = tf.split(v, 3, 1) as tf.Tensor3D[];
  const blocks: BlockResult[][] = qs.map((qi) => ks.map((kj, j) => attendBlock(qi, kj, vs[j])));
  const lseFull = blocks.map((row) => logSumExpOf(row.map((b) => b.lse)));

  // branchOut[b][i]: output of branch b at query segment i (only where segment i is in the branch)
  const branchOut: (tf.Tensor3D | null)[][] = MCA_BRANCHES.map((br, bi) =>
    [0, 1, 2].map((i) => {
      if (!br.keys.includes(i)) return null;
      let o: tf.Tensor3D;
      if (bi === 0) {
        // Attention dropout acts on the LAV weights themselves, so this branch is formed
        // explicitly from the scores (training only; the default rate is 0).
        o = tf.addN(
          [0, 1, 2].map((j) => {
            const p = tf.exp(tf.sub(tf.matMul(qs[i], ks[j], false, true), lseFull[i]));
            return tf.matMul(dropout(p, attnDropout, drop), vs[j]);
          }),
        ) as tf.Tensor3D;
      } else {
        o = mergeBlocks(br.keys.map((j) => blocks[i][j]));
      }
      const merged = mergeHeads(o, B);
      return linear(merged, w.outProj[bi].weight, w.outProj[bi].bias) as tf.Tensor3D;
    }),
  );
  const segments = [0, 1, 2].map((i) => {
    const cat = tf.concat(
      SUMMARY_BRANCHES[i].map((bi) => branchOut[bi][i]!),
      -1,
    );
    return linear(cat, w.summary[i].weight, w.summary[i].bias);
  });
  const out = linear(tf.concat(segments, 1), w.finalOut.weight, w.finalOut.bias) as tf.Tensor3D;
  return { out, state: { q: qs, k: ks, lse: lseFull } };
}

/** Raw scaled scores (B*H, 3L, 3L) of a layer, assembled from its state (fixtures, display). */
export function fullScores(state: AttentionState): tf.Tensor3D {
  return tf.concat(
    state.q.map((qi) =>
      tf.concat(
        state.k.map((kj) => tf.matMul(qi, swap12(kj))),
        -1,
      ),
    ),
    1,
  ) as tf.Tensor3D;
}

export interface WsamWeights {
  inProjWeight: tf.Tensor;
  inProjBias: tf.Tensor;
  outWeight: tf.Tensor;
  outBias: tf.Tensor;
}

/**
 * WSAM (spec 2.3): single-head attention from projected text (B, L, d) to projected audio or
 * vision frames (B, T, d). `queryMask` (B, L) is the text mask with [CLS] and [SEP] cleared;
 * excluded (query, frame) pairs get -1e9 and their weights are zeroed after the softmax, so
 * excluded words give out_proj(0) = its bias. Returns the word-level sequence and the
 * word-to-frame weights (B, L, T).
 */
export function wordLevelAlignment(
  text: tf.Tensor3D,
  frames: tf.Tensor3D,
  queryMask: tf.Tensor2D,
  frameMask: tf.Tensor2D,
  w: WsamWeights,
): { out: tf.Tensor3D; weights: tf.Tensor3D } {
  const d = text.shape[2];
  const [wq, wk, wv] = tf.split(w.inProjWeight, 3, 0);
  const [bq, bk, bv] = tf.split(w.inProjBias, 3, 0);
  const q = tf.mul(linear(text, wq, bq), Math.pow(d, -0.5)) as tf.Tensor3D;
  const k = linear(frames, wk, bk) as tf.Tensor3D;
  const v = linear(frames, wv, bv) as tf.Tensor3D;
  const scores = tf.matMul(q, k, false, true); // (B, L, T)
  const M = tf.mul(queryMask.expandDims(2), frameMask.expandDims(1)); // (B, L, T) 0/1
  const weights = tf.mul(tf.softmax(tf.add(scores, tf.mul(tf.sub(M, 1), 1e9))), M) as tf.Tensor3D;
  const out = linear(tf.matMul(weights, v), w.outWeight, w.outBias) as tf.Tensor3D;
  return { out, weights };
}
