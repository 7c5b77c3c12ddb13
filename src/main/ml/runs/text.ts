/**
 * Where a run's text features come from (TextSourceSpec): the dataset's precomputed BERT features,
 * or a BERT model folder, frozen (complete-view features cached on disk) or fine-tuned with the
 * model. One interface for the training loop and the evaluator.
 *
 * Missing and counterfactual views change token ids ([UNK] for a dropped token, [MASK] for a
 * non-dictionary word). With a BERT model their features are recomputed from the changed ids, as
 * the reference does. With the dataset's features only ('features' mode) that is impossible, and
 * we ZERO the changed positions' features instead, the way dropped audio/vision frames are zeroed.
 * That is a different missing view from the paper's: results say so (`note`), and MACI, whose
 * counterfactual text would be mostly zeros, is refused in that mode.
 */
import { chosenBackend, tf } from '../backends/tf';
import type { TextSourceSpec } from '../../../shared/contract/training';
import type { TensorToWrite } from '../io/safetensors';
import { BertEncoder, loadTextEncoder, TextModelError, FrozenFeatureCache, type TextEncoderBundle } from '../text';
import type { HostTensor } from '../text/weights';
import { CLS_ID, MASK_ID, PAD_ID, SEP_ID, UNK_ID } from '../eval/missing';
import { precomputedText, type TextSource } from '../train/text';
import type { BatchArrays } from './data';
import { join } from 'node:path';
import { OnnxBertEncoder } from '../text/onnxEncoder';

export const BERT_PREFIX = 'text_model.';

export interface TextProvider {
  readonly kind: TextSourceSpec['kind'];
  /** width of the features the model reads */
  readonly dl: number;
  /** how missing/counterfactual text is obtained, shown with every result */
  readonly note: string;
  /** false in 'features' mode: changed tokens cannot be re-encoded */
  readonly recomputes: boolean;
  /** trainable BERT variables by name (fine-tune only), prefixed 'text_model.' */
  readonly variables: Map<string, tf.Variable>;
  /** complete-view features (B, L, dl), no gradient; the caller disposes */
  complete(batch: BatchArrays): Promise<tf.Tensor3D>;
  /** features of the batch's text with some tokens replaced: `ids3` (B, 3, L), `replaced` (B * L) 1 where changed */
  altered(batch: BatchArrays, ids3: Int32Array, replaced: ArrayLike<number>): Promise<tf.Tensor3D>;
  /** what trainStep reads for this batch, given the text keep mask (B * L, 1 = kept) */
  trainingSource(batch: BatchArrays, textKeep: Float32Array): Promise<{ source: TextSource; dispose(): void }>;
  /** BERT weights to checkpoint (fine-tune only), HF layout under 'text_model.' */
  checkpointTensors(): Record<string, TensorToWrite>;
  dispose(): void;
}

/** ids with every valid token whose keep is 0 replaced by [UNK] (padding stays padding). */
export function missingTextIds(
  ids3: Int32Array,
  size: number,
  L: number,
  textKeep: ArrayLike<number>,
  textMask: ArrayLike<number>,
): { ids3: Int32Array; replaced: Uint8Array } {
  const out = ids3.slice();
  const replaced = new Uint8Array(size * L);
  for (let b = 0; b < size; b++) {
    for (let t = 0; t < L; t++) {
      if (textMask[b * L + t] > 0.5 && textKeep[b * L + t] < 0.5) {
        out[b * 3 * L + t] = UNK_ID;
        replaced[b * L + t] = 1;
      }
    }
  }
  return { ids3: out, replaced };
}

/** Which positions of `changed` differ from `original` (row 0 of (B, 3, L)). */
export function changedPositions(original: Int32Array, changed: Int32Array, size: number, L: number): Uint8Array {
  const out = new Uint8Array(size * L);
  for (let b = 0; b < size; b++)
    for (let t = 0; t < L; t++) out[b * L + t] = original[b * 3 * L + t] !== changed[b * 3 * L + t] ? 1 : 0;
  return out;
}

function zeroPositions(features: tf.Tensor3D, replaced: ArrayLike<number>): tf.Tensor3D {
  const [B, L] = features.shape;
  return tf.tidy(
    () =>
      tf.mul(
        features,
        tf.tensor3d(
          Float32Array.from(replaced, (r) => 1 - r),
          [B, L, 1],
        ),
      ) as tf.Tensor3D,
  );
}

