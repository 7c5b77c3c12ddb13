/**
 * One MSSD training step (spec 4) and the debiasing inference views (spec 5).
 *
 * Step: 1. complete view, NLL, backward, optimizer step; 2. missing view (RMFM keep masks given by
 * the caller), NLL + joint + attention-KL + reconstruction against the complete view's values
 * (constants), backward, optimizer step. By default the step-1 gradients are NOT cleared before
 * step 2, as in the reference (its published numbers were trained that way):
 * `accumulateFullViewGrad: false` turns that off.
 *
 * A batch can be split into micro-batches to bound memory: every loss is normalised by
 * whole-batch counts, so the summed micro-batch gradients equal the whole-batch gradients.
 */
import { tf } from '../backends/tf.js';
import type { Rng } from '../random.js';
import type { AttentionState } from '../model/attention.js';
import type { CiderModel, CiderOutputs, Confounders, ViewInputs, ViewOf } from '../model/cider.js';
import type { CiderConfig } from '../model/config.js';
import type { Adam } from './adam.js';
import {
  attentionKl,
  attentionTeacher,
  DEFAULT_LOSS_WEIGHTS,
  droppedEntries,
  jointLoss,
  nllLoss,
  reconstructionLoss,
  type AttentionTeacher,
  type LossWeights,
} from './losses.js';
import type { TextSource } from './text.js';

/** A training batch: one view whose text is the TextSource of both views' features, and the labels. */
export interface TrainBatch extends ViewOf<TextSource> {
  /** class ids (B), int32 */
  labels: tf.Tensor1D;
}

/** Keep masks of the missing view (1 = kept), same shapes as the input masks. */
export interface MissingViewMasks {
  textKeep: tf.Tensor2D;
  audioKeep: tf.Tensor2D;
  visionKeep: tf.Tensor2D;
}

/** The keep-mask tensors of a missing view from row-major 0/1 arrays (same shapes as the view's masks). */
export function missingViewMasks(
  cfg: Pick<CiderConfig, 'textLength' | 'audioLength' | 'visionLength'>,
  B: number,
  keep: { text: Float32Array; audio: Float32Array; vision: Float32Array },
): MissingViewMasks {
  return {
    textKeep: tf.tensor2d(keep.text, [B, cfg.textLength]),
    audioKeep: tf.tensor2d(keep.audio, [B, cfg.audioLength]),
    visionKeep: tf.tensor2d(keep.vision, [B, cfg.visionLength]),
  };
}

export interface TrainStepOptions {
  /** dropout masks (seeded); null or absent = dropout off (eval-mode maths, used by parity tests) */
  rng?: Rng | null;
  lossWeights?: LossWeights;
  /**
   * false: no missing-view pass (the paper's "w/o MSSD" ablation): the step is the complete view's
   * NLL update alone and the missing-view losses are reported as 0 (default true)
   */
  mssd?: boolean;
  /** reference quirk (default true): step 2 updates with step-1 + step-2 gradients */
  accumulateFullViewGrad?: boolean;
  /** rows per micro-batch (default: the whole batch) */
  microBatchSize?: number;
  /**
   * This batch is rows [offset, offset + its size) of a larger batch of `total` rows (a share of
   * a data-parallel step, see ml/parallel): losses are normalised by the whole batch, the
   * positional offsets are the whole batch's, and the missing view's reconstruction losses are
   * divided by the whole batch's dropped entries `dropped` (default: this batch's own counts).
   */
  share?: { offset: number; total: number; dropped?: DroppedEntries };
}

/** Dropped (present but not kept) entries of the missing view: positions x channels. */
export interface DroppedEntries {
  text: number;
  audio: number;
  vision: number;
}

export interface StepLosses {
  taskFull: number;
  taskMissing: number;
  joint: number;
  attention: number;
  reconText: number;
  reconAudio: number;
  reconVision: number;
  /** the missing-view objective */
  total: number;
}

/** What the missing view is distilled towards, per micro-batch; constants. */
export interface Teacher {
  joint: tf.Tensor2D;
  attention: AttentionTeacher;
  /** complete-view text features: the text reconstruction target */
  text: tf.Tensor3D;
}

export type GradMap = Map<string, tf.Tensor>;

function trainables(model: CiderModel, text: TextSource): Map<string, tf.Variable> {
  const all = new Map<string, tf.Variable>(model.params);
  for (const [n, v] of text.variables) {
    if (all.has(n)) throw new Error(`text encoder variable ${n} clashes with a CIDer parameter name`);
    all.set(n, v);
  }
  return all;
}

