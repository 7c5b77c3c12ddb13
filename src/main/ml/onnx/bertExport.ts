/**
 * ONNX export of the BERT text encoder (HF BertModel's last_hidden_state, eval mode), built here
 * from the config and HF-layout weights, so the frozen encoder and a fine-tuned run's encoder run
 * on ONNX Runtime with every core instead of TF.js wasm's one thread.
 *
 * Two forms of the same graph (opset 17, batch and sequence axes dynamic):
 * - `ortFused` (the default; we only run this model on ONNX Runtime): each layer is written with
 *   ONNX Runtime's own fused contrib ops (domain com.microsoft, CPU kernels in every ORT build):
 *   Attention (one (H, 3H) QKV GEMM, scaled dot product, the raw (B, L) 0/1 mask applied as
 *   `mask_filter_value` = HF's finfo(float32).min), SkipLayerNormalization (residual Add + bias +
 *   LayerNorm in one kernel) and BiasGelu / FastGelu (bias + exact / tanh GELU). Why not let the
 *   optimiser fuse the standard graph: ORT's C++ AttentionFusion (core/optimizer/
 *   attention_fusion.cc + attention_fusion_helper.h) matches by operator *versions* from the
 *   opset 11-13 era: Add/Div/Mul/Sub {7, 13}, Reshape {5, 13}, Unsqueeze {1, 11} (axes as an
 *   attribute), Cast {9}, LayerNormalization {1} (ORT's pre-opset-17 contrib schema) on the Q
 *   path, and the mask constant exactly -10000. An opset-17 graph resolves those to Add-14,
 *   Div-14, Mul-14, Sub-14, Reshape-14, Unsqueeze-13 (axes as an input) and LayerNormalization-17,
 *   so no path matches and attention stays unfused (only GELU -> BiasGelu and Div+MatMul ->
 *   FusedMatMul fired); the mask value would also change HF's numerics for an all-zero mask.
 *   SkipLayerNormFusion accepts the opset-17 versions but wants both Add inputs' dims equal and
 *   known or equally named; the position Slice ends at a run-time length, so the sequence axis is
 *   unnamed from the embeddings on and it does not fire either (it does with a fixed L).
 *   Emitting the fused ops ourselves does not depend on any of that.
 * - `standard` (ortFused: false): plain opset-17 ops in the layout of the PyTorch export (MatMul +
 *   Add for Q, K, V, Reshape (0, 0, heads, dh), Transpose, Div by sqrt(dh), the (B, 1, 1, L)
 *   additive mask, Softmax, LayerNormalization, GELU as Div/Erf/Add/Mul/Mul); kept as the
 *   portable form and the reference the fused form is tested against.
 * The additive mask is HF's: (1 - mask) * finfo(float32).min. Linear weights are stored (in, out)
 * so every product is a plain MatMul. The embeddings (three Gathers, two Adds, LayerNormalization)
 * are left as they are: once per row, negligible beside 12 layers (EmbedLayerNormalization would
 * need int32 ids and gives no measurable gain here).
 */
import { createHash } from 'node:crypto';
import type { BertConfig } from '../text/config.js';
import { expectedBertTensors, isLinearWeight } from '../text/weights.js';
import { GraphBuilder, float } from './graph.js';
import { DataType, encodeMessage } from './proto.js';
import { ONNX_IR_VERSION, ONNX_OPSET } from './export.js';

export const BERT_EXPORTER_VERSION = '2';
/** ONNX Runtime's contrib-op domain (Attention, SkipLayerNormalization, BiasGelu, FastGelu) */
const MS_DOMAIN = 'com.microsoft';
export const BERT_ONNX_INPUTS = ['input_ids', 'attention_mask', 'token_type_ids'] as const;
export const BERT_ONNX_OUTPUT = 'last_hidden_state';
/** HF's extended attention mask value (torch.finfo(float32).min) */
const MASK_MIN = -3.4028234663852886e38;

/** HF-layout tensors: Linear weights (out, in), names without the "bert." prefix. */
export type BertWeights = ReadonlyMap<string, { shape: readonly number[]; data: Float32Array }>;

export interface BertOnnxExport {
  bytes: Uint8Array;
  /** sha256 (hex, 16) of the exporter version, the config and every weight: the cache key */
  fingerprint: string;
}

/** The cache key of an export: exporter version + config + weights (names, shapes, values). */
export function bertWeightsFingerprint(
  config: BertConfig,
  weights: BertWeights,
  maskValue = MASK_MIN,
  ortFused = true,
): string {
  const h = createHash('sha256');
  h.update(
    `bert-onnx ${BERT_EXPORTER_VERSION} opset ${ONNX_OPSET} mask ${maskValue} ${ortFused ? 'ort-fused' : 'standard'}\n`,
  );
  h.update(JSON.stringify(config));
  for (const [name, shape] of expectedBertTensors(config)) {
    const t = weights.get(name);
    if (!t) throw new Error(`BERT ONNX export: tensor ${name} missing`);
    h.update(`${name}:${shape.join('x')}\n`);
    h.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  }
  return h.digest('hex').slice(0, 16);
}

