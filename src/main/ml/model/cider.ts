/**
 * The CIDer forward pass for one view (spec section 2), from text token FEATURES: the BERT
 * encoder is outside this module (see train/text.ts for the hook), so the model's text input is
 * the (B, L, dl) tensor that feeds the text projection.
 */
import { noteBackendUse, tf } from '../backends/tf.js';
import type { CiderConfig } from './config.js';
import { confounderEncoderIndices, type CiderParams } from './params.js';
import { dropout, gruGroup, layerNorm, linear, sinusoidalTable, type DropoutSource } from './layers.js';
import { multimodalCompositeAttention, wordLevelAlignment, type AttentionState } from './attention.js';
import { shareIdentityOnWasm } from './wasm-memory.js';

/**
 * One view of a batch, its text given as `T`: token features (B, L, dl) for a forward pass, or
 * (training) the TextSource that yields both views' features. Masks are float 0/1.
 */
export interface ViewOf<T> {
  /** token features (B, L, dl), e.g. BERT's last hidden state (or their source) */
  text: T;
  /** BERT attention mask (B, L) */
  textMask: tf.Tensor2D;
  /** tokens per sample including [CLS] and [SEP]; WSAM excludes positions 0 and len-1 */
  textLengths: ArrayLike<number>;
  audio: tf.Tensor3D;
  audioMask: tf.Tensor2D;
  vision: tf.Tensor3D;
  visionMask: tf.Tensor2D;
}

/** One view of a batch as the forward pass reads it. */
export type ViewInputs = ViewOf<tf.Tensor3D>;

/** Row-major arrays of a batch of views (masks 0/1), as runs/data.ts reads them and engines take them. */
export interface ViewArrays {
  textMask: Float32Array;
  textLengths: ArrayLike<number>;
  audio: Float32Array;
  audioMask: Float32Array;
  vision: Float32Array;
  visionMask: Float32Array;
}

/**
 * The one view builder: a batch's tensors from its arrays and its text (features (B, L, dl), or
 * training's TextSource), for training, prediction, the TF.js inference engine and the analyzer
 * alike. Shapes come from the model's config; the caller owns (disposes) the tensors.
 */
export function viewInputs<T = tf.Tensor3D>(
  cfg: Pick<CiderConfig, 'textLength' | 'audioLength' | 'da' | 'visionLength' | 'dv'>,
  B: number,
  arrays: ViewArrays,
  text: T,
): ViewOf<T> {
  return {
    text,
    textMask: tf.tensor2d(arrays.textMask, [B, cfg.textLength]),
    textLengths: arrays.textLengths,
    audio: tf.tensor3d(arrays.audio, [B, cfg.audioLength, cfg.da]),
    audioMask: tf.tensor2d(arrays.audioMask, [B, cfg.audioLength]),
    vision: tf.tensor3d(arrays.vision, [B, cfg.visionLength, cfg.dv]),
    visionMask: tf.tensor2d(arrays.visionMask, [B, cfg.visionLength]),
  };
}

/** The frame and mask tensors of a view (not its text), e.g. to dispose them. */
export function viewTensors<T>(v: ViewOf<T>): tf.Tensor[] {
  return [v.textMask, v.audio, v.audioMask, v.vision, v.visionMask];
}

/** MCM inputs (spec 2.9): one dictionary entry and one prior probability per class. */
export interface Confounders {
  /** (C, dl + da + dv): per-class mean unimodal features; or (C, B, dl + da + dv) per sample */
  dictionary: tf.Tensor2D | tf.Tensor3D;
  /** (C): class distribution (training) or uniform (evaluation); or (B, C) per sample */
  prior: tf.Tensor1D | tf.Tensor2D;
}

export interface ForwardOptions {
  /** training mode turns dropout on; it needs a seeded source */
  dropout?: DropoutSource | null;
  /** first row of this (micro-)batch in the full batch: the 'reference' positional quirk indexes by it */
  batchOffset?: number;
  /** also run the reconstruction heads (missing view in training) */
  reconstruct?: boolean;
}