/** variableGrads keyed by OUR names (tfjs keys by its internal variable names). */
function namedGrads(vars: Map<string, tf.Variable>, f: () => tf.Scalar): { value: number; grads: GradMap } {
  const byId = new Map<string, string>();
  for (const [n, v] of vars) byId.set(v.name, n);
  const { value, grads } = tf.variableGrads(f, [...vars.values()]);
  const out: GradMap = new Map();
  for (const [id, g] of Object.entries(grads)) out.set(byId.get(id)!, g);
  const v = value.dataSync()[0];
  value.dispose();
  return { value: v, grads: out };
}

function accumulate(into: GradMap, add: GradMap): void {
  for (const [n, g] of add) {
    const prev = into.get(n);
    if (prev) {
      into.set(n, tf.add(prev, g));
      prev.dispose();
      g.dispose();
    } else into.set(n, g);
  }
}

export function disposeGrads(g: GradMap): void {
  for (const t of g.values()) t.dispose();
  g.clear();
}

function disposeTeacher(t: Teacher): void {
  t.joint.dispose();
  t.text.dispose();
  for (const row of t.attention) for (const b of row) b.dispose();
}

function chunks(B: number, size?: number): [number, number][] {
  const s = size && size > 0 ? Math.min(size, B) : B;
  const out: [number, number][] = [];
  for (let start = 0; start < B; start += s) out.push([start, Math.min(s, B - start)]);
  return out;
}

/** Rows [start, start + size) of a tensor along its first axis (the tensor itself when that is all of it). */
export const sliceRows = <T extends tf.Tensor>(t: T, start: number, size: number): T =>
  (start === 0 && size === t.shape[0]
    ? t
    : t.slice([start, ...t.shape.slice(1).map(() => 0)], [size, ...t.shape.slice(1)])) as T;

/** The confounders of batch rows [start, start + size): per-sample dictionaries and priors are sliced, shared ones kept. */
export function sliceConfounders(conf: Confounders, start: number, size: number): Confounders {
  return {
    dictionary:
      conf.dictionary.rank === 3
        ? (conf.dictionary.slice(
            [0, start, 0],
            [conf.dictionary.shape[0], size, conf.dictionary.shape[2]!],
          ) as tf.Tensor3D)
        : conf.dictionary,
    prior: conf.prior.rank === 2 ? sliceRows(conf.prior as tf.Tensor2D, start, size) : conf.prior,
  };
}

/** A TextSource over rows [offset, offset + size) of another. */
export function textSourceRows(src: TextSource, offset: number): TextSource {
  return {
    variables: src.variables,
    full: (start, size, training) => src.full(offset + start, size, training),
    missing: (start, size, keep, training) => src.missing(offset + start, size, keep, training),
  };
}

/** A training step's inputs: the batch, the missing view's keep masks and the confounders. */
export interface StepInputs {
  batch: TrainBatch;
  masks: MissingViewMasks;
  conf: Confounders;
}

/**
 * Batch rows [start, start + size) as step inputs of their own. Tensors are sliced (or the same
 * tensors when the rows are all of them: see stepTensors to tell which to dispose).
 */
export function stepInputRows({ batch, masks, conf }: StepInputs, start: number, size: number): StepInputs {
  return {
    batch: {
      text: textSourceRows(batch.text, start),
      textMask: sliceRows(batch.textMask, start, size),
      textLengths: Array.from(batch.textLengths).slice(start, start + size),
      audio: sliceRows(batch.audio, start, size),
      audioMask: sliceRows(batch.audioMask, start, size),
      vision: sliceRows(batch.vision, start, size),
      visionMask: sliceRows(batch.visionMask, start, size),
      labels: sliceRows(batch.labels, start, size),
    },
    masks: {
      textKeep: sliceRows(masks.textKeep, start, size),
      audioKeep: sliceRows(masks.audioKeep, start, size),
      visionKeep: sliceRows(masks.visionKeep, start, size),
    },
    conf: sliceConfounders(conf, start, size),
  };
}

/** Every tensor of step inputs (the text is a TextSource, which owns its own). */
export function stepTensors({ batch, masks, conf }: StepInputs): tf.Tensor[] {
  return [
    batch.textMask,
    batch.audio,
    batch.audioMask,
    batch.vision,
    batch.visionMask,
    batch.labels,
    masks.textKeep,
    masks.audioKeep,
    masks.visionKeep,
    conf.dictionary,
    conf.prior,
  ];
}

