/**
 * BERT encoder (Hugging Face BertModel's last_hidden_state) in TensorFlow.js.
 *
 * Equations, per HF transformers/models/bert/modeling_bert.py (eager attention):
 *   E = LayerNorm(word[ids] + position[0..L-1] + token_type[segments])
 *   per layer:  Q, K, V = xWq + bq, xWk + bk, xWv + bv, split into heads of width dh = H / heads
 *               S = Q K^T / sqrt(dh) + M,   P = softmax(S) (dropout in training), C = P V
 *               a = LayerNorm(C Wo + bo + x);   y = LayerNorm(act(a Wi + bi) Wo2 + bo2 + a)
 * The attention mask enters as HF's "extended attention mask": M = (1 - mask) * finfo(float32).min
 * added to every query row for the masked keys, shape (B, 1, 1, L). Since transformers 4.x this is
 * torch.finfo(dtype).min (= -3.4028235e38 in float32), not the older -10000: the two agree except
 * for a sample whose mask is all zero, where finfo.min gives uniform attention and -10000 gives
 * softmax of the raw scores. Padded query positions are not masked (HF does not either): their
 * outputs are computed, attend to the real tokens, and are meaningless. `maskValue: -10000`
 * reproduces old checkpoints' numbers exactly when needed.
 * 'gelu' is the exact erf form 0.5 x (1 + erf(x / sqrt 2)); LayerNorm uses the biased variance.
 *
 * Weights live in named tf.Variables keyed by HF names (without the "bert." prefix). Linear
 * weights are held transposed, (in, out), because tfjs-wasm's matMul with transposeB is ~13x
 * slower than a plain one at BERT-base sizes (measured: 803 vs 63 ms for 400x768 by 768x3072);
 * `toHfTensors` transposes back when saving.
 *
 * Fine-tuning: matMul, GELU and LayerNorm carry hand-written gradients (see each function).
 * tfjs's own ones multiply with transposed operands (13-50x slower on wasm) and keep every
 * intermediate and its gradient until the backward pass ends; with them a BERT-base step at
 * B = 8, L = 50 took 127 s and peaked near wasm's 4 GB heap. The embedding lookup's gradient is a
 * scatter-add because wasm has no UnsortedSegmentSum kernel.
 */
import { noteBackendUse, tf } from '../backends/tf';
import { Rng } from '../random';
import { TextModelError, type BertConfig } from './config';
import { expectedBertTensors, isLinearWeight, paramGroup, type HostTensor } from './weights';

export const FLOAT32_MIN = -3.4028234663852886e38;

export interface BertEncoderOptions {
  /** false: the variables are not trainable (frozen mode); default true */
  trainable?: boolean;
  /** additive value for masked keys; default HF's finfo(float32).min */
  maskValue?: number;
}

export interface ForwardOptions {
  /** dropout on (HF model.train()); default false */
  training?: boolean;
}

let instances = 0;

export class BertEncoder {
  readonly config: BertConfig;
  /** HF name -> variable. Linear weights are (in, out); see the file comment. */
  readonly variables: Map<string, tf.Variable>;
  readonly maskValue: number;
  private trainableFlag: boolean;