export interface CiderOutputs {
  /** log P(y | x), (B, C) */
  logProbs: tf.Tensor2D;
  /** joint representation z, (B, 3d) */
  joint: tf.Tensor2D;
  /** last MCT layer's attention (the self-distillation map), see AttentionState */
  attention: AttentionState;
  /** text projection (B, L, d) */
  projText: tf.Tensor3D;
  /** WSAM outputs (B, L, d) and word-to-frame weights (B, L, T): unaligned only */
  wsamAudio?: tf.Tensor3D;
  wsamVision?: tf.Tensor3D;
  wsamAudioWeights?: tf.Tensor3D;
  wsamVisionWeights?: tf.Tensor3D;
  /** GRU outputs, batch-major (B, L, d) */
  gruText: tf.Tensor3D;
  gruAudio: tf.Tensor3D;
  gruVision: tf.Tensor3D;
  /** MCT output after the final LayerNorm, batch-major (B, 3L, d) */
  mctOut: tf.Tensor3D;
  /** attention-pooled vectors (B, d) */
  pooledText: tf.Tensor2D;
  pooledAudio: tf.Tensor2D;
  pooledVision: tf.Tensor2D;
  /** reconstructions (when requested): (B, L, dl), (B, Ta, da), (B, Tv, dv) */
  textRecon?: tf.Tensor3D;
  audioRecon?: tf.Tensor3D;
  visionRecon?: tf.Tensor3D;
}

export class ShapeError extends Error {
  constructor(what: string, got: readonly number[], expected: readonly (number | string)[]) {
    super(`${what}: got shape [${got.join(', ')}], expected [${expected.join(', ')}]`);
    this.name = 'ShapeError';
  }
}

function checkShape(what: string, t: tf.Tensor, expected: (number | string)[]): void {
  const ok = t.rank === expected.length && expected.every((e, i) => typeof e === 'string' || t.shape[i] === e);
  if (!ok) throw new ShapeError(what, t.shape, expected);
}

export class CiderModel {
  readonly config: CiderConfig;
  readonly params: CiderParams;
  private tableCache = new Map<number, Float32Array>();

  constructor(config: CiderConfig, params: CiderParams) {
    this.config = config;
    this.params = params;
  }

  /** A parameter by its reference name; a typo is a programming error, so it throws. */
  p(name: string): tf.Variable {
    const v = this.params.get(name);
    if (!v) throw new Error(`CIDer parameter ${name} is missing`);
    return v;
  }

  private lin(x: tf.Tensor, name: string, bias = true): tf.Tensor {
    return linear(x, this.p(`${name}.weight`), bias ? this.p(`${name}.bias`) : undefined);
  }

  /** Kernel-1 Conv1d projection without bias: weight (d, dm, 1). */
  private project(x: tf.Tensor3D, name: string): tf.Tensor3D {
    const w = this.p(`${name}.weight`);
    return linear(x, w.reshape([w.shape[0]!, w.shape[1]!])) as tf.Tensor3D;
  }

  private table(rows: number): Float32Array {
    let t = this.tableCache.get(rows);
    if (!t) {
      t = sinusoidalTable(rows, this.config.d);
      this.tableCache.set(rows, t);
    }
    return t;
  }

  /** Check a view against the config; errors name the offending input. */
  checkView(view: ViewInputs): number {
    const c = this.config;
    const B = view.text.shape[0];
    checkShape('text features (B, L, dl)', view.text, ['B', c.textLength, c.dl]);
    checkShape('text mask (B, L)', view.textMask, [B, c.textLength]);
    checkShape('audio (B, Ta, da)', view.audio, [B, c.audioLength, c.da]);
    checkShape('audio mask (B, Ta)', view.audioMask, [B, c.audioLength]);
    checkShape('vision (B, Tv, dv)', view.vision, [B, c.visionLength, c.dv]);
    checkShape('vision mask (B, Tv)', view.visionMask, [B, c.visionLength]);
    if (view.textLengths.length !== B)
      throw new Error(`textLengths has ${view.textLengths.length} entries for a batch of ${B}`);
    return B;
  }