/** A view from the batch rows [start, start + size) with the given text features and frames. */
function viewOf(
  batch: TrainBatch,
  start: number,
  size: number,
  text: tf.Tensor3D,
  audio: tf.Tensor3D,
  vision: tf.Tensor3D,
): ViewInputs {
  return {
    text,
    textMask: sliceRows(batch.textMask, start, size),
    textLengths: Array.from(batch.textLengths).slice(start, start + size),
    audio,
    audioMask: sliceRows(batch.audioMask, start, size),
    vision,
    visionMask: sliceRows(batch.visionMask, start, size),
  };
}

/**
 * Step 1 maths: complete-view NLL and its gradients (summed over micro-batches), and the
 * teacher values for step 2 (computed with the same, pre-update weights).
 */
export function completeViewPass(
  model: CiderModel,
  batch: TrainBatch,
  conf: Confounders,
  opts: TrainStepOptions = {},
): { loss: number; grads: GradMap; teachers: Teacher[] } {
  const rowsHere = batch.labels.shape[0];
  const B = opts.share?.total ?? rowsHere;
  const offset = opts.share?.offset ?? 0;
  const vars = trainables(model, batch.text);
  const grads: GradMap = new Map();
  const teachers: Teacher[] = [];
  let loss = 0;
  for (const [start, size] of chunks(rowsHere, opts.microBatchSize)) {
    let teacher: Teacher | null = null;
    const r = namedGrads(vars, () => {
      const text = batch.text.full(start, size, true);
      const view = viewOf(
        batch,
        start,
        size,
        text,
        sliceRows(batch.audio, start, size),
        sliceRows(batch.vision, start, size),
      );
      const out = model.forward(view, sliceConfounders(conf, start, size), {
        dropout: opts.rng ? { rng: opts.rng } : null,
        batchOffset: offset + start,
      });
      // kept beyond the gradient scope: step 2 reads them as constants
      const t: Teacher = {
        joint: tf.clone(out.joint),
        attention: attentionTeacher(out.attention),
        text: tf.clone(text),
      };
      keepTeacher(t);
      teacher = t;
      return nllLoss(out.logProbs, sliceRows(batch.labels, start, size), B);
    });
    loss += r.value;
    accumulate(grads, r.grads);
    teachers.push(teacher!);
  }
  return { loss, grads, teachers };
}

function keepTeacher(t: Teacher): void {
  tf.keep(t.joint);
  tf.keep(t.text);
  for (const row of t.attention) for (const b of row) tf.keep(b);
}

/** The missing-view frames: dropped (present but not kept) frames are zeroed, padding untouched. */
function zeroDropped(x: tf.Tensor3D, mask: tf.Tensor2D, keep: tf.Tensor2D): tf.Tensor3D {
  return tf.mul(x, tf.sub(1, tf.sub(mask, keep)).expandDims(2)) as tf.Tensor3D;
}

/**
 * Step 2 maths: the missing-view objective and its gradients (summed over micro-batches).
 * `teachers` come from completeViewPass with the same micro-batch size.
 */
