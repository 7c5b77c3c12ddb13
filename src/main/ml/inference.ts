/**
 * Inference engines: one interface over the TensorFlow.js path (train/step.ts
 * forwardInferenceViews, the path inferLogProbs uses) and the onnxruntime-node path
 * (onnx/engine.ts), so sweeps and explanations do not care which one runs. Both compute the two
 * debiasing views (spec 5) in eval mode from plain typed arrays.
 *
 * Choosing: `openInferenceEngine` takes a checkpoint; when an ONNX export of that checkpoint lies
 * next to it (same config, same weights fingerprint) and onnxruntime-node loads it, the ONNX
 * engine runs; otherwise TF.js, with the reason. `engine.name` ('onnx' or 'tfjs-<backend>') is
 * what the CLI/UI show and what an evaluation record stores.
 */
import { existsSync, readFileSync } from 'node:fs';
import { tf, initBackend, type BackendName } from './backends/tf.js';
import type { CiderConfig } from './model/config.js';
import { CiderModel, type Confounders, type ViewInputs } from './model/cider.js';
import type { AttentionState } from './model/attention.js';
import { loadParams, disposeParams } from './model/weights.js';
import { forwardInferenceViews } from './train/step.js';

export type EngineName = 'onnx' | `tfjs-${BackendName}`;

/** One batch of the missing view plus the counterfactual text, all row-major float32 (masks 0/1). */
export interface InferenceBatch {
  /** B */
  size: number;
  /** missing-view text features (B, L, dl) */
  text: Float32Array;
  /** counterfactual text features (B, L, dl); absent: only the missing view is computed (half the work) */
  textCf?: Float32Array;
  /** (B, L) */
  textMask: Float32Array;
  /** tokens per sample including [CLS] and [SEP] (B) */
  textLengths: ArrayLike<number>;
  /** (B, Ta, da), (B, Ta) */
  audio: Float32Array;
  audioMask: Float32Array;
  /** (B, Tv, dv), (B, Tv) */
  vision: Float32Array;
  visionMask: Float32Array;
  /** index of row 0 in the whole split: the 'reference' positional quirk depends on it (default 0) */
  offset?: number;
}

/**
 * MCM inputs: dictionary (C, D) shared, or (C, B, D) per sample; prior (C) shared or (B, C) per
 * sample. Which one is read from the array length.
 */
export interface InferenceConfounders {
  dictionary: Float32Array;
  prior: Float32Array;
}

export interface InferenceOptions {
  /** rows per forward call (default 128) */
  chunkSize?: number;
  /** also return the attention summaries and WSAM maps (default true) */
  attention?: boolean;
}

export interface InferenceOutputs {
  /** log P(y | missing view), (B, C) */
  logProbs: Float32Array;
  /** log P(y | counterfactual view), (B, C); absent when the batch has no textCf */
  logProbsCf?: Float32Array;
  /** joint representation of the missing / counterfactual view, (B, 3d) */
  joint: Float32Array;
  jointCf?: Float32Array;
  /**
   * missing view, last MCT layer: share of the attention of query segment i (text, audio,
   * vision rows) that goes to key segment j, averaged over heads and valid (text-mask) query
   * positions, (B, 3, 3); rows sum to 1. Empty when attention is off.
   */
  attentionSegments: Float32Array;
  /** missing view, unaligned models: WSAM word-to-frame maps (B, L, Ta), (B, L, Tv) */
  wsamAudio?: Float32Array;
  wsamVision?: Float32Array;
}

export interface InferenceEngine {
  /** 'onnx' or 'tfjs-<backend>': show it, store it with each evaluation */
  readonly name: EngineName;
  /** human-readable detail, e.g. "onnxruntime-node 1.30.0, cpu, 2 threads" */
  readonly detail: string;
  readonly config: CiderConfig;
  infer(batch: InferenceBatch, conf: InferenceConfounders, opts?: InferenceOptions): Promise<InferenceOutputs>;
  dispose(): Promise<void>;
}

/**
 * Evaluation-time confounders as plain arrays (spec 2.9, as train/step.ts evalConfounders): every
 * dictionary entry replaced by the entries' mean, uniform prior. `dictionary` is (C, D) row-major.
 */
export function evaluationConfounders(dictionary: Float32Array, classes: number): InferenceConfounders {
  const D = dictionary.length / classes;
  const mean = new Float64Array(D);
  for (let c = 0; c < classes; c++) for (let i = 0; i < D; i++) mean[i] += dictionary[c * D + i] / classes;
  const out = new Float32Array(classes * D);
  for (let c = 0; c < classes; c++) out.set(mean, c * D);
  return {
    dictionary: out,
    prior: new Float32Array(classes).fill(1 / classes),
  };
}

