/**
 * ONNX export of a CIDer model (spec section 2, eval mode: no dropout), built here from the
 * config and the checkpoint's weights (reference state_dict names). One graph computes BOTH
 * debiasing views (spec 5): the missing view and the counterfactual view differ only in their
 * text features, so the two texts are stacked along the batch (2B rows: missing first) and
 * everything that does not depend on the text (audio/vision projections, WSAM keys and values,
 * the aligned audio/vision GRUs) runs once on B rows. `text_cf` may have 0 rows: then only the
 * missing view is computed (B rows; what plain missing-rate sweeps need) and the *_cf outputs
 * are empty. Comments below write 2B for the stacked rows (N = V * B, V = 2 or 1).
 *
 * Choices that keep onnxruntime fast (engine-notes.md):
 * - cheap masks: no (B*H, 3L, 3L) mask is ever built. MCA is computed from the nine (query
 *   segment, key segment) blocks: one batched MatMul gives all blocks, a block-local softmax
 *   gives P_ij v_j and logsumexp_ij, and each branch is merged from its blocks with a softmax
 *   over the blocks' logsumexps (as model/attention.ts does). Which blocks form which branch is a
 *   (3, 4, 3, 1, 1) additive constant (0 / -1e9). Equal to the reference's masked softmaxes: a key
 *   with -1e9 gets weight exactly 0 in float32, and rows outside a branch are never read.
 * - branch output linears, the per-segment summarisers s_l/s_a/s_v and final_out_proj are one
 *   linear map per segment; they are folded in float64 at export into one (4d, d) matrix each.
 * - the batch axis is dynamic; the GRU (ONNX GRU, linear_before_reset = 1 = PyTorch's gates,
 *   gate order reordered r,z,n -> z,r,n) has no initial_h, so its zero state follows the batch.
 * - positional table: 'temporal' is a (3L, 1, d) constant; 'reference' gathers rows
 *   batch_offset .. batch_offset + B - 1 of a (referenceRows, d) constant (the quirk, spec 2.5).
 */
import { createHash } from 'node:crypto';
import type { NamedTensor } from '../io/safetensors.js';
import type { CiderConfig } from '../model/config.js';
import { paramSpecs, confounderEncoderIndices } from '../model/params.js';
import { sinusoidalTable } from '../model/layers.js';
import { GraphBuilder, float, serializeModel } from './graph.js';

export const ONNX_OPSET = 17;
export const ONNX_IR_VERSION = 8;
/** 2: the attention_rows input and attention_weights output (explanations through the engine) */
export const EXPORTER_VERSION = '2';

/**
 * Graph input names, in order. `batch_offset` exists only with the 'reference' positional mode.
 * `attention_rows` (int64, R) picks the missing-view rows whose full attention weights
 * `attention_weights` returns; R = 0 (plain prediction) leaves that branch with no work.
 * Exports of exporter version 1 have neither: they predict, but cannot explain.
 */
export const CIDER_ONNX_INPUTS = [
  'text',
  'text_cf',
  'text_mask',
  'text_lengths',
  'audio',
  'audio_mask',
  'vision',
  'vision_mask',
  'confounder_dictionary',
  'class_prior',
  'attention_rows',
  'batch_offset',
] as const;
export type CiderOnnxInput = (typeof CIDER_ONNX_INPUTS)[number];

/** Graph output names. The wsam_* maps exist only for unaligned models; attention_weights from exporter version 2. */
export const CIDER_ONNX_OUTPUTS = [
  'log_probs',
  'log_probs_cf',
  'joint',
  'joint_cf',
  'attention_segments',
  'attention_weights',
  'wsam_audio_weights',
  'wsam_vision_weights',
] as const;
export type CiderOnnxOutput = (typeof CIDER_ONNX_OUTPUTS)[number];

/** Weights: tf.Variables / tf.Tensors (anything with shape + dataSync) or safetensors tensors. */
export interface TensorLike {
  shape: readonly number[];
  dataSync(): ArrayLike<number>;
}
export type WeightSource = ReadonlyMap<string, TensorLike> | ReadonlyMap<string, NamedTensor>;

export interface ExportOptions {
  /** strip this prefix from weight names (the parity fixtures use 'weight.') */
  prefix?: string;
  /** rows of the positional table for the 'reference' mode: the largest batch_offset + B served (default 4096) */
  referenceRows?: number;
  /** stored in the model's metadata */
  modelName?: string;
  /**
   * the attention_rows input and attention_weights output that explanations read (default true);
   * false writes the prediction-only graph exporter version 1 wrote (to measure what they cost)
   */
  explanationOutputs?: boolean;
}