  checkConfounders(conf: Confounders, B: number): void {
    const c = this.config;
    const D = c.dl + c.da + c.dv;
    if (conf.dictionary.rank === 3)
      checkShape('per-sample confounder dictionary (C, B, dl+da+dv)', conf.dictionary, [c.classes, B, D]);
    else checkShape('confounder dictionary (C, dl+da+dv)', conf.dictionary, [c.classes, D]);
    if (conf.prior.rank === 2) checkShape('per-sample class prior (B, C)', conf.prior, [B, c.classes]);
    else checkShape('class prior (C)', conf.prior, [c.classes]);
  }

  /** WSAM query mask: the text mask with [CLS] (0) and [SEP] (len-1) cleared. */
  private wsamQueryMask(view: ViewInputs, B: number): tf.Tensor2D {
    const L = this.config.textLength;
    const pos = new Float32Array(B * L);
    for (let b = 0; b < B; b++) {
      const len = view.textLengths[b];
      for (let l = 0; l < L; l++) pos[b * L + l] = l === 0 || l === len - 1 ? 0 : 1;
    }
    return tf.mul(view.textMask, tf.tensor2d(pos, [B, L])) as tf.Tensor2D;
  }

  /** Forward one view. Call inside tf.tidy / a gradient scope; nothing is disposed here. */
  forward(view: ViewInputs, conf: Confounders, opts: ForwardOptions = {}): CiderOutputs {
    const c = this.config;
    const B = this.checkView(view);
    this.checkConfounders(conf, B);
    noteBackendUse();
    shareIdentityOnWasm();
    const drop = opts.dropout ?? null;
    const L = c.textLength;
    const d = c.d;

    // 2. projections
    const projText = this.project(view.text, 'proj_l');
    const projAudio = this.project(view.audio, 'proj_a');
    const projVision = this.project(view.vision, 'proj_v');

    // 3. WSAM for unaligned data
    let seqA = projAudio;
    let seqV = projVision;
    const extra: Partial<CiderOutputs> = {};
    if (!c.aligned) {
      const qmask = this.wsamQueryMask(view, B);
      const wsam = (m: 'a' | 'v', frames: tf.Tensor3D, mask: tf.Tensor2D) =>
        wordLevelAlignment(projText, frames, qmask, mask, {
          inProjWeight: this.p(`${m}_compress.in_proj_weight`),
          inProjBias: this.p(`${m}_compress.in_proj_bias`),
          outWeight: this.p(`${m}_compress.out_proj.weight`),
          outBias: this.p(`${m}_compress.out_proj.bias`),
        });
      const a = wsam('a', projAudio, view.audioMask);
      const v = wsam('v', projVision, view.visionMask);
      seqA = a.out;
      seqV = v.out;
      Object.assign(extra, {
        wsamAudio: a.out,
        wsamVision: v.out,
        wsamAudioWeights: a.weights,
        wsamVisionWeights: v.weights,
      });
    }

    // 4. GRUs
    // the three GRUs run as one block-diagonal GRU (one recurrence for all three modalities)
    const gruW = (m: string) => ({
      weightIh: this.p(`${m}.weight_ih_l0`),
      weightHh: this.p(`${m}.weight_hh_l0`),
      biasIh: this.p(`${m}.bias_ih_l0`),
      biasHh: this.p(`${m}.bias_hh_l0`),
    });
    const [gruText, gruAudio, gruVision] = gruGroup([projText, seqA, seqV], [gruW('t'), gruW('a'), gruW('v')]);

    // 5. MCT
    let x = tf.concat([gruText, gruAudio, gruVision], 1) as tf.Tensor3D; // (B, 3L, d)
    if (c.positional === 'temporal') {
      x = tf.add(x, tf.tensor2d(this.table(3 * L), [3 * L, d])) as tf.Tensor3D;
    } else {
      // Reference quirk: row b of the table for every time step of sample b (its position in
      // the whole batch, hence the offset when a batch is split into micro-batches).
      const off = opts.batchOffset ?? 0;
      const rows = this.table(off + B).subarray(off * d, (off + B) * d);
      x = tf.add(x, tf.tensor3d(rows, [B, 1, d])) as tf.Tensor3D;
    }
    x = dropout(x, c.dropouts.embedding, drop) as tf.Tensor3D;
    let attention: AttentionState | null = null;
    for (let i = 0; i < c.layers; i++) {
      const pre = `multimodal_transformer.layers.${i}`;
      const sa = `${pre}.self_attn`;
      const ln0 = layerNorm(
        x,
        this.p(`${pre}.layer_norms.0.weight`),
        this.p(`${pre}.layer_norms.0.bias`),
      ) as tf.Tensor3D;
      const mca = multimodalCompositeAttention(
        ln0,
        {
          inProjWeight: this.p(`${sa}.in_proj_weight`),
          inProjBias: this.p(`${sa}.in_proj_bias`),
          outProj: [0, 1, 2, 3, 4, 5, 6].map((k) => ({
            weight: this.p(`${sa}.out_proj.${k}.weight`),
            bias: this.p(`${sa}.out_proj.${k}.bias`),
          })),
          summary: ['s_l', 's_a', 's_v'].map((s) => ({
            weight: this.p(`${sa}.${s}.weight`),
            bias: this.p(`${sa}.${s}.bias`),
          })),
          finalOut: { weight: this.p(`${sa}.final_out_proj.weight`), bias: this.p(`${sa}.final_out_proj.bias`) },
        },
        c.heads,
        L,
        c.dropouts.attention,
        drop,
      );
      attention = mca.state;
      x = tf.add(x, dropout(mca.out, c.dropouts.residual, drop)) as tf.Tensor3D;
      const ln1 = layerNorm(x, this.p(`${pre}.layer_norms.1.weight`), this.p(`${pre}.layer_norms.1.bias`));
      const ff = this.lin(dropout(tf.relu(this.lin(ln1, `${pre}.fc1`)), c.dropouts.relu, drop), `${pre}.fc2`);
      x = tf.add(x, dropout(ff, c.dropouts.residual, drop)) as tf.Tensor3D;
    }
    const mctOut = layerNorm(
      x,
      this.p('multimodal_transformer.layer_norm.weight'),
      this.p('multimodal_transformer.layer_norm.bias'),
    ) as tf.Tensor3D;
    const [hText, hAudio, hVision] = tf.split(mctOut, 3, 1) as tf.Tensor3D[];

    // 7. attention pooling over all L steps (padding included, as the reference)
    const pool = (m: string, h: tf.Tensor3D): tf.Tensor2D => {
      const score = this.lin(tf.tanh(this.lin(h, `attn_${m}.attention.0`)), `attn_${m}.attention.2`); // (B, L, 1)
      const w = tf.softmax(score.reshape([B, L])).reshape([B, 1, L]);
      return tf.matMul(w, h).reshape([B, d]);
    };
    const pooledText = pool('l', hText);
    const pooledAudio = pool('a', hAudio);
    const pooledVision = pool('v', hVision);

    // 8. joint representation
    const z0 = tf.concat([pooledText, pooledAudio, pooledVision], -1);
    const joint = tf.add(
      z0,
      this.lin(dropout(tf.relu(this.lin(z0, 'proj1')), c.dropouts.output, drop), 'proj2'),
    ) as tf.Tensor2D;

    // 9. MCM
    const logProbs = this.causalModule(joint, conf);

    const out: CiderOutputs = {
      logProbs,
      joint,
      attention: attention!,
      projText,
      gruText,
      gruAudio,
      gruVision,
      mctOut,
      pooledText,
      pooledAudio,
      pooledVision,
      ...extra,
    };
    if (opts.reconstruct) Object.assign(out, this.reconstruct(hText, hAudio, hVision));
    return out;
  }