/** Check a batch against the config; returns [B, rows of the dictionary (1|B), rows of the prior (1|B)]. */
export function checkInferenceBatch(
  cfg: CiderConfig,
  batch: InferenceBatch,
  conf: InferenceConfounders,
): { dictRows: number; priorRows: number } {
  const B = batch.size;
  const need = (what: string, got: number, want: number, shape: string) => {
    if (got !== want) throw new Error(`inference batch: ${what} has ${got} values, expected ${want} ${shape}`);
  };
  const { textLength: L, audioLength: Ta, visionLength: Tv, dl, da, dv, classes: C } = cfg;
  need('text', batch.text.length, B * L * dl, `(B=${B}, L=${L}, dl=${dl})`);
  if (batch.textCf) need('textCf', batch.textCf.length, B * L * dl, `(B=${B}, L=${L}, dl=${dl})`);
  need('textMask', batch.textMask.length, B * L, `(B=${B}, L=${L})`);
  need('textLengths', batch.textLengths.length, B, `(B=${B})`);
  need('audio', batch.audio.length, B * Ta * da, `(B=${B}, Ta=${Ta}, da=${da})`);
  need('audioMask', batch.audioMask.length, B * Ta, `(B=${B}, Ta=${Ta})`);
  need('vision', batch.vision.length, B * Tv * dv, `(B=${B}, Tv=${Tv}, dv=${dv})`);
  need('visionMask', batch.visionMask.length, B * Tv, `(B=${B}, Tv=${Tv})`);
  const D = dl + da + dv;
  const dictRows = conf.dictionary.length === C * D ? 1 : conf.dictionary.length === C * B * D ? B : -1;
  if (dictRows < 0)
    throw new Error(
      `inference confounders: dictionary has ${conf.dictionary.length} values, expected C*D = ${C * D} or C*B*D = ${C * B * D}`,
    );
  const priorRows = conf.prior.length === C ? 1 : conf.prior.length === B * C ? B : -1;
  if (priorRows < 0)
    throw new Error(
      `inference confounders: prior has ${conf.prior.length} values, expected C = ${C} or B*C = ${B * C}`,
    );
  return { dictRows, priorRows };
}

export function chunkRanges(B: number, size = 128): [number, number][] {
  const s = Math.max(1, Math.min(size, B));
  const out: [number, number][] = [];
  for (let start = 0; start < B; start += s) out.push([start, Math.min(s, B - start)]);
  return out;
}

/** Rows [start, start + size) of a batch (and its confounders when per sample). */
export function sliceBatch(
  cfg: CiderConfig,
  batch: InferenceBatch,
  conf: InferenceConfounders,
  start: number,
  size: number,
): { batch: InferenceBatch; conf: InferenceConfounders } {
  const B = batch.size;
  if (start === 0 && size === B) return { batch, conf };
  const rows = (a: Float32Array) => {
    const per = a.length / B;
    return a.subarray(start * per, (start + size) * per);
  };
  const C = cfg.classes;
  const D = cfg.dl + cfg.da + cfg.dv;
  let dictionary = conf.dictionary;
  if (conf.dictionary.length === C * B * D && B > 1) {
    dictionary = new Float32Array(C * size * D);
    for (let c = 0; c < C; c++)
      dictionary.set(conf.dictionary.subarray((c * B + start) * D, (c * B + start + size) * D), c * size * D);
  }
  const prior = conf.prior.length === B * C && B > 1 ? rows(conf.prior) : conf.prior;
  return {
    batch: {
      size,
      text: rows(batch.text),
      textCf: batch.textCf ? rows(batch.textCf) : undefined,
      textMask: rows(batch.textMask),
      textLengths: Array.from(batch.textLengths).slice(start, start + size),
      audio: rows(batch.audio),
      audioMask: rows(batch.audioMask),
      vision: rows(batch.vision),
      visionMask: rows(batch.visionMask),
      offset: (batch.offset ?? 0) + start,
    },
    conf: { dictionary, prior },
  };
}

/** Concatenate per-chunk outputs. */
export function concatOutputs(parts: InferenceOutputs[]): InferenceOutputs {
  const cat = (get: (o: InferenceOutputs) => Float32Array | undefined): Float32Array | undefined => {
    const arrays = parts.map(get);
    if (arrays.some((a) => a === undefined)) return undefined;
    const out = new Float32Array(arrays.reduce((n, a) => n + a!.length, 0));
    let o = 0;
    for (const a of arrays) {
      out.set(a!, o);
      o += a!.length;
    }
    return out;
  };
  if (parts.length === 1) return parts[0];
  return {
    logProbs: cat((o) => o.logProbs)!,
    logProbsCf: cat((o) => o.logProbsCf),
    joint: cat((o) => o.joint)!,
    jointCf: cat((o) => o.jointCf),
    attentionSegments: cat((o) => o.attentionSegments)!,
    wsamAudio: cat((o) => o.wsamAudio),
    wsamVision: cat((o) => o.wsamVision),
  };
}