class FeaturesText implements TextProvider {
  readonly kind = 'features' as const;
  readonly recomputes = false;
  readonly variables = new Map<string, tf.Variable>();
  readonly note =
    "text from the dataset's precomputed BERT features: no BERT model, so a dropped token's features are ZEROED rather than recomputed from [UNK] (not the paper's missing view); MACI needs a BERT model";
  constructor(
    readonly dl: number,
    private readonly L: number,
  ) {}
  private features(batch: BatchArrays): tf.Tensor3D {
    if (!batch.features) throw new Error('features mode: the batch was read without text features');
    return tf.tensor3d(batch.features, [batch.size, this.L, this.dl]);
  }
  async complete(batch: BatchArrays): Promise<tf.Tensor3D> {
    return this.features(batch);
  }
  async altered(batch: BatchArrays, _ids3: Int32Array, replaced: ArrayLike<number>): Promise<tf.Tensor3D> {
    const full = this.features(batch);
    const out = zeroPositions(full, replaced);
    full.dispose();
    return out;
  }
  async trainingSource(batch: BatchArrays, textKeep: Float32Array) {
    const full = this.features(batch);
    const { replaced } = missingTextIds(batch.ids3, batch.size, this.L, textKeep, batch.textMask);
    const missing = zeroPositions(full, replaced);
    return { source: precomputedText(full, missing), dispose: () => tf.dispose([full, missing]) };
  }
  checkpointTensors(): Record<string, TensorToWrite> {
    return {};
  }
  dispose(): void {}
}

function idsTensor(ids3: Int32Array, size: number, L: number): tf.Tensor3D {
  return tf.tensor3d(ids3, [size, 3, L], 'int32');
}

class BertText implements TextProvider {
  readonly recomputes = true;
  readonly variables: Map<string, tf.Variable>;
  readonly dl: number;
  readonly note: string;
  private readonly cache: FrozenFeatureCache | null;

  constructor(
    readonly kind: 'frozen' | 'finetune',
    private readonly encoder: BertEncoder,
    modelId: string,
    private readonly L: number,
    cacheDir: string | null,
    /** BERT on ONNX Runtime for everything that only reads features (none while fine-tuning) */
    private readonly onnx: OnnxBertEncoder | null = null,
    onnxNote = '',
  ) {
    this.dl = encoder.config.hiddenSize;
    encoder.setTrainable(kind === 'finetune');
    this.variables = new Map(kind === 'finetune' ? [...encoder.variables].map(([n, v]) => [BERT_PREFIX + n, v]) : []);
    this.cache = kind === 'frozen' && cacheDir ? new FrozenFeatureCache(cacheDir, modelId) : null;
    // where BERT runs is part of every result's note, next to the inference engine
    const where = onnx
      ? `BERT on ONNX Runtime (${onnx.name})`
      : `BERT on TF.js ${chosenBackend()?.name ?? 'unchosen'}${onnxNote}`;
    this.note =
      kind === 'frozen'
        ? `text re-encoded by the frozen BERT model: dropped tokens become [UNK], counterfactual words [MASK] (complete-view features cached on disk); ${where}`
        : `text re-encoded by the fine-tuned BERT: dropped tokens become [UNK], counterfactual words [MASK]; ${where}`;
  }

  async complete(batch: BatchArrays): Promise<tf.Tensor3D> {
    if (this.onnx) {
      const onnx = this.onnx;
      const { size, ids3 } = batch;
      const data = this.cache
        ? await this.cache.featuresOf(ids3, size, this.L, this.dl, (rows, n) => onnx.encode(rows, n, this.L))
        : await onnx.encode(ids3, size, this.L);
      return tf.tensor3d(data, [size, this.L, this.dl]);
    }
    const ids = idsTensor(batch.ids3, batch.size, this.L);
    try {
      return this.cache ? await this.cache.features(this.encoder, ids) : this.encoder.encode(ids, { training: false });
    } finally {
      ids.dispose();
    }
  }

  async altered(batch: BatchArrays, ids3: Int32Array): Promise<tf.Tensor3D> {
    // never cached on disk: training masks are fresh every step and would fill the disk. On ONNX
    // Runtime, rows whose ids did not change come from the encoder's memo (rate 0 fills it).
    if (this.onnx) return tf.tensor3d(await this.onnx.encode(ids3, batch.size, this.L), [batch.size, this.L, this.dl]);
    const ids = idsTensor(ids3, batch.size, this.L);
    try {
      return this.encoder.encode(ids, { training: false });
    } finally {
      ids.dispose();
    }
  }

  async trainingSource(batch: BatchArrays, textKeep: Float32Array) {
    const missing = missingTextIds(batch.ids3, batch.size, this.L, textKeep, batch.textMask);
    if (this.kind === 'frozen') {
      const full = await this.complete(batch);
      const miss = await this.altered(batch, missing.ids3);
      return { source: precomputedText(full, miss), dispose: () => tf.dispose([full, miss]) };
    }
    // fine-tune: BERT runs inside the gradient scope, on the complete and on the missing ids.
    // BERT's dropout (the text module's) draws unseeded masks: fine-tuned runs do not reproduce bit for bit.
    const full = idsTensor(batch.ids3, batch.size, this.L);
    const miss = idsTensor(missing.ids3, batch.size, this.L);
    const rows = (t: tf.Tensor3D, start: number, size: number) =>
      start === 0 && size === batch.size ? t : t.slice([start, 0, 0], [size, 3, this.L]);
    const source: TextSource = {
      variables: this.variables,
      full: (start, size, training) => this.encoder.encode(rows(full, start, size), { training }),
      missing: (start, size, _keep, training) => this.encoder.encode(rows(miss, start, size), { training }),
    };
    return { source, dispose: () => tf.dispose([full, miss]) };
  }