export function missingViewPass(
  model: CiderModel,
  batch: TrainBatch,
  masks: MissingViewMasks,
  conf: Confounders,
  teachers: Teacher[],
  opts: TrainStepOptions = {},
): { losses: Omit<StepLosses, 'taskFull'>; grads: GradMap } {
  const c = model.config;
  const rowsHere = batch.labels.shape[0];
  const B = opts.share?.total ?? rowsHere;
  const offset = opts.share?.offset ?? 0;
  const w = opts.lossWeights ?? DEFAULT_LOSS_WEIGHTS;
  const vars = trainables(model, batch.text);
  const missing = tf.tidy(() => ({
    text: tf.sub(batch.textMask, masks.textKeep) as tf.Tensor2D,
    audio: tf.sub(batch.audioMask, masks.audioKeep) as tf.Tensor2D,
    vision: tf.sub(batch.visionMask, masks.visionKeep) as tf.Tensor2D,
  }));
  // whole-batch counts, so micro-batches add up to the whole-batch loss
  const entries: DroppedEntries = opts.share?.dropped ?? droppedEntriesOf(c, missing);
  const grads: GradMap = new Map();
  const sums = { taskMissing: 0, joint: 0, attention: 0, reconText: 0, reconAudio: 0, reconVision: 0, total: 0 };
  const parts = chunks(rowsHere, opts.microBatchSize);
  if (parts.length !== teachers.length)
    throw new Error(
      `missingViewPass: ${teachers.length} teacher(s) for ${parts.length} micro-batch(es); use the same microBatchSize in both passes`,
    );
  parts.forEach(([start, size], mb) => {
    const teacher = teachers[mb];
    const terms: Record<string, tf.Scalar> = {};
    const r = namedGrads(vars, () => {
      const keepT = sliceRows(masks.textKeep, start, size);
      const text = batch.text.missing(start, size, keepT, true);
      const audio = zeroDropped(
        sliceRows(batch.audio, start, size),
        sliceRows(batch.audioMask, start, size),
        sliceRows(masks.audioKeep, start, size),
      );
      const vision = zeroDropped(
        sliceRows(batch.vision, start, size),
        sliceRows(batch.visionMask, start, size),
        sliceRows(masks.visionKeep, start, size),
      );
      const out = model.forward(viewOf(batch, start, size, text, audio, vision), sliceConfounders(conf, start, size), {
        dropout: opts.rng ? { rng: opts.rng } : null,
        batchOffset: offset + start,
        reconstruct: true,
      });
      terms.taskMissing = nllLoss(out.logProbs, sliceRows(batch.labels, start, size), B);
      terms.joint = jointLoss(out.joint, teacher.joint, B);
      terms.attention = attentionKl(out.attention, teacher.attention, B * c.heads);
      terms.reconText = reconstructionLoss(
        out.textRecon!,
        teacher.text,
        sliceRows(missing.text, start, size),
        entries.text,
      );
      terms.reconAudio = reconstructionLoss(
        out.audioRecon!,
        sliceRows(batch.audio, start, size),
        sliceRows(missing.audio, start, size),
        entries.audio,
      );
      terms.reconVision = reconstructionLoss(
        out.visionRecon!,
        sliceRows(batch.vision, start, size),
        sliceRows(missing.vision, start, size),
        entries.vision,
      );
      for (const t of Object.values(terms)) tf.keep(t);
      return tf.addN([
        terms.taskMissing,
        tf.mul(w.joint, terms.joint),
        tf.mul(w.attention, terms.attention),
        tf.mul(w.reconstruction, tf.addN([terms.reconText, terms.reconAudio, terms.reconVision])),
      ]) as tf.Scalar;
    });
    for (const [k, t] of Object.entries(terms)) {
      sums[k as keyof typeof sums] += t.dataSync()[0];
      t.dispose();
    }
    sums.total += r.value;
    accumulate(grads, r.grads);
  });
  tf.dispose([missing.text, missing.audio, missing.vision]);
  return { losses: sums, grads };
}

function droppedEntriesOf(
  c: CiderModel['config'],
  missing: { text: tf.Tensor2D; audio: tf.Tensor2D; vision: tf.Tensor2D },
): DroppedEntries {
  return {
    text: droppedEntries(missing.text.dataSync() as Float32Array, c.dl),
    audio: droppedEntries(missing.audio.dataSync() as Float32Array, c.da),
    vision: droppedEntries(missing.vision.dataSync() as Float32Array, c.dv),
  };
}

/** The whole batch's dropped entries of the missing view (the reconstruction losses' normalisers). */
export function missingViewDropped(
  model: CiderModel,
  batch: Pick<TrainBatch, 'textMask' | 'audioMask' | 'visionMask'>,
  masks: MissingViewMasks,
): DroppedEntries {
  const missing = tf.tidy(() => ({
    text: tf.sub(batch.textMask, masks.textKeep) as tf.Tensor2D,
    audio: tf.sub(batch.audioMask, masks.audioKeep) as tf.Tensor2D,
    vision: tf.sub(batch.visionMask, masks.visionKeep) as tf.Tensor2D,
  }));
  try {
    return droppedEntriesOf(model.config, missing);
  } finally {
    tf.dispose([missing.text, missing.audio, missing.vision]);
  }
}

/** Add `add`'s gradients into `into` (disposing what is replaced and `add`'s tensors). */
export function accumulateGrads(into: GradMap, add: GradMap): void {
  accumulate(into, add);
}

/** Every trainable variable of a step by name: CIDer's and the text encoder's. */
export function stepVariables(model: CiderModel, text: TextSource): Map<string, tf.Variable> {
  return trainables(model, text);
}

/** Dispose a teacher returned by completeViewPass. */
export function releaseTeacher(t: Teacher): void {
  disposeTeacher(t);
}