export interface CiderOnnxExport {
  /** the serialised ModelProto */
  bytes: Uint8Array;
  inputs: string[];
  outputs: string[];
  /** what is stored in metadata_props (also readable back with readExportMetadata) */
  metadata: CiderExportMetadata;
}

export interface CiderExportMetadata {
  exporterVersion: string;
  config: CiderConfig;
  /** sha256 over the parameters in paramSpecs order (name, shape, float32 bytes): ties an export to its checkpoint */
  weightsSha256: string;
  referenceRows: number;
  inputs: string[];
  outputs: string[];
}

interface W {
  shape: number[];
  data: Float32Array;
}

function readWeights(cfg: CiderConfig, source: WeightSource, prefix: string): Map<string, W> {
  const out = new Map<string, W>();
  for (const spec of paramSpecs(cfg)) {
    const t = (source as ReadonlyMap<string, TensorLike | NamedTensor>).get(prefix + spec.name);
    if (!t) throw new Error(`ONNX export: weight ${prefix + spec.name} is missing`);
    const shape = [...t.shape];
    if (shape.length !== spec.shape.length || shape.some((v, i) => v !== spec.shape[i])) {
      throw new Error(
        `ONNX export: ${spec.name} is [${shape.join(', ')}], the config expects [${spec.shape.join(', ')}]`,
      );
    }
    const raw = 'dataSync' in t ? t.dataSync() : t.data;
    out.set(spec.name, {
      shape,
      data: raw instanceof Float32Array ? raw : Float32Array.from(raw as ArrayLike<number>),
    });
  }
  return out;
}

/** sha256 of the parameters (name, shape, float32 bytes) in paramSpecs order. */
export function weightsFingerprint(cfg: CiderConfig, source: WeightSource, prefix = ''): string {
  return fingerprint(cfg, readWeights(cfg, source, prefix));
}

function fingerprint(cfg: CiderConfig, w: Map<string, W>): string {
  const h = createHash('sha256');
  for (const spec of paramSpecs(cfg)) {
    const t = w.get(spec.name)!;
    h.update(`${spec.name}:${t.shape.join('x')};`);
    h.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  }
  return h.digest('hex');
}

/** (out, in) row-major -> (in, out) row-major: the right operand of MatMul for y = x W^T. */
function transpose2d(data: ArrayLike<number>, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  return out;
}

/** Rows [from, to) of a (rows, cols) matrix. */
function rowsOf(w: W, from: number, to: number): W {
  const cols = w.shape.length > 1 ? w.shape[1] : 1;
  return {
    shape: w.shape.length > 1 ? [to - from, cols] : [to - from],
    data: w.data.slice(from * cols, to * cols),
  };
}

/** PyTorch GRU weights, gate rows [r; z; n]. */
export interface GruArrays {
  weightIh: Float32Array; // (3H, I)
  weightHh: Float32Array; // (3H, H)
  biasIh: Float32Array; // (3H)
  biasHh: Float32Array; // (3H)
}

/**
 * A single-layer PyTorch GRU over batch-major x (N, T, I) as one ONNX GRU node: gate rows
 * reordered r,z,n -> z,r,n, linear_before_reset = 1 (the reset gate multiplies W_hn h + b_hn),
 * no initial_h (zeros of whatever batch size arrives). Returns time-major (T, N, H).
 */
export function addGru(g: GraphBuilder, x: string, w: GruArrays, hidden: number, hint: string): string {
  const reorder = (t: Float32Array): Float32Array => {
    const n = t.length / 3;
    const out = new Float32Array(t.length);
    out.set(t.subarray(n, 2 * n), 0);
    out.set(t.subarray(0, n), n);
    out.set(t.subarray(2 * n), 2 * n);
    return out;
  };
  const inF = w.weightIh.length / (3 * hidden);
  const Wt = g.tensor(`${hint}_gru_W`, reorder(w.weightIh), [1, 3 * hidden, inF]);
  const Rt = g.tensor(`${hint}_gru_R`, reorder(w.weightHh), [1, 3 * hidden, hidden]);
  const bias = new Float32Array(6 * hidden);
  bias.set(reorder(w.biasIh), 0);
  bias.set(reorder(w.biasHh), 3 * hidden);
  const Bt = g.tensor(`${hint}_gru_B`, bias, [1, 6 * hidden]);
  const xt = g.op('Transpose', [x], { perm: [1, 0, 2] }); // (T, N, I)
  const y = g.op('GRU', [xt, Wt, Rt, Bt], { hidden_size: hidden, linear_before_reset: 1 }, `${hint}_gru`); // (T, 1, N, H)
  return g.op('Squeeze', [y, g.i64([1])]); // (T, N, H)
}