  checkpointTensors(): Record<string, TensorToWrite> {
    if (this.kind !== 'finetune') return {};
    const out: Record<string, TensorToWrite> = {};
    for (const [name, t] of Object.entries(this.encoder.toHfTensors()))
      out[BERT_PREFIX + name] = { shape: t.shape, data: t.data, dtype: 'F32' };
    return out;
  }

  dispose(): void {
    this.encoder.dispose();
    void this.onnx?.dispose();
  }
}

/** The token ids in datasets are bert-base-uncased ids; a model with another vocabulary would read them wrongly. */
function checkVocabulary(bundle: TextEncoderBundle, folder: string): void {
  const t = bundle.tokenizer;
  const want = {
    '[PAD]': [t.padId, PAD_ID],
    '[UNK]': [t.unkId, UNK_ID],
    '[CLS]': [t.clsId, CLS_ID],
    '[SEP]': [t.sepId, SEP_ID],
    '[MASK]': [t.maskId, MASK_ID],
  } as const;
  const wrong = Object.entries(want)
    .filter(([, [got, expected]]) => got !== expected)
    .map(([name, [got, expected]]) => `${name} is id ${got ?? 'absent'}, expected ${expected}`);
  if (wrong.length) {
    throw new TextModelError(
      `BERT model folder ${folder}: its vocabulary does not match the datasets' bert-base-uncased token ids (${wrong.join('; ')}); use bert-base-uncased or a model with the same vocabulary`,
      { folder },
    );
  }
}

export interface OpenTextOptions {
  spec: TextSourceSpec;
  /** token steps L of the dataset */
  L: number;
  /** width of the dataset's own text features (features mode) */
  datasetDl: number | null;
  /** frozen mode's feature cache folder */
  cacheDir?: string;
  /** fine-tuned BERT weights from a checkpoint (HF names, unprefixed), replacing the folder's */
  bertWeights?: Map<string, HostTensor>;
  /** the training loop: a fine-tuned BERT changes every step, so it stays on TF.js */
  training?: boolean;
  /** where the BERT ONNX export is cached (default <cacheDir>/bert-onnx) */
  onnxCacheDir?: string;
}

/**
 * BERT on ONNX Runtime whenever its weights are fixed for the provider's life: frozen mode, and a
 * fine-tuned run's checkpoint outside training. CIDER_TEXT_ENGINE=tfjs keeps it on TF.js (bench,
 * diagnosis). A failed export or session falls back to TF.js, and the note says why.
 */
async function openOnnxText(
  o: OpenTextOptions,
  encoder: BertEncoder,
): Promise<{ onnx: OnnxBertEncoder | null; note: string }> {
  if (process.env.CIDER_TEXT_ENGINE === 'tfjs') return { onnx: null, note: ' (CIDER_TEXT_ENGINE=tfjs)' };
  if (o.spec.kind === 'finetune' && o.training) return { onnx: null, note: '' };
  try {
    const weights = new Map(Object.entries(encoder.toHfTensors()));
    const cacheDir = o.onnxCacheDir ?? (o.cacheDir ? join(o.cacheDir, 'bert-onnx') : null);
    return {
      onnx: await OnnxBertEncoder.open(encoder.config, weights, { cacheDir, maskValue: encoder.maskValue }),
      note: '',
    };
  } catch (e) {
    return { onnx: null, note: ` (no ONNX export: ${(e as Error).message.split('\n')[0]})` };
  }
}

export async function openTextProvider(o: OpenTextOptions): Promise<TextProvider> {
  if (o.spec.kind === 'features') {
    if (o.datasetDl === null)
      throw new TextModelError(
        "this dataset has no precomputed text features; train with a BERT model folder ('frozen:PATH' or 'finetune:PATH')",
      );
    return new FeaturesText(o.datasetDl, o.L);
  }
  const bundle = await loadTextEncoder(o.spec.modelDir, { trainable: o.spec.kind === 'finetune' });
  try {
    checkVocabulary(bundle, o.spec.modelDir);
    if (o.L > bundle.config.maxPositionEmbeddings)
      throw new TextModelError(
        `BERT model ${o.spec.modelDir} takes at most ${bundle.config.maxPositionEmbeddings} tokens; the dataset has L=${o.L}`,
      );
  } catch (e) {
    bundle.encoder.dispose();
    throw e;
  }
  let encoder = bundle.encoder;
  if (o.bertWeights) {
    bundle.encoder.dispose();
    encoder = new BertEncoder(bundle.config, o.bertWeights, { trainable: o.spec.kind === 'finetune' });
  }
  const { onnx, note } = await openOnnxText(o, encoder);
  return new BertText(
    o.spec.kind,
    encoder,
    bundle.modelId,
    o.L,
    o.spec.kind === 'frozen' ? (o.cacheDir ?? null) : null,
    onnx,
    note,
  );
}
