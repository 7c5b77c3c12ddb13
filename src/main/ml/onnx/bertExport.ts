/**
 * ONNX export of the BERT text encoder (HF BertModel's last_hidden_state, eval mode), built here
 * from the config and HF-layout weights, so the frozen encoder and a fine-tuned run's encoder run
 * on ONNX Runtime with every core instead of TF.js wasm's one thread.
 *
 * The graph follows the subgraph shapes ONNX Runtime's optimiser recognises (its
 * layer_norm_fusion / gelu_fusion / attention_fusion passes and the python transformers fusions):
 * - LayerNorm is opset 17's own LayerNormalization (axis -1, epsilon from the config): ORT runs
 *   it as one kernel with no fusion needed (and SkipLayerNormalization-fuses it with the residual
 *   Add before it at the extended level);
 * - exact GELU is Div(x, sqrt 2) -> Erf -> Add 1 -> Mul x -> Mul 0.5, the pattern GeluFusion
 *   matches (and BiasGelu then folds the bias Add in front);
 * - attention is MatMul + Add for Q, K and V, Reshape (0, 0, heads, dh) and Transpose, the score
 *   MatMul, Div by sqrt(dh), Add of the (B, 1, 1, L) additive mask, Softmax, MatMul with V,
 *   Transpose and Reshape (0, 0, H): the PyTorch export's layout.
 * The additive mask is HF's: (1 - mask) * finfo(float32).min. Linear weights are stored (in, out)
 * so every product is a plain MatMul. Batch and sequence axes are dynamic.
 */
import { createHash } from 'node:crypto';
import type { BertConfig } from '../text/config.js';
import { expectedBertTensors, isLinearWeight } from '../text/weights.js';
import { GraphBuilder, float, serializeModel } from './graph.js';
import { ONNX_IR_VERSION, ONNX_OPSET } from './export.js';

export const BERT_EXPORTER_VERSION = '1';
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
export function bertWeightsFingerprint(config: BertConfig, weights: BertWeights, maskValue = MASK_MIN): string {
  const h = createHash('sha256');
  h.update(`bert-onnx ${BERT_EXPORTER_VERSION} opset ${ONNX_OPSET} mask ${maskValue}\n`);
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
  opts: { maskValue?: number; modelName?: string } = {},
): BertOnnxExport {
  const maskValue = opts.maskValue ?? MASK_MIN;
  const fingerprint = bertWeightsFingerprint(config, weights, maskValue);
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

  // additive mask (B, 1, 1, L): (1 - mask) * min
  const maskF = g.op('Cast', [g.op('Unsqueeze', [mask, g.i64([1, 2])])], { to: 1 });
  const extended = g.op('Mul', [g.op('Sub', [g.f32([1], []), maskF]), g.f32([maskValue], [])], {}, 'mask_add');

  const dense = (x: string, name: string) => g.op('Add', [g.op('MatMul', [x, w(`${name}.weight`)]), w(`${name}.bias`)]);
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
    const ctx = g.op('Reshape', [g.op('Transpose', [g.op('MatMul', [probs, v])], { perm: [0, 2, 1, 3] }), mergedShape]);
    const attn = layerNorm(
      g.op('Add', [dense(ctx, p + 'attention.output.dense'), h]),
      p + 'attention.output.LayerNorm',
    );
    const inter = activation(g, dense(attn, p + 'intermediate.dense'), config.hiddenAct);
    h = layerNorm(g.op('Add', [dense(inter, p + 'output.dense'), attn]), p + 'output.LayerNorm');
  }
  g.output(BERT_ONNX_OUTPUT, h, 'float', ['batch', 'sequence', H]);
  const bytes = serializeModel(g, 'bert_encoder', {
    producer: 'cider-studio',
    producerVersion: BERT_EXPORTER_VERSION,
    opset: ONNX_OPSET,
    irVersion: ONNX_IR_VERSION,
    doc: 'BERT encoder (HF BertModel last_hidden_state), eval mode',
    metadata: {
      'cider.bert.fingerprint': fingerprint,
      'cider.bert.config': JSON.stringify(config),
      'cider.bert.name': opts.modelName ?? '',
    },
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