/** Build the CIDer graph and serialise it. */
export function exportCiderOnnx(cfg: CiderConfig, weights: WeightSource, opts: ExportOptions = {}): CiderOnnxExport {
  const w = readWeights(cfg, weights, opts.prefix ?? '');
  const referenceRows = opts.referenceRows ?? 4096;
  const g = new GraphBuilder();
  const { d, dl, da, dv, heads: H, classes: C, textLength: L, audioLength: Ta, visionLength: Tv } = cfg;
  const e = d / H;
  const D = dl + da + dv;
  const p = (name: string): W => {
    const t = w.get(name);
    if (!t) throw new Error(`ONNX export: parameter ${name} is missing`);
    return t;
  };

  // ---- inputs
  const B = 'batch';
  const text = g.input('text', 'float', [B, L, dl]);
  // B rows for both views, or 0 rows for the missing view only (half the work for plain sweeps)
  const textCf = g.input('text_cf', 'float', ['cf_batch', L, dl]);
  const textMask = g.input('text_mask', 'float', [B, L]);
  const textLengths = g.input('text_lengths', 'int64', [B]);
  const audio = g.input('audio', 'float', [B, Ta, da]);
  const audioMask = g.input('audio_mask', 'float', [B, Ta]);
  const vision = g.input('vision', 'float', [B, Tv, dv]);
  const visionMask = g.input('vision_mask', 'float', [B, Tv]);
  const dictionary = g.input('confounder_dictionary', 'float', [C, 'dictionary_rows', D]);
  const prior = g.input('class_prior', 'float', ['prior_rows', C]);
  const explain = opts.explanationOutputs ?? true;
  const attentionRows = explain ? g.input('attention_rows', 'int64', ['attention_rows']) : null;
  const batchOffset = cfg.positional === 'reference' ? g.input('batch_offset', 'int64', []) : null;

  // ---- helpers
  /** x W^T (+ b) for a (out, in) weight over the last axis. */
  const linearW = (x: string, weight: W, bias: W | null, hint: string): string => {
    const [outF, inF] = weight.shape;
    let y = g.op('MatMul', [x, g.tensor(`${hint}_wT`, transpose2d(weight.data, outF, inF), [inF, outF])]);
    if (bias) y = g.op('Add', [y, g.tensor(`${hint}_b`, bias.data, [outF])]);
    return y;
  };
  const linear = (x: string, name: string, bias = true): string =>
    linearW(x, p(`${name}.weight`), bias ? p(`${name}.bias`) : null, name);
  const layerNorm = (x: string, weight: W | null, bias: W | null, hint: string): string =>
    g.op(
      'LayerNormalization',
      bias
        ? [x, g.tensor(`${hint}_g`, weight!.data, [d]), g.tensor(`${hint}_b`, bias.data, [d])]
        : [x, g.f32(new Array(d).fill(1), [d])],
      {
        axis: -1,
        epsilon: float(1e-5),
      },
    );
  const ln = (x: string, name: string): string => layerNorm(x, p(`${name}.weight`), p(`${name}.bias`), name);
  const stack = (ws: W[], shape: number[], hint: string): string => {
    const n = ws[0].data.length;
    const data = new Float32Array(ws.length * n);
    ws.forEach((t, i) => data.set(t.data, i * n));
    return g.tensor(hint, data, shape);
  };
  const transposed = (t: W): W => ({
    shape: [t.shape[1], t.shape[0]],
    data: transpose2d(t.data, t.shape[0], t.shape[1]),
  });

  // ---- 2. projections (kernel-1 Conv1d weights (d, dm, 1) are (d, dm) linears without bias)
  const proj = (x: string, name: string, dm: number): string =>
    linearW(x, { shape: [d, dm], data: p(`${name}.weight`).data }, null, name);
  // project each text before stacking the views: concatenating (B, L, 768) inputs costs a copy
  const projText = g.op('Concat', [proj(text, 'proj_l', dl), proj(textCf, 'proj_l', dl)], { axis: 0 }); // (V*B, L, d), V = 1 or 2 views
  const nB = g.op('Gather', [g.op('Shape', [text]), g.i64([0])], { axis: 0 }); // [B]
  const nViews = g.op('Div', [g.op('Gather', [g.op('Shape', [projText]), g.i64([0])], { axis: 0 }), nB]); // [V]
  /** V copies of x along `axis` (rank `rank`): the view-independent parts for each view */
  const perView = (x: string, axis: number, rank: number): string =>
    g.op('Tile', [
      x,
      g.op(
        'Concat',
        Array.from({ length: rank }, (_, i) => (i === axis ? nViews : g.i64([1]))),
        { axis: 0 },
      ),
    ]);
  /** rows [from, to) of axis 0 ([from] / [to] are 1-element int64 tensors) */
  const rowsBetween = (x: string, from: string, to: string): string => g.op('Slice', [x, from, to, g.i64([0])]);
  const missingRows = (x: string): string => rowsBetween(x, g.i64([0]), nB);
  const projAudio = proj(audio, 'proj_a', da); // (B, Ta, d)
  const projVision = proj(vision, 'proj_v', dv); // (B, Tv, d)

  // ---- 3. WSAM (unaligned): both views' queries against one set of keys/values (broadcast MatMul)
  let seqAudio: string; // (2B, L, d) or, aligned, (B, L, d) shared by both views
  let seqVision: string;
  let wsamWeights: [string, string] | null = null;
  if (!cfg.aligned) {
    // query mask: the text mask with [CLS] (0) and [SEP] (len - 1) cleared
    const pos = g.i64(
      Array.from({ length: L }, (_, i) => i),
      [1, L],
    );
    const last = g.op('Unsqueeze', [g.op('Sub', [textLengths, g.i64([1], [])]), g.i64([1])]); // (B, 1)
    const notSep = g.op('Not', [g.op('Equal', [pos, last])]);
    const notCls = g.bool(
      Array.from({ length: L }, (_, i) => i !== 0),
      [1, L],
    );
    const qmask = g.op('Mul', [textMask, g.op('Cast', [g.op('And', [notSep, notCls])], { to: 1 })]); // (B, L)
    const q4 = (m: 'a' | 'v'): string => {
      const inW = p(`${m}_compress.in_proj_weight`);
      const inB = p(`${m}_compress.in_proj_bias`);
      const q = g.op('Mul', [
        linearW(projText, rowsOf(inW, 0, d), rowsOf(inB, 0, d), `${m}_compress_q`),
        g.f32([Math.pow(d, -0.5)], []),
      ]);
      return g.op('Reshape', [q, g.op('Concat', [g.i64([-1]), nB, g.i64([L, d])], { axis: 0 })]); // (V, B, L, d)
    };
    const wsam = (m: 'a' | 'v', frames: string, frameMask: string): [string, string] => {
      const inW = p(`${m}_compress.in_proj_weight`);
      const inB = p(`${m}_compress.in_proj_bias`);
      const k = linearW(frames, rowsOf(inW, d, 2 * d), rowsOf(inB, d, 2 * d), `${m}_compress_k`); // (B, T, d)
      const v = linearW(frames, rowsOf(inW, 2 * d, 3 * d), rowsOf(inB, 2 * d, 3 * d), `${m}_compress_v`);
      const scores = g.op('MatMul', [q4(m), g.op('Transpose', [k], { perm: [0, 2, 1] })]); // (2, B, L, T)
      const M = g.op('Mul', [g.op('Unsqueeze', [qmask, g.i64([2])]), g.op('Unsqueeze', [frameMask, g.i64([1])])]); // (B, L, T)
      const bias = g.op('Mul', [g.op('Sub', [M, g.f32([1], [])]), g.f32([1e9], [])]);
      const weights = g.op('Mul', [g.op('Softmax', [g.op('Add', [scores, bias])], { axis: -1 }), M]); // (2, B, L, T)
      const out = linear(g.op('MatMul', [weights, v]), `${m}_compress.out_proj`); // (2, B, L, d)
      return [g.op('Reshape', [out, g.i64([-1, L, d])]), weights];
    };
    const [a, aw] = wsam('a', projAudio, audioMask);
    const [v, vw] = wsam('v', projVision, visionMask);
    seqAudio = a;
    seqVision = v;
    wsamWeights = [aw, vw];
  } else {
    seqAudio = projAudio;
    seqVision = projVision;
  }

  // ---- 4. GRUs (time-major, ONNX gate order z, r, n)
  const gru = (x: string, m: string): string =>
    addGru(
      g,
      x,
      {
        weightIh: p(`${m}.weight_ih_l0`).data,
        weightHh: p(`${m}.weight_hh_l0`).data,
        biasIh: p(`${m}.bias_ih_l0`).data,
        biasHh: p(`${m}.bias_hh_l0`).data,
      },
      d,
      m,
    );
  const gText = gru(projText, 't');
  const gAudio = cfg.aligned ? perView(gru(seqAudio, 'a'), 1, 3) : gru(seqAudio, 'a');
  const gVision = cfg.aligned ? perView(gru(seqVision, 'v'), 1, 3) : gru(seqVision, 'v');

  // ---- 5. MCT, time-major (3L, 2B, d)
  let x = g.op('Concat', [gText, gAudio, gVision], { axis: 0 });
  if (cfg.positional === 'temporal') {
    x = g.op('Add', [x, g.tensor('positional_table', sinusoidalTable(3 * L, d), [3 * L, 1, d])]);
  } else {
    const nB = g.op('Gather', [g.op('Shape', [text]), g.i64([0], [])], {
      axis: 0,
    }); // scalar B
    const idx = g.op('Range', [batchOffset!, g.op('Add', [batchOffset!, nB]), g.i64([1], [])]);
    const rows = g.op(
      'Gather',
      [g.tensor('positional_table', sinusoidalTable(referenceRows, d), [referenceRows, d]), idx],
      { axis: 0 },
    ); // (B, d)
    x = g.op('Add', [x, perView(rows, 0, 2)]);
  }
  // branch key sets per (query segment, summary slot): text [LAV, LA, LV, L], audio [LAV, LA, AV, A], vision [LAV, LV, AV, V]
  const SLOT_KEYS = [
    [[0, 1, 2], [0, 1], [0, 2], [0]],
    [[0, 1, 2], [0, 1], [1, 2], [1]],
    [[0, 1, 2], [0, 2], [1, 2], [2]],
  ];
  const SLOT_BRANCH = [
    [0, 1, 2, 4],
    [0, 1, 3, 5],
    [0, 2, 3, 6],
  ];
  const blockBias = new Float32Array(3 * 4 * 3);
  for (let i = 0; i < 3; i++)
    for (let k = 0; k < 4; k++)
      for (let j = 0; j < 3; j++) blockBias[(i * 4 + k) * 3 + j] = SLOT_KEYS[i][k].includes(j) ? 0 : -1e9;
  const blockBiasT = g.tensor('mca_block_bias', blockBias, [3, 4, 3, 1, 1]);
  const scaling = Math.pow(e, -0.5);
  /**
   * The asked rows' full attention weights in the last layer: the LAV branch is the plain softmax
   * of every query over all 3L keys, recomputed here from that layer's normalised input for the
   * gathered rows only. The gather runs right after the LayerNorm, so no big tensor of the main
   * graph gets a late consumer (deriving the weights from the score blocks instead cost plain
   * prediction 5-7% CPU; this costs nothing measurable, bench/explain.ts), and R = 0 is no work.
   */
  const fullAttentionOfRows = (ln0: string, sa: string): string => {
    const rows = g.op('Gather', [ln0, attentionRows!], { axis: 1 }); // (3L, R, d)
    const qkvRows = linearW(rows, p(`${sa}.in_proj_weight`), p(`${sa}.in_proj_bias`), `${sa}.in_proj_rows`); // (3L, R, 3d)
    // Reshape's 0 copies the input's dimension, so R = 0 needs no -1
    const split = g.op('Transpose', [g.op('Reshape', [qkvRows, g.i64([3 * L, 0, 3, H, e])])], {
      perm: [2, 1, 3, 0, 4],
    }); // (qkv, R, H, 3L, e)
    const [q, k] = g
      .opN('Split', [split], 3, { axis: 0 })
      .slice(0, 2)
      .map((t) => g.op('Squeeze', [t, g.i64([0])])); // (R, H, 3L, e)
    const scores = g.op('MatMul', [
      g.op('Mul', [q, g.f32([scaling], [])]),
      g.op('Transpose', [k], { perm: [0, 1, 3, 2] }),
    ]); // (R, H, 3L, 3L)
    return g.op('Softmax', [scores], { axis: -1 });
  };
  let attentionWeights: string | null = null;
  let lastLavWeights: string | null = null;
  for (let layer = 0; layer < cfg.layers; layer++) {
    const pre = `multimodal_transformer.layers.${layer}`;
    const sa = `${pre}.self_attn`;
    const ln0 = ln(x, `${pre}.layer_norms.0`);
    if (layer === cfg.layers - 1 && attentionRows) attentionWeights = fullAttentionOfRows(ln0, sa);
    const qkvOut = linearW(ln0, p(`${sa}.in_proj_weight`), p(`${sa}.in_proj_bias`), `${sa}.in_proj`); // (3L, 2B, 3d)
    const r6 = g.op('Reshape', [qkvOut, g.i64([3, L, -1, 3, H, e])]); // (seg, L, N, qkv, H, e)
    const [qr, kr, vr] = g.opN('Split', [r6], 3, { axis: 3 });
    // Blocks are kept transposed (keys on the second-last axis, queries last) so that every
    // broadcast runs along an outer axis over contiguous query rows (innermost broadcasts and
    // softmaxes over tiny axes are slow paths in onnxruntime).
    const qT = g.op('Mul', [g.op('Transpose', [qr], { perm: [2, 4, 0, 3, 5, 1] }), g.f32([scaling], [])]); // (N, H, 3i, 1, e, L)
    const k = g.op('Transpose', [kr], { perm: [2, 4, 3, 0, 1, 5] }); // (N, H, 1, 3j, L, e)
    const vT = g.op('Transpose', [vr], { perm: [2, 4, 3, 0, 5, 1] }); // (N, H, 1, 3j, e, L)
    const St = g.op('MatMul', [k, qT]); // (N, H, 3i, 3j, Lk, Lq): all nine blocks, transposed
    const m = g.op('ReduceMax', [St], { axes: [-2], keepdims: 1 }); // (N, H, 3i, 3j, 1, Lq)
    const ex = g.op('Exp', [g.op('Sub', [St, m])]);
    const s = g.op('ReduceSum', [ex, g.i64([-2])], { keepdims: 1 }); // (N, H, 3i, 3j, 1, Lq)
    const Ut = g.op('MatMul', [vT, ex]); // unnormalised (P_ij v_j)^T * s_ij, (N, H, 3i, 3j, e, Lq)
    const lse = g.op('Add', [m, g.op('Log', [s])]); // block logsumexp
    // branch (i, k) weights of its blocks j: softmax over j in the branch of lse_ij
    const lseK = g.op('Add', [g.op('Unsqueeze', [lse, g.i64([3])]), blockBiasT]); // (N, H, 3i, 4k, 3j, 1, Lq)
    const E = g.op('Exp', [g.op('Sub', [lseK, g.op('ReduceMax', [lseK], { axes: [4], keepdims: 1 })])]);
    const wts = g.op('Div', [E, g.op('ReduceSum', [E, g.i64([4])], { keepdims: 1 })]); // (N, H, 3i, 4k, 3j, 1, Lq)
    const coef = g.op('Div', [wts, g.op('Unsqueeze', [s, g.i64([3])])]);
    const O = g.op('ReduceSum', [g.op('Mul', [coef, g.op('Unsqueeze', [Ut, g.i64([3])])]), g.i64([4])], {
      keepdims: 0,
    }); // (N, H, 3i, 4k, e, Lq)
    const cat = g.op('Reshape', [g.op('Transpose', [O], { perm: [2, 0, 5, 3, 1, 4] }), g.i64([3, -1, L, 4 * d])]); // (3i, N, L, 4d) = [branch k | head h | e]
    // fold out_proj.<branch> -> s_<seg> -> final_out_proj into one (4d, d) map per segment (float64)
    const fin = p(`${sa}.final_out_proj.weight`);
    const finB = p(`${sa}.final_out_proj.bias`);
    const folded = new Float32Array(3 * 4 * d * d);
    const foldedB = new Float32Array(3 * d);
    ['s_l', 's_a', 's_v'].forEach((sName, i) => {
      const Sw = p(`${sa}.${sName}.weight`); // (d, 4d)
      const Sb = p(`${sa}.${sName}.bias`);
      // A = fin @ Sw : (d, 4d); then for slot k: G_k = A[:, k*d:(k+1)*d] @ outW_k : (d, d); y = x_k G_k^T
      const A = new Float64Array(d * 4 * d);
      for (let r = 0; r < d; r++)
        for (let c = 0; c < 4 * d; c++) {
          let acc = 0;
          for (let t = 0; t < d; t++) acc += fin.data[r * d + t] * Sw.data[t * 4 * d + c];
          A[r * 4 * d + c] = acc;
        }
      const biasAcc = new Float64Array(d);
      for (let r = 0; r < d; r++) {
        let acc = finB.data[r];
        for (let t = 0; t < d; t++) acc += fin.data[r * d + t] * Sb.data[t];
        biasAcc[r] = acc;
      }
      SLOT_BRANCH[i].forEach((branch, k) => {
        const ow = p(`${sa}.out_proj.${branch}.weight`);
        const ob = p(`${sa}.out_proj.${branch}.bias`);
        for (let r = 0; r < d; r++) {
          for (let c = 0; c < d; c++) {
            let acc = 0;
            for (let t = 0; t < d; t++) acc += A[r * 4 * d + k * d + t] * ow.data[t * d + c];
            // stored as the right MatMul operand: row (k*d + c), column r
            folded[i * 4 * d * d + (k * d + c) * d + r] = acc;
          }
          let acc = 0;
          for (let t = 0; t < d; t++) acc += A[r * 4 * d + k * d + t] * ob.data[t];
          biasAcc[r] += acc;
        }
      });
      for (let r = 0; r < d; r++) foldedB[i * d + r] = biasAcc[r];
    });
    const segOut = g.op('Add', [
      g.op('MatMul', [cat, g.tensor(`${sa}.folded_w`, folded, [3, 1, 4 * d, d])]),
      g.tensor(`${sa}.folded_b`, foldedB, [3, 1, 1, d]),
    ]); // (3, N, L, d)
    const mca = g.op('Reshape', [g.op('Transpose', [segOut], { perm: [0, 2, 1, 3] }), g.i64([3 * L, -1, d])]); // (3L, N, d)
    x = g.op('Add', [x, mca]);
    const ln1 = ln(x, `${pre}.layer_norms.1`);
    x = g.op('Add', [x, linear(g.op('Relu', [linear(ln1, `${pre}.fc1`)]), `${pre}.fc2`)]);
    if (layer === cfg.layers - 1) lastLavWeights = wts;
  }
  const mctOut = ln(x, 'multimodal_transformer.layer_norm'); // (3L, N, d)

  // ---- 7. attention pooling, the three segments at once
  const h3 = g.op('Reshape', [mctOut, g.i64([3, L, -1, d])]); // (3, L, N, d)
  const poolW = (idx: number) => (['l', 'a', 'v'] as const).map((m) => p(`attn_${m}.attention.${idx}.weight`));
  const poolB = (idx: number) => (['l', 'a', 'v'] as const).map((m) => p(`attn_${m}.attention.${idx}.bias`));
  const a0 = g.op('Tanh', [
    g.op('Add', [
      g.op('MatMul', [h3, stack(poolW(0).map(transposed), [3, 1, d, d], 'pool0_w')]),
      stack(poolB(0), [3, 1, 1, d], 'pool0_b'),
    ]),
  ]);
  const score = g.op('Add', [
    g.op('MatMul', [a0, stack(poolW(2).map(transposed), [3, 1, d, 1], 'pool2_w')]),
    stack(poolB(2), [3, 1, 1, 1], 'pool2_b'),
  ]); // (3, L, N, 1)
  const pw = g.op('Softmax', [score], { axis: 1 });
  const pooled = g.op('ReduceSum', [g.op('Mul', [pw, h3]), g.i64([1])], {
    keepdims: 0,
  }); // (3, N, d)
  const z0 = g.op('Reshape', [g.op('Transpose', [pooled], { perm: [1, 0, 2] }), g.i64([-1, 3 * d])]); // (N, 3d) = [gl, ga, gv]

  // ---- 8. joint representation
  const joint = g.op('Add', [z0, linear(g.op('Relu', [linear(z0, 'proj1')]), 'proj2')]);

  // ---- 9. MCM: dictionary (C, rows, D) with rows 1 (shared) or B (per sample); prior (rows, C)
  const [fl, fa, fv] = g.opN('Split', [dictionary, g.i64([dl, da, dv])], 3, {
    axis: 2,
  });
  const encode = (mod: 'l' | 'a' | 'v', f: string): string => {
    const [i0, i1, i2] = confounderEncoderIndices(cfg, mod);
    const norm = (t: string): string => (i1 - i0 === 3 ? layerNorm(t, null, null, '') : t);
    let h = g.op('Relu', [norm(linear(f, `cls_encoders_${mod}.${i0}`))]);
    h = g.op('Relu', [norm(linear(h, `cls_encoders_${mod}.${i1}`))]);
    return linear(h, `cls_encoders_${mod}.${i2}`);
  };
  const enc = g.op('Concat', [encode('l', fl), encode('a', fa), encode('v', fv)], { axis: -1 }); // (C, rows, 3d)
  const nRows = g.op('Gather', [g.op('Shape', [joint]), g.i64([0])], {
    axis: 0,
  }); // [2B]
  const repeatsOf = (t: string, axis: number): string =>
    g.op('Div', [nRows, g.op('Gather', [g.op('Shape', [t]), g.i64([axis])], { axis: 0 })]); // [2B / rows]
  const encT = g.op('Tile', [enc, g.op('Concat', [g.i64([1]), repeatsOf(enc, 1), g.i64([1])], { axis: 0 })]); // (C, 2B, 3d)
  const jointE = g.op('Expand', [joint, g.i64([C, 1, 1])]); // (C, 2B, 3d)
  const clsIn = g.op('Concat', [jointE, encT], { axis: -1 }); // (C, 2B, 6d)
  const clsW = Array.from({ length: C }, (_, c) => transposed(p(`classifiers.${c}.weight`)));
  const clsB = Array.from({ length: C }, (_, c) => p(`classifiers.${c}.bias`));
  const logits = g.op('Add', [
    g.op('MatMul', [clsIn, stack(clsW, [C, 6 * d, C], 'classifiers_w')]),
    stack(clsB, [C, 1, C], 'classifiers_b'),
  ]);
  const pc = g.op('Softmax', [logits], { axis: -1 }); // (C_k, 2B, C)
  const priorT = g.op('Tile', [prior, g.op('Concat', [repeatsOf(prior, 0), g.i64([1])], { axis: 0 })]); // (2B, C)
  const priorK = g.op('Unsqueeze', [g.op('Transpose', [priorT], { perm: [1, 0] }), g.i64([2])]); // (C_k, 2B, 1)
  const logProbs = g.op('Log', [g.op('ReduceSum', [g.op('Mul', [pc, priorK]), g.i64([0])], { keepdims: 0 })]); // (2B, C)

  // ---- outputs: split the two views
  const end = g.i64([2 ** 53]); // Slice clamps to the axis length
  const [lpM, lpCf] = [missingRows(logProbs), rowsBetween(logProbs, nB, end)];
  const [jM, jCf] = [missingRows(joint), rowsBetween(joint, nB, end)];
  g.output('log_probs', lpM, 'float', [B, C]);
  g.output('log_probs_cf', lpCf, 'float', ['cf_batch', C]);
  g.output('joint', jM, 'float', [B, 3 * d]);
  g.output('joint_cf', jCf, 'float', ['cf_batch', 3 * d]);
  // last layer, LAV branch: share of each query segment's attention that goes to each key
  // segment, averaged over heads and over the valid (text-mask) query positions. Missing view.
  {
    const lav = g.op('Slice', [lastLavWeights!, g.i64([0]), g.i64([1]), g.i64([3])]); // (N, H, 3i, 1, 3j, 1, L)
    const meanH = g.op('ReduceMean', [g.op('Reshape', [lav, g.i64([-1, H, 3, 3, L])])], { axes: [1], keepdims: 0 }); // (N, 3i, 3j, L)
    const mM = missingRows(meanH); // missing view (B, 3, 3, L)
    const count = g.op('Max', [g.op('ReduceSum', [textMask, g.i64([1])], { keepdims: 1 }), g.f32([1], [])]); // (B, 1)
    const wq = g.op('Reshape', [g.op('Div', [textMask, count]), g.i64([-1, 1, 1, L])]);
    const summary = g.op('ReduceSum', [g.op('Mul', [mM, wq]), g.i64([3])], {
      keepdims: 0,
    }); // (B, 3, 3)
    g.output('attention_segments', summary, 'float', [B, 3, 3]);
  }
  if (attentionWeights) g.output('attention_weights', attentionWeights, 'float', ['attention_rows', H, 3 * L, 3 * L]);
  if (wsamWeights) {
    const first = (t: string): string => g.op('Gather', [t, g.i64([0], [])], { axis: 0 });
    g.output('wsam_audio_weights', first(wsamWeights[0]), 'float', [B, L, Ta]);
    g.output('wsam_vision_weights', first(wsamWeights[1]), 'float', [B, L, Tv]);
  }

  const inputs = g.inputs.map((i) => i.name as string);
  const outputs = g.outputs.map((o) => o.name as string);
  const metadata: CiderExportMetadata = {
    exporterVersion: EXPORTER_VERSION,
    config: cfg,
    weightsSha256: fingerprint(cfg, w),
    referenceRows,
    inputs,
    outputs,
  };
  const bytes = serializeModel(g, 'cider', {
    producer: 'cider-studio',
    producerVersion: EXPORTER_VERSION,
    opset: ONNX_OPSET,
    irVersion: ONNX_IR_VERSION,
    doc: `CIDer (${cfg.aligned ? 'aligned' : 'unaligned'}, ${C} classes, positional ${cfg.positional}): missing and counterfactual views in one graph`,
    metadata: {
      'cider.export': JSON.stringify(metadata),
      ...(opts.modelName ? { 'cider.model': opts.modelName } : {}),
    },
  });
  return { bytes, inputs, outputs, metadata };
}