/** The attention summary of InferenceOutputs from the TF.js attention state, (B, 3, 3). */
export function attentionSegmentsOf(state: AttentionState, textMask: tf.Tensor2D): tf.Tensor3D {
  return tf.tidy(() => {
    const [B, L] = textMask.shape;
    const H = state.q[0].shape[0] / B;
    const count = tf.maximum(tf.sum(textMask, 1, true), 1);
    const wq = tf.div(textMask, count); // (B, L)
    const rows = state.q.map((qi, i) =>
      tf.stack(
        state.k.map((kj) => {
          const mass = tf.sum(tf.exp(tf.sub(tf.matMul(qi, kj, false, true), state.lse[i])), -1); // (B*H, L)
          return tf.sum(tf.mul(tf.mean(mass.reshape([B, H, L]), 1), wq), 1); // (B)
        }),
        1,
      ),
    ); // 3 x (B, 3)
    return tf.stack(rows, 1) as tf.Tensor3D;
  });
}

/**
 * Check a batch, run it chunk by chunk (both engines bound their memory this way), and join the
 * chunks' outputs.
 */
export async function inferInChunks(
  config: CiderConfig,
  batch: InferenceBatch,
  conf: InferenceConfounders,
  opts: InferenceOptions,
  inferChunk: (batch: InferenceBatch, conf: InferenceConfounders, attention: boolean) => Promise<InferenceOutputs>,
): Promise<InferenceOutputs> {
  checkInferenceBatch(config, batch, conf);
  const parts: InferenceOutputs[] = [];
  for (const [start, size] of chunkRanges(batch.size, opts.chunkSize ?? 128)) {
    const s = sliceBatch(config, batch, conf, start, size);
    parts.push(await inferChunk(s.batch, s.conf, opts.attention ?? true));
  }
  return concatOutputs(parts);
}

/** The TF.js path behind the engine interface. */
export class TfjsEngine implements InferenceEngine {
  readonly name: EngineName;
  readonly detail: string;
  readonly config: CiderConfig;

  constructor(
    readonly model: CiderModel,
    backend: BackendName,
    reason = '',
    private readonly ownsParams = false,
  ) {
    this.config = model.config;
    this.name = `tfjs-${backend}`;
    this.detail = `TensorFlow.js ${tf.version.tfjs}, ${backend}${reason ? ` (${reason})` : ''}`;
  }

  static async create(model: CiderModel, reason?: string, ownsParams = false): Promise<TfjsEngine> {
    const choice = await initBackend();
    return new TfjsEngine(model, choice.name, reason, ownsParams);
  }

  infer(batch: InferenceBatch, conf: InferenceConfounders, opts: InferenceOptions = {}): Promise<InferenceOutputs> {
    return inferInChunks(this.config, batch, conf, opts, (b, c, a) => this.inferChunk(b, c, a));
  }