/** One full MSSD step: updates the model (and the text encoder's variables) in place. */
export function trainStep(
  model: CiderModel,
  optimizer: Adam,
  batch: TrainBatch,
  masks: MissingViewMasks,
  conf: Confounders,
  opts: TrainStepOptions = {},
): StepLosses {
  const vars = trainables(model, batch.text);
  const full = completeViewPass(model, batch, conf, opts);
  try {
    optimizer.step(vars, full.grads);
    if (opts.mssd === false) return completeViewOnly(full.loss);
    if (opts.accumulateFullViewGrad === false) disposeGrads(full.grads);
    const miss = missingViewPass(model, batch, masks, conf, full.teachers, opts);
    // Reference quirk: its gradients were zeroed only before step 1, so step 2 applies both.
    accumulate(miss.grads, full.grads);
    full.grads.clear();
    optimizer.step(vars, miss.grads);
    disposeGrads(miss.grads);
    return { taskFull: full.loss, ...miss.losses };
  } finally {
    disposeGrads(full.grads);
    for (const t of full.teachers) disposeTeacher(t);
  }
}

/** The losses of a step without MSSD: the complete view's NLL is the whole objective. */
export function completeViewOnly(taskFull: number): StepLosses {
  return {
    taskFull,
    taskMissing: 0,
    joint: 0,
    attention: 0,
    reconText: 0,
    reconAudio: 0,
    reconVision: 0,
    total: taskFull,
  };
}

/** Eval-mode confounders (spec 2.9): uniform prior and every entry replaced by the entries' mean. */
export function evalConfounders(dictionary: tf.Tensor2D): Confounders {
  return tf.tidy(() => {
    const C = dictionary.shape[0];
    return {
      dictionary: tf.tile(tf.mean(dictionary, 0, true), [C, 1]) as tf.Tensor2D,
      prior: tf.fill([C], 1 / C) as tf.Tensor1D,
    };
  });
}

export interface ViewOutputs {
  logProbs: tf.Tensor2D;
  joint: tf.Tensor2D;
  attention: AttentionState;
}

/**
 * The two views the debiased prediction needs (spec 5), eval mode (no dropout): the missing view
 * and the counterfactual view (counterfactual text features, same missing audio and vision).
 * Returns tensors (call inside tf.tidy).
 */
export function forwardInferenceViews(
  model: CiderModel,
  missingView: ViewInputs,
  counterfactualText: tf.Tensor3D,
  conf: Confounders,
  batchOffset = 0,
): { missingView: CiderOutputs; counterfactualView: CiderOutputs } {
  return {
    missingView: model.forward(missingView, conf, { batchOffset }),
    counterfactualView: model.forward({ ...missingView, text: counterfactualText }, conf, { batchOffset }),
  };
}

/**
 * Log-probabilities of the missing and counterfactual views, (B * C) row-major each, computed in
 * chunks of `chunkSize` rows to bound memory. Nothing stays allocated.
 */
export async function inferLogProbs(
  model: CiderModel,
  missingView: ViewInputs,
  counterfactualText: tf.Tensor3D,
  conf: Confounders,
  chunkSize = 128,
): Promise<{ missingView: Float32Array; counterfactualView: Float32Array }> {
  const B = missingView.text.shape[0];
  const C = model.config.classes;
  const m = new Float32Array(B * C);
  const cf = new Float32Array(B * C);
  for (const [start, size] of chunks(B, chunkSize)) {
    const [a, b] = tf.tidy(() => {
      const view: ViewInputs = {
        text: sliceRows(missingView.text, start, size),
        textMask: sliceRows(missingView.textMask, start, size),
        textLengths: Array.from(missingView.textLengths).slice(start, start + size),
        audio: sliceRows(missingView.audio, start, size),
        audioMask: sliceRows(missingView.audioMask, start, size),
        vision: sliceRows(missingView.vision, start, size),
        visionMask: sliceRows(missingView.visionMask, start, size),
      };
      const r = forwardInferenceViews(
        model,
        view,
        sliceRows(counterfactualText, start, size),
        sliceConfounders(conf, start, size),
        start,
      );
      return [r.missingView.logProbs, r.counterfactualView.logProbs];
    });
    m.set((await a.data()) as Float32Array, start * C);
    cf.set((await b.data()) as Float32Array, start * C);
    tf.dispose([a, b]);
  }
  return { missingView: m, counterfactualView: cf };
}