  constructor(config: BertConfig, tensors: Map<string, HostTensor>, options: BertEncoderOptions = {}) {
    this.config = config;
    this.maskValue = options.maskValue ?? FLOAT32_MIN;
    this.trainableFlag = options.trainable ?? true;
    this.variables = new Map();
    // tfjs variable names are global to the engine: a per-instance prefix lets two encoders coexist
    const prefix = `bert${instances++}/`;
    const expected = expectedBertTensors(config);
    try {
      for (const [name, shape] of expected) {
        const t = tensors.get(name);
        if (!t) throw new TextModelError(`BERT weights: tensor ${name} missing`, { tensor: name });
        if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
          throw new TextModelError(
            `BERT weights: tensor ${name} has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}]`,
            { tensor: name },
          );
        }
        const value = tf.tidy(() => {
          const x = tf.tensor(t.data, t.shape, 'float32');
          return isLinearWeight(name) ? tf.transpose(x) : x;
        });
        this.variables.set(name, tf.variable(value, this.trainableFlag, prefix + name));
        value.dispose();
      }
    } catch (e) {
      this.dispose();
      throw e;
    }
  }

  /** Random weights with HF's initialisation (normal(0, 0.02), LayerNorm 1/0): benchmarks. */
  static random(config: BertConfig, seed = 0, options: BertEncoderOptions = {}): BertEncoder {
    const rng = new Rng(seed);
    const tensors = new Map<string, HostTensor>();
    for (const [name, shape] of expectedBertTensors(config)) {
      const n = shape.reduce((a, b) => a * b, 1);
      const data = new Float32Array(n);
      if (name.endsWith('LayerNorm.weight')) data.fill(1);
      else if (!name.endsWith('.bias')) for (let i = 0; i < n; i++) data[i] = 0.02 * rng.normal();
      tensors.set(name, { shape, data });
    }
    return new BertEncoder(config, tensors, options);
  }

  get trainable(): boolean {
    return this.trainableFlag;
  }

  setTrainable(trainable: boolean): void {
    this.trainableFlag = trainable;
    for (const v of this.variables.values()) v.trainable = trainable;
  }

  /** Variable names split by whether they get weight decay when fine-tuning. */
  paramGroups(): { decay: string[]; noDecay: string[] } {
    const decay: string[] = [];
    const noDecay: string[] = [];
    for (const name of this.variables.keys()) (paramGroup(name) === 'decay' ? decay : noDecay).push(name);
    return { decay, noDecay };
  }

  numParameters(): number {
    let n = 0;
    for (const v of this.variables.values()) n += v.size;
    return n;
  }

  /**
   * MMSA layout in, token features out: ids (B, 3, L) int32 with rows (token ids, attention mask,
   * segment ids) -> last_hidden_state (B, L, H) float32. The caller owns the result.
   */
  encode(ids: tf.Tensor, options: ForwardOptions = {}): tf.Tensor3D {
    if (ids.rank !== 3 || ids.shape[1] !== 3) {
      throw new TextModelError(
        `BERT input must be (B, 3, L) token ids / attention mask / segment ids, got shape [${ids.shape.join(', ')}]`,
      );
    }
    return tf.tidy(() => {
      const [B, , L] = ids.shape as [number, number, number];
      const x = ids.dtype === 'int32' ? ids : tf.cast(ids, 'int32');
      const rows = tf.split(x, 3, 1).map((r) => tf.reshape(r, [B, L]) as tf.Tensor2D);
      return this.forward(rows[0], rows[1], rows[2], options);
    });
  }

  /** HF BertModel(input_ids, attention_mask, token_type_ids).last_hidden_state, each input (B, L). */
  forward(
    inputIds: tf.Tensor2D,
    attentionMask: tf.Tensor2D,
    tokenTypeIds: tf.Tensor2D,
    options: ForwardOptions = {},
  ): tf.Tensor3D {
    const c = this.config;
    const [B, L] = inputIds.shape;
    if (L > c.maxPositionEmbeddings)
      throw new TextModelError(`BERT input length ${L} exceeds max_position_embeddings ${c.maxPositionEmbeddings}`);
    for (const [what, t] of [
      ['attention mask', attentionMask],
      ['segment ids', tokenTypeIds],
    ] as const) {
      if (t.shape[0] !== B || t.shape[1] !== L)
        throw new TextModelError(`BERT ${what} shape [${t.shape.join(', ')}] does not match token ids [${B}, ${L}]`);
    }
    const training = options.training ?? false;
    noteBackendUse();
    const H = c.hiddenSize;
    const v = (n: string) => this.variables.get(n)!;
    const dropout = (t: tf.Tensor, rate: number) => (training && rate > 0 ? tf.dropout(t, rate) : t);

    return tf.tidy(() => {
      const ids = tf.cast(inputIds, 'int32').reshape([B * L]) as tf.Tensor1D;
      const types = tf.cast(tokenTypeIds, 'int32').reshape([B * L]) as tf.Tensor1D;
      const words = embeddingLookup(v('embeddings.word_embeddings.weight'), ids);
      const typeEmb = embeddingLookup(v('embeddings.token_type_embeddings.weight'), types);
      // positions 0..L-1, identical for every sample: slice the table once and broadcast
      const pos = tf.slice(v('embeddings.position_embeddings.weight'), [0, 0], [L, H]);
      let h = tf.add(tf.reshape(tf.add(words, typeEmb), [B, L, H]), pos).reshape([B * L, H]) as tf.Tensor2D;
      h = layerNorm(h, v('embeddings.LayerNorm.weight'), v('embeddings.LayerNorm.bias'), c.layerNormEps);
      h = dropout(h, c.hiddenDropoutProb) as tf.Tensor2D;

      const extended = tf.mul(tf.sub(1, tf.cast(attentionMask, 'float32')), this.maskValue).reshape([B, 1, 1, L]);
      for (let l = 0; l < c.numHiddenLayers; l++) {
        // one tidy per layer: without it every layer's intermediates live until the forward pass
        // ends (~90 MB per layer at B = 8 for BERT-base), and B = 32 overflows wasm's 4 GB heap.
        // Tensors the gradient tape needs are kept by the tape itself (engine clones them).
        const prev = h;
        h = tf.tidy(() => this.layer(l, prev, extended, B, L, dropout));
        prev.dispose();
      }
      return h.reshape([B, L, H]) as tf.Tensor3D;
    });
  }

  /** One encoder layer on (B*L, H) hidden states. */
  private layer(
    l: number,
    h: tf.Tensor2D,
    extended: tf.Tensor,
    B: number,
    L: number,
    dropout: (t: tf.Tensor, rate: number) => tf.Tensor,
  ): tf.Tensor2D {
    const c = this.config;
    const H = c.hiddenSize;
    const heads = c.numAttentionHeads;
    const dh = H / heads;
    const scale = Math.sqrt(dh);
    const v = (n: string) => this.variables.get(n)!;
    const p = `encoder.layer.${l}.`;
    const dense = (x: tf.Tensor2D, n: string) =>
      tf.add(matMul(x, v(`${p}${n}.weight`)), v(`${p}${n}.bias`)) as tf.Tensor2D;
    const q = dense(h, 'attention.self.query').reshape([B, L, heads, dh]).transpose([0, 2, 1, 3]);
    // K goes straight to (B, heads, dh, L) so the score product needs no transposed operand
    const kT = dense(h, 'attention.self.key').reshape([B, L, heads, dh]).transpose([0, 2, 3, 1]);
    const val = dense(h, 'attention.self.value').reshape([B, L, heads, dh]).transpose([0, 2, 1, 3]);
    const scores = tf.add(tf.div(matMul(q, kT), scale), extended);
    const probs = dropout(tf.softmax(scores, -1), c.attentionProbsDropoutProb);
    const ctx = matMul(probs, val)
      .transpose([0, 2, 1, 3])
      .reshape([B * L, H]) as tf.Tensor2D;
    const attn = layerNorm(
      tf.add(dropout(dense(ctx, 'attention.output.dense'), c.hiddenDropoutProb), h) as tf.Tensor2D,
      v(`${p}attention.output.LayerNorm.weight`),
      v(`${p}attention.output.LayerNorm.bias`),
      c.layerNormEps,
    );
    const inter = activation(dense(attn, 'intermediate.dense'), c.hiddenAct);
    return layerNorm(
      tf.add(dropout(dense(inter, 'output.dense'), c.hiddenDropoutProb), attn) as tf.Tensor2D,
      v(`${p}output.LayerNorm.weight`),
      v(`${p}output.LayerNorm.bias`),
      c.layerNormEps,
    );
  }

  /** Weights in HF layout ((out, in) Linear weights) for writeSafetensors. */
  toHfTensors(): Record<string, { shape: number[]; data: Float32Array }> {
    const out: Record<string, { shape: number[]; data: Float32Array }> = {};
    for (const [name, variable] of this.variables) {
      const t = isLinearWeight(name) ? tf.transpose(variable) : variable;
      out[name] = { shape: t.shape.slice(), data: t.dataSync() as Float32Array };
      if (t !== variable) t.dispose();
    }
    return out;
  }

  dispose(): void {
    for (const v of this.variables.values()) v.dispose();
    this.variables.clear();
  }
}