function transpose2d(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  return out;
}

export function exportBertOnnx(
  config: BertConfig,
  weights: BertWeights,
  opts: { maskValue?: number; modelName?: string; ortFused?: boolean } = {},
): BertOnnxExport {
  const maskValue = opts.maskValue ?? MASK_MIN;
  const ortFused = opts.ortFused ?? true;
  const fingerprint = bertWeightsFingerprint(config, weights, maskValue, ortFused);
  const H = config.hiddenSize;
  const heads = config.numAttentionHeads;
  if (H % heads !== 0) throw new Error(`BERT ONNX export: hidden size ${H} is not divisible by ${heads} heads`);
  const dh = H / heads;
  const eps = config.layerNormEps;
  const g = new GraphBuilder();
  const w = (name: string): string => {
    const t = weights.get(name)!;
    if (isLinearWeight(name))
      return g.tensor(name, transpose2d(t.data, t.shape[0], t.shape[1]), [t.shape[1], t.shape[0]]);
    return g.tensor(name, t.data, [...t.shape]);
  };
  /** a node of ONNX Runtime's contrib domain */
  const ms = (opType: string, inputs: string[], attrs: Parameters<GraphBuilder['op']>[2] = {}) => {
    const out = g.op(opType, inputs, attrs);
    g.nodes[g.nodes.length - 1].domain = MS_DOMAIN;
    return out;
  };
  const ids = g.input('input_ids', 'int64', ['batch', 'sequence']);
  const mask = g.input('attention_mask', 'int64', ['batch', 'sequence']);
  const types = g.input('token_type_ids', 'int64', ['batch', 'sequence']);

  // embeddings: word[ids] + position[0..L-1] + token_type[types], LayerNorm
  const seqLen = g.op('Gather', [g.op('Shape', [ids]), g.i64([1])], { axis: 0 }, 'seq_len');
  const positions = g.op('Slice', [w('embeddings.position_embeddings.weight'), g.i64([0]), seqLen, g.i64([0])]);
  const words = g.op('Gather', [w('embeddings.word_embeddings.weight'), ids], { axis: 0 }, 'words');
  const typeEmb = g.op('Gather', [w('embeddings.token_type_embeddings.weight'), types], { axis: 0 }, 'types');
  const sum = g.op('Add', [g.op('Add', [words, positions]), typeEmb]);
  const layerNorm = (x: string, prefix: string) =>
    g.op('LayerNormalization', [x, w(`${prefix}.weight`), w(`${prefix}.bias`)], { axis: -1, epsilon: float(eps) });
  let h = layerNorm(sum, 'embeddings.LayerNorm');

  const dense = (x: string, name: string) => g.op('Add', [g.op('MatMul', [x, w(`${name}.weight`)]), w(`${name}.bias`)]);
  if (ortFused) {
    // Attention takes the raw (B, L) mask as int32 and adds mask_filter_value where it is 0
    const mask32 = g.op('Cast', [mask], { to: DataType.INT32 }, 'mask_int32');
    /** LayerNorm(x @ W + b + residual) as MatMul -> SkipLayerNormalization (bias folded in) */
    const skipLayerNorm = (x: string, name: string, residual: string, prefix: string) =>
      ms(
        'SkipLayerNormalization',
        [
          g.op('MatMul', [x, w(`${name}.weight`)]),
          residual,
          w(`${prefix}.weight`),
          w(`${prefix}.bias`),
          w(`${name}.bias`),
        ],
        { epsilon: float(eps) },
      );
    for (let l = 0; l < config.numHiddenLayers; l++) {
      const p = `encoder.layer.${l}.`;
      const qkv = ['query', 'key', 'value'].map((n) => weights.get(`${p}attention.self.${n}.weight`)!);
      const qkvBias = ['query', 'key', 'value'].map((n) => weights.get(`${p}attention.self.${n}.bias`)!);
      // (H, 3H): row i = [Wq^T row i | Wk^T row i | Wv^T row i], i.e. the (in, out) weights side by side
      const merged = new Float32Array(H * 3 * H);
      qkv.forEach((t, j) => {
        for (let o = 0; o < H; o++) for (let i = 0; i < H; i++) merged[i * 3 * H + j * H + o] = t.data[o * H + i];
      });
      const mergedBias = new Float32Array(3 * H);
      qkvBias.forEach((t, j) => mergedBias.set(t.data, j * H));
      const ctx = ms(
        'Attention',
        [
          h,
          g.tensor(`${p}attention.self.qkv.weight`, merged, [H, 3 * H]),
          g.tensor(`${p}attention.self.qkv.bias`, mergedBias, [3 * H]),
          mask32,
        ],
        { num_heads: heads, mask_filter_value: float(maskValue) },
      );
      const attn = skipLayerNorm(ctx, p + 'attention.output.dense', h, p + 'attention.output.LayerNorm');
      const name = p + 'intermediate.dense';
      const pre = g.op('MatMul', [attn, w(`${name}.weight`)]);
      const inter =
        config.hiddenAct === 'gelu'
          ? ms('BiasGelu', [pre, w(`${name}.bias`)])
          : config.hiddenAct === 'gelu_new' || config.hiddenAct === 'gelu_pytorch_tanh'
            ? ms('FastGelu', [pre, w(`${name}.bias`)])
            : activation(g, g.op('Add', [pre, w(`${name}.bias`)]), config.hiddenAct);
      h = skipLayerNorm(inter, p + 'output.dense', attn, p + 'output.LayerNorm');
    }
  } else {
    // additive mask (B, 1, 1, L): (1 - mask) * min
    const maskF = g.op('Cast', [g.op('Unsqueeze', [mask, g.i64([1, 2])])], { to: 1 });
    const extended = g.op('Mul', [g.op('Sub', [g.f32([1], []), maskF]), g.f32([maskValue], [])], {}, 'mask_add');
    const headShape = g.i64([0, 0, heads, dh]);
    const mergedShape = g.i64([0, 0, H]);
    for (let l = 0; l < config.numHiddenLayers; l++) {
      const p = `encoder.layer.${l}.`;
      const split = (name: string, perm: number[]) =>
        g.op('Transpose', [g.op('Reshape', [dense(h, p + name), headShape])], { perm });
      const q = split('attention.self.query', [0, 2, 1, 3]);
      const kT = split('attention.self.key', [0, 2, 3, 1]);
      const v = split('attention.self.value', [0, 2, 1, 3]);
      const scores = g.op('Add', [g.op('Div', [g.op('MatMul', [q, kT]), g.f32([Math.sqrt(dh)], [])]), extended]);
      const probs = g.op('Softmax', [scores], { axis: -1 });
      const ctx = g.op('Reshape', [
        g.op('Transpose', [g.op('MatMul', [probs, v])], { perm: [0, 2, 1, 3] }),
        mergedShape,
      ]);
      const attn = layerNorm(
        g.op('Add', [dense(ctx, p + 'attention.output.dense'), h]),
        p + 'attention.output.LayerNorm',
      );
      const inter = activation(g, dense(attn, p + 'intermediate.dense'), config.hiddenAct);
      h = layerNorm(g.op('Add', [dense(inter, p + 'output.dense'), attn]), p + 'output.LayerNorm');
    }
  }
  g.output(BERT_ONNX_OUTPUT, h, 'float', ['batch', 'sequence', H]);
  const bytes = encodeMessage('ModelProto', {
    ir_version: ONNX_IR_VERSION,
    producer_name: 'cider-studio',
    producer_version: BERT_EXPORTER_VERSION,
    doc_string: `BERT encoder (HF BertModel last_hidden_state), eval mode${ortFused ? ', ONNX Runtime fused ops' : ''}`,
    graph: g.graph('bert_encoder'),
    opset_import: [{ domain: '', version: ONNX_OPSET }, ...(ortFused ? [{ domain: MS_DOMAIN, version: 1 }] : [])],
    metadata_props: Object.entries({
      'cider.bert.fingerprint': fingerprint,
      'cider.bert.config': JSON.stringify(config),
      'cider.bert.name': opts.modelName ?? '',
      'cider.bert.form': ortFused ? 'ort-fused' : 'standard',
    }).map(([key, value]) => ({ key, value })),
  });
  return { bytes, fingerprint };
}

