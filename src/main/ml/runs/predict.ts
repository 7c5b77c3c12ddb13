/**
 * Inference over a whole split, chunk by chunk, in eval mode (no dropout, evaluation
 * confounders): the complete view, or the missing view of given keep masks, and optionally the
 * counterfactual view of MACI (spec 5). Returns (N, C) log-probabilities, row-major.
 */
import { tf } from '../backends/tf';
import { viewInputs, viewTensors, type CiderModel, type Confounders, type ViewInputs } from '../model/cider';
import type { InferenceConfounders, InferenceEngine } from '../inference';
import { counterfactualText, type BiasDictionary } from '../eval/maci';
import { missingView, type KeepMasks } from '../eval/missing';
import { ranges, readBatch, splitLayout, type BatchArrays, type SplitData } from './data';
import type { TextProvider } from './text';

export interface PredictOptions {
  batchSize: number;
  /** keep masks for the whole split (missing view); absent = complete view */
  keep?: KeepMasks;
  /** also the counterfactual view (needs a text provider that re-encodes) */
  dictionary?: BiasDictionary;
  signal?: AbortSignal;
  onChunk?: (done: number, total: number) => void;
}

export interface SplitPredictions {
  logProbs: Float32Array;
  counterfactual: Float32Array | null;
}

function splitView(
  batch: BatchArrays,
  split: SplitData,
  text: tf.Tensor3D,
  audio: Float32Array,
  vision: Float32Array,
): ViewInputs {
  const shape = { textLength: split.L, audioLength: split.Ta, da: split.da, visionLength: split.Tv, dv: split.dv };
  return viewInputs(shape, batch.size, { ...batch, audio, vision }, text);
}

async function logProbsOf(model: CiderModel, view: ViewInputs, conf: Confounders): Promise<Float32Array> {
  const out = tf.tidy(() => model.forward(view, conf).logProbs);
  const data = (await out.data()) as Float32Array;
  out.dispose();
  return data;
}

const disposeView = (v: ViewInputs) => tf.dispose([v.text, ...viewTensors(v)]);

const isEngine = (m: CiderModel | InferenceEngine): m is InferenceEngine => 'infer' in m;

/**
 * Predict a split with an in-memory model (TF.js; training-time validation) or with an inference
 * engine (ONNX Runtime or TF.js, see ml/inference.ts; evaluation and sweeps). With an engine the
 * confounders are plain arrays (evaluationConfounders) and both MACI views come from one call.
 */
export async function predictSplit(
  model: CiderModel,
  split: SplitData,
  text: TextProvider,
  conf: Confounders,
  o: PredictOptions,
): Promise<SplitPredictions>;
export async function predictSplit(
  engine: InferenceEngine,
  split: SplitData,
  text: TextProvider,
  conf: InferenceConfounders,
  o: PredictOptions,
): Promise<SplitPredictions>;
export async function predictSplit(
  model: CiderModel | InferenceEngine,
  split: SplitData,
  text: TextProvider,
  conf: Confounders | InferenceConfounders,
  o: PredictOptions,
): Promise<SplitPredictions> {
  const C = model.config.classes;
  const L = split.L;
  const logProbs = new Float32Array(split.count * C);
  const counterfactual = o.dictionary ? new Float32Array(split.count * C) : null;
  if (o.dictionary && !text.recomputes)
    throw new Error('the counterfactual view needs a BERT model to encode [MASK]ed text');
  const chunks = ranges(split.count, o.batchSize);
  let done = 0;
  for (const [start, size] of chunks) {
    o.signal?.throwIfAborted();
    const rows = Array.from({ length: size }, (_, i) => start + i);
    const batch = await readBatch(split, rows, text.kind === 'features');
    let ids = batch.ids3;
    let audio = batch.audio;
    let vision = batch.vision;
    let textFeatures: tf.Tensor3D;
    let replaced: Uint8Array | null = null;
    if (o.keep) {
      const keep = {
        text: o.keep.text.subarray(start * L, (start + size) * L),
        audio: o.keep.audio.subarray(start * split.Ta, (start + size) * split.Ta),
        vision: o.keep.vision.subarray(start * split.Tv, (start + size) * split.Tv),
      };
      const mv = missingView(
        { text: batch.ids3, audio: batch.audio, vision: batch.vision },
        splitLayout(split, start, size),
        keep,
      );
      ids = mv.text;
      audio = mv.audio;
      vision = mv.vision;
      // dropped = valid - keep (a token that already was [UNK] still counts as dropped)
      replaced = Uint8Array.from(batch.textMask, (m, i) => (m > 0.5 && keep.text[i] === 0 ? 1 : 0));
      textFeatures = await text.altered(batch, ids, replaced);
    } else {
      textFeatures = await text.complete(batch);
    }
    if (isEngine(model)) {
      let cfText: tf.Tensor3D | null = null;
      try {
        if (counterfactual && o.dictionary)
          cfText = await counterfactualFeatures(text, batch, ids, replaced, size, L, o.dictionary);
        const out = await model.infer(
          {
            size,
            text: (await textFeatures.data()) as Float32Array,
            textCf: cfText ? ((await cfText.data()) as Float32Array) : undefined,
            textMask: batch.textMask,
            textLengths: batch.textLengths,
            audio,
            audioMask: batch.audioMask,
            vision,
            visionMask: batch.visionMask,
            offset: start,
          },
          conf as InferenceConfounders,
          { attention: false, chunkSize: o.batchSize },
        );
        logProbs.set(out.logProbs, start * C);
        if (counterfactual && out.logProbsCf) counterfactual.set(out.logProbsCf, start * C);
      } finally {
        textFeatures.dispose();
        cfText?.dispose();
      }
    } else {
      const view = splitView(batch, split, textFeatures, audio, vision);
      try {
        logProbs.set(await logProbsOf(model, view, conf as Confounders), start * C);
        if (counterfactual && o.dictionary) {
          const cfText = await counterfactualFeatures(text, batch, ids, replaced, size, L, o.dictionary);
          try {
            counterfactual.set(await logProbsOf(model, { ...view, text: cfText }, conf as Confounders), start * C);
          } finally {
            cfText.dispose();
          }
        }
      } finally {
        disposeView(view);
      }
    }
    done += size;
    o.onChunk?.(done, split.count);
    // let a cancel message reach the worker between chunks
    await new Promise((r) => setImmediate(r));
  }
  return { logProbs, counterfactual };
}

/** The counterfactual text of MACI (bias words kept, the rest [MASK]), encoded. */
async function counterfactualFeatures(
  text: TextProvider,
  batch: BatchArrays,
  ids: Int32Array,
  replaced: Uint8Array | null,
  size: number,
  L: number,
  dictionary: BiasDictionary,
): Promise<tf.Tensor3D> {
  const cfIds = counterfactualText(ids, size, L, dictionary);
  const changed = Uint8Array.from({ length: size * L }, (_, i) => {
    const b = Math.floor(i / L);
    const t = i % L;
    return (replaced?.[i] ?? 0) || cfIds[b * 3 * L + t] !== batch.ids3[b * 3 * L + t] ? 1 : 0;
  });
  return text.altered(batch, cfIds, changed);
}