/**
 * LayerNorm over the last axis (biased variance, like torch), with a hand-written gradient
 * that saves only x: autodiff would keep six (B*L, H) intermediates and their gradients per call
 * until the backward pass ends. Backward, with xh = (x - mean) * r, r = 1 / sqrt(var + eps):
 *   dxh = dy * gamma;  dx = r * (dxh - mean(dxh) - xh * mean(dxh * xh));
 *   dgamma = sum_rows(dy * xh);  dbeta = sum_rows(dy).
 */
export function layerNorm<T extends tf.Tensor>(x: T, gamma: tf.Tensor, beta: tf.Tensor, eps: number): T {
  const normalise = (z: tf.Tensor) => {
    const mean = tf.mean(z, -1, true);
    const xc = tf.sub(z, mean);
    const r = tf.rsqrt(tf.add(tf.mean(tf.square(xc), -1, true), eps));
    return { xh: tf.mul(xc, r), r };
  };
  const f = tf.customGrad(((input: tf.Tensor, g: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
    save([input, g]);
    return {
      value: tf.tidy(() => tf.add(tf.mul(normalise(input).xh, g), b)),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.tidy(() => {
          const [z, gz] = saved;
          const { xh, r } = normalise(z);
          const dxh = tf.mul(dy, gz);
          const dx = tf.mul(
            r,
            tf.sub(tf.sub(dxh, tf.mean(dxh, -1, true)), tf.mul(xh, tf.mean(tf.mul(dxh, xh), -1, true))),
          );
          const rows = dy.shape.slice(0, -1).map((_, i) => i);
          return [dx, tf.sum(tf.mul(dy, xh), rows), tf.sum(dy, rows)];
        }),
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x, gamma, beta) as T;
}

function activation(x: tf.Tensor2D, name: BertConfig['hiddenAct']): tf.Tensor2D {
  switch (name) {
    case 'gelu':
      return gelu(x);
    case 'gelu_new':
    case 'gelu_pytorch_tanh': {
      const inner = tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.pow(x, 3))));
      return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(inner))) as tf.Tensor2D;
    }
    case 'relu':
      return tf.relu(x);
    case 'silu':
    case 'swish':
      return tf.mul(x, tf.sigmoid(x)) as tf.Tensor2D;
    case 'tanh':
      return tf.tanh(x);
  }
}