function activation(g: GraphBuilder, x: string, name: BertConfig['hiddenAct']): string {
  switch (name) {
    case 'gelu': {
      // the pattern ORT's GeluFusion matches: x * 0.5 * (1 + erf(x / sqrt 2)) as Div, Erf, Add, Mul, Mul
      const erf = g.op('Erf', [g.op('Div', [x, g.f32([Math.SQRT2], [])])]);
      return g.op('Mul', [g.op('Mul', [x, g.op('Add', [erf, g.f32([1], [])])]), g.f32([0.5], [])]);
    }
    case 'gelu_new':
    case 'gelu_pytorch_tanh': {
      const cube = g.op('Mul', [g.op('Mul', [x, x]), x]);
      const inner = g.op('Mul', [
        g.op('Add', [x, g.op('Mul', [cube, g.f32([0.044715], [])])]),
        g.f32([Math.sqrt(2 / Math.PI)], []),
      ]);
      return g.op('Mul', [g.op('Mul', [x, g.f32([0.5], [])]), g.op('Add', [g.op('Tanh', [inner]), g.f32([1], [])])]);
    }
    case 'relu':
      return g.op('Relu', [x]);
    case 'silu':
    case 'swish':
      return g.op('Mul', [x, g.op('Sigmoid', [x])]);
    case 'tanh':
      return g.op('Tanh', [x]);
  }
}