  private async inferChunk(
    batch: InferenceBatch,
    conf: InferenceConfounders,
    attention: boolean,
  ): Promise<InferenceOutputs> {
    const c = this.config;
    const B = batch.size;
    const { dictRows, priorRows } = checkInferenceBatch(c, batch, conf);
    const D = c.dl + c.da + c.dv;
    const tensors = tf.tidy(() => {
      const textMask = tf.tensor2d(batch.textMask, [B, c.textLength]);
      const view: ViewInputs = {
        text: tf.tensor3d(batch.text, [B, c.textLength, c.dl]),
        textMask,
        textLengths: batch.textLengths,
        audio: tf.tensor3d(batch.audio, [B, c.audioLength, c.da]),
        audioMask: tf.tensor2d(batch.audioMask, [B, c.audioLength]),
        vision: tf.tensor3d(batch.vision, [B, c.visionLength, c.dv]),
        visionMask: tf.tensor2d(batch.visionMask, [B, c.visionLength]),
      };
      const confs: Confounders = {
        dictionary:
          dictRows === 1
            ? tf.tensor2d(conf.dictionary, [c.classes, D])
            : tf.tensor3d(conf.dictionary, [c.classes, B, D]),
        prior: priorRows === 1 ? tf.tensor1d(conf.prior) : tf.tensor2d(conf.prior, [B, c.classes]),
      };
      const offset = batch.offset ?? 0;
      const r = batch.textCf
        ? forwardInferenceViews(this.model, view, tf.tensor3d(batch.textCf, [B, c.textLength, c.dl]), confs, offset)
        : {
            missingView: this.model.forward(view, confs, {
              batchOffset: offset,
            }),
            counterfactualView: null,
          };
      const out: Record<string, tf.Tensor> = {
        logProbs: r.missingView.logProbs,
        joint: r.missingView.joint,
      };
      if (r.counterfactualView)
        Object.assign(out, {
          logProbsCf: r.counterfactualView.logProbs,
          jointCf: r.counterfactualView.joint,
        });
      if (attention) {
        out.attentionSegments = attentionSegmentsOf(r.missingView.attention, textMask);
        if (!c.aligned)
          Object.assign(out, {
            wsamAudio: r.missingView.wsamAudioWeights!,
            wsamVision: r.missingView.wsamVisionWeights!,
          });
      }
      return out;
    });
    const data: Record<string, Float32Array> = {};
    for (const [k, t] of Object.entries(tensors)) data[k] = (await t.data()) as Float32Array;
    tf.dispose(Object.values(tensors));
    return {
      logProbs: data.logProbs,
      logProbsCf: data.logProbsCf,
      joint: data.joint,
      jointCf: data.jointCf,
      attentionSegments: data.attentionSegments ?? new Float32Array(0),
      wsamAudio: data.wsamAudio,
      wsamVision: data.wsamVision,
    };
  }

  async dispose(): Promise<void> {
    if (this.ownsParams) disposeParams(this.model.params);
  }
}

/** Where the ONNX export of a checkpoint lives: next to it, `.onnx` instead of `.safetensors`. */
export function onnxPathFor(checkpoint: string): string {
  return checkpoint.replace(/\.safetensors$/i, '') + '.onnx';
}

export interface OpenEngineOptions {
  /** 'auto' (default): ONNX when an export of this checkpoint exists, else TF.js */
  prefer?: 'auto' | 'onnx' | 'tfjs';
  /** an explicit export file (default onnxPathFor(checkpoint)) */
  onnxPath?: string;
}

export interface OpenedEngine {
  engine: InferenceEngine;
  /** why this engine (shown beside the name) */
  reason: string;
}

/**
 * Open an inference engine for a checkpoint: the ONNX engine when an export of exactly these
 * weights sits next to it and loads, else TF.js. Call `engine.dispose()` when done.
 */
export async function openInferenceEngine(
  config: CiderConfig,
  checkpoint: string,
  opts: OpenEngineOptions = {},
): Promise<OpenedEngine> {
  const prefer = opts.prefer ?? (process.env.CIDER_ENGINE as OpenEngineOptions['prefer']) ?? 'auto';
  const onnxPath = opts.onnxPath ?? onnxPathFor(checkpoint);
  const { params } = loadParams(config, checkpoint);
  let reason: string;
  if (prefer === 'tfjs') reason = 'TF.js requested';
  else if (!existsSync(onnxPath)) reason = `no ONNX export at ${onnxPath}`;
  else {
    try {
      const { OnnxEngine } = await import('./onnx/engine.js');
      const engine = await OnnxEngine.load(readFileSync(onnxPath), {
        expectConfig: config,
        expectWeights: params,
      });
      disposeParams(params);
      return { engine, reason: `ONNX export ${onnxPath}` };
    } catch (e) {
      if (prefer === 'onnx') {
        disposeParams(params);
        throw e;
      }
      reason = `ONNX export not usable: ${(e instanceof Error ? e.message : String(e)).slice(0, 300)}`;
    }
  }
  const engine = await TfjsEngine.create(new CiderModel(config, params), reason, true);
  return { engine, reason };
}

/** Engine for an in-memory model (no checkpoint file): ONNX bytes if given and usable, else TF.js. */
export async function engineForModel(model: CiderModel, onnx?: Uint8Array | null): Promise<OpenedEngine> {
  if (onnx) {
    try {
      const { OnnxEngine } = await import('./onnx/engine.js');
      return {
        engine: await OnnxEngine.load(onnx, {
          expectConfig: model.config,
          expectWeights: model.params,
        }),
        reason: 'ONNX export given',
      };
    } catch (e) {
      const reason = `ONNX export not usable: ${(e instanceof Error ? e.message : String(e)).slice(0, 300)}`;
      return { engine: await TfjsEngine.create(model, reason), reason };
    }
  }
  return {
    engine: await TfjsEngine.create(model, 'no ONNX export'),
    reason: 'no ONNX export',
  };
}