/**
 * Exact GELU, 0.5 x (1 + erf(x / sqrt 2)), with its derivative written out:
 * Phi(x) + x phi(x). Autodiff through the five elementwise ops would keep each (B*L, 4H)
 * intermediate and its gradient alive until the end of the backward pass (tfjs frees
 * intermediate gradients only then): ~50 MB per BERT-base layer at B = 8 on a 4 GB wasm heap.
 */
export function gelu<T extends tf.Tensor>(x: T): T {
  const f = tf.customGrad(((input: tf.Tensor, save: tf.GradSaveFunc) => {
    save([input]);
    return {
      value: tf.tidy(() => tf.mul(tf.mul(input, 0.5), tf.add(1, tf.erf(tf.mul(input, Math.SQRT1_2))))),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.tidy(() => {
          const z = saved[0];
          const cdf = tf.mul(0.5, tf.add(1, tf.erf(tf.mul(z, Math.SQRT1_2))));
          const pdf = tf.mul(1 / Math.sqrt(2 * Math.PI), tf.exp(tf.mul(-0.5, tf.square(z))));
          return tf.mul(dy, tf.add(cdf, tf.mul(z, pdf)));
        }),
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x) as T;
}

function swapLastTwo(t: tf.Tensor): tf.Tensor {
  const perm = t.shape.map((_, i) => i);
  [perm[t.rank - 2], perm[t.rank - 1]] = [perm[t.rank - 1], perm[t.rank - 2]];
  return tf.transpose(t, perm);
}

/**
 * a @ b (same batch dims, no broadcasting) whose gradient transposes explicitly. tf.matMul's own
 * gradient multiplies with transposeA / transposeB, which tfjs-wasm runs 13x (transposeB) and
 * 50x (transposeA) slower than a plain product at BERT-base sizes (measured: 3159 ms for
 * x^T dy vs 65 ms transposing first). A transpose costs ~9 ms.
 */
export function matMul<T extends tf.Tensor>(a: tf.Tensor, b: tf.Tensor): T {
  const f = tf.customGrad(((x: tf.Tensor, y: tf.Tensor, save: tf.GradSaveFunc) => {
    save([x, y]);
    return {
      value: tf.matMul(x as tf.Tensor3D, y as tf.Tensor3D),
      // tidy: the engine calls a custom gradFunc outside its per-node tidy, so without it the
      // transposed copies (as large as the weights) would live until the whole backward pass ends
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.tidy(() => [
          tf.matMul(dy as tf.Tensor3D, swapLastTwo(saved[1]) as tf.Tensor3D),
          tf.matMul(swapLastTwo(saved[0]) as tf.Tensor3D, dy as tf.Tensor3D),
        ]),
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(a, b) as T;
}

/**
 * table[ids] with a scatter-add gradient. tf.gather's own gradient uses UnsortedSegmentSum, which
 * the wasm backend does not have; ScatterNd (which sums duplicate indices) is available everywhere.
 */
export function embeddingLookup(table: tf.Variable, ids: tf.Tensor1D): tf.Tensor2D {
  const f = tf.customGrad(((t: tf.Tensor, i: tf.Tensor, save: tf.GradSaveFunc) => {
    save([i]);
    return {
      value: tf.gather(t, i as tf.Tensor1D),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [
        tf.scatterND(tf.expandDims(saved[0], 1), dy, t.shape),
        tf.zerosLike(saved[0]),
      ],
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(table, ids) as tf.Tensor2D;
}
