/**
 * The InferenceEngine interface and the runtime-free batch arithmetic both engines share
 * (checking, chunking, slicing, joining). Each engine implements the interface in its own module
 * (TF.js: inference.ts, ONNX Runtime: onnx/engine.ts), and inference.ts chooses one; keeping the
 * interface here means neither engine module imports the other.
 */
import type { BackendName } from './backends/tf.js';
import type { CiderConfig } from './model/config.js';

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
  /**
   * Rows of the batch (missing view) whose full last-layer attention weights are wanted: what an
   * explanation reads beyond the summaries. Absent or empty: none are computed, so plain
   * prediction pays nothing for them (the ONNX graph then runs that branch on 0 rows).
   */
  attentionRows?: readonly number[];
}

/** What one chunk is asked for; `attentionRows` are indices into the chunk. */
export interface ChunkRequest {
  attention: boolean;
  attentionRows: number[];
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
  /**
   * missing view, last MCT layer, the rows of `attentionRows` in that order: the full softmax of
   * every query over all 3L keys (the LAV branch's weights, the map self-distillation uses), per
   * head, (R, H, 3L, 3L); rows and columns are [text; audio; vision] word-level steps. Absent
   * when no rows were asked.
   */
  attentionWeights?: Float32Array;
}

export interface InferenceEngine {
  /** 'onnx' or 'tfjs-<backend>': show it, store it with each evaluation */
  readonly name: EngineName;
  /** human-readable detail, e.g. "onnxruntime-node 1.30.0, cpu, 2 threads" */
  readonly detail: string;
  readonly config: CiderConfig;
  /**
   * infer() can return `attentionWeights`, what explanations read beyond the summaries (false for
   * an ONNX export made before exporter version 2)
   */
  readonly explains: boolean;
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
    attentionWeights: cat((o) => o.attentionWeights),
  };
}

/**
 * Check a batch, run it chunk by chunk (both engines bound their memory this way), and join the
 * chunks' outputs. Attention rows go to the chunk that holds them and come back in the order asked.
 */
export async function inferInChunks(
  config: CiderConfig,
  batch: InferenceBatch,
  conf: InferenceConfounders,
  opts: InferenceOptions,
  inferChunk: (batch: InferenceBatch, conf: InferenceConfounders, request: ChunkRequest) => Promise<InferenceOutputs>,
): Promise<InferenceOutputs> {
  checkInferenceBatch(config, batch, conf);
  const asked = opts.attentionRows ?? [];
  for (const r of asked)
    if (!Number.isInteger(r) || r < 0 || r >= batch.size)
      throw new Error(`inference: attention row ${r} is outside the batch (B=${batch.size})`);
  const parts: InferenceOutputs[] = [];
  const order: number[] = []; // positions in `asked`, in the order the chunks return them
  for (const [start, size] of chunkRanges(batch.size, opts.chunkSize ?? 128)) {
    const s = sliceBatch(config, batch, conf, start, size);
    const attentionRows: number[] = [];
    asked.forEach((r, i) => {
      if (r >= start && r < start + size) {
        attentionRows.push(r - start);
        order.push(i);
      }
    });
    parts.push(await inferChunk(s.batch, s.conf, { attention: opts.attention ?? true, attentionRows }));
  }
  // a chunk holding none of the asked rows contributes no weights
  const out = concatOutputs(
    parts.map((p) => ({
      ...p,
      attentionWeights: asked.length ? (p.attentionWeights ?? new Float32Array(0)) : undefined,
    })),
  );
  if (!asked.length) return out;
  const got = out.attentionWeights;
  const per = 3 * config.textLength * 3 * config.textLength * config.heads;
  if (!got || got.length !== asked.length * per)
    throw new Error(
      `inference: attention weights have ${got?.length ?? 0} values, expected ${asked.length} rows x H*3L*3L = ${asked.length * per}`,
    );
  const weights = new Float32Array(got.length);
  order.forEach((i, k) => weights.set(got.subarray(k * per, (k + 1) * per), i * per));
  return { ...out, attentionWeights: weights };
}