  /** Encode one modality's part of the dictionary with its MLP (spec 2.9). */
  private encodeConfounder(m: 'l' | 'a' | 'v', f: tf.Tensor2D): tf.Tensor2D {
    const [i0, i1, i2] = confounderEncoderIndices(this.config, m);
    // The cross-dataset variant puts a parameter-free LayerNorm before each of the first two ReLUs.
    const norm = (t: tf.Tensor) => (i1 - i0 === 3 ? layerNorm(t) : t);
    let h = tf.relu(norm(this.lin(f, `cls_encoders_${m}.${i0}`)));
    h = tf.relu(norm(this.lin(h, `cls_encoders_${m}.${i1}`)));
    return this.lin(h, `cls_encoders_${m}.${i2}`) as tf.Tensor2D;
  }

  /** Backdoor adjustment: log sum_c prior_c softmax(W_c [z, enc(f_c)] + b_c). */
  causalModule(joint: tf.Tensor2D, conf: Confounders): tf.Tensor2D {
    const c = this.config;
    const B = joint.shape[0];
    const C = c.classes;
    const D = c.dl + c.da + c.dv;
    // A per-sample dictionary (C, B, D) is what the reference's interface takes; (C, D) is shared.
    const perSample = conf.dictionary.rank === 3;
    const rows = perSample ? C * B : C;
    const dict = conf.dictionary.reshape([rows, D]) as tf.Tensor2D;
    const [fl, fa, fv] = tf.split(dict, [c.dl, c.da, c.dv], 1) as tf.Tensor2D[];
    const enc = tf.concat(
      [this.encodeConfounder('l', fl), this.encodeConfounder('a', fa), this.encodeConfounder('v', fv)],
      -1,
    ); // (rows, 3d)
    let probs: tf.Tensor | null = null;
    for (let k = 0; k < C; k++) {
      const e = perSample ? enc.slice([k * B, 0], [B, 3 * c.d]) : tf.tile(enc.slice([k, 0], [1, 3 * c.d]), [B, 1]);
      const p = tf.softmax(this.lin(tf.concat([joint, e], -1), `classifiers.${k}`));
      const prior = conf.prior.rank === 2 ? conf.prior.slice([0, k], [B, 1]) : conf.prior.slice([k], [1]);
      const term = tf.mul(p, prior);
      probs = probs ? tf.add(probs, term) : term;
    }
    return tf.log(probs!) as tf.Tensor2D;
  }

  /** Reconstruction heads (spec 4) from the MCT outputs of the missing view. */
  reconstruct(
    hText: tf.Tensor3D,
    hAudio: tf.Tensor3D,
    hVision: tf.Tensor3D,
  ): { textRecon: tf.Tensor3D; audioRecon: tf.Tensor3D; visionRecon: tf.Tensor3D } {
    const textRecon = this.lin(hText, 'recon_text') as tf.Tensor3D;
    // Linear over time (L -> T) then ReLU then Linear(d, dm): transpose so time is the last axis.
    const overTime = (h: tf.Tensor3D, name: string): tf.Tensor3D => {
      const t = this.lin(h.transpose([0, 2, 1]), `${name}.0`); // (B, d, T)
      return this.lin(tf.relu(t).transpose([0, 2, 1]), `${name}.1`) as tf.Tensor3D;
    };
    return { textRecon, audioRecon: overTime(hAudio, 'recon_audio'), visionRecon: overTime(hVision, 'recon_vision') };
  }
}
