/**
 * The text encoder as the engine sees it: load a model folder, pick a mode, get token features.
 *
 *   const bundle = await loadTextEncoder(folder, { trainable: mode === 'finetune' });
 *   const text = new TextFeatures(bundle, mode, { cacheDir });
 *   finetune: inside the gradient tape, text.encodeForTraining(ids, training) (synchronous, as
 *             tf.variableGrads requires), optimizer groups from text.optimizerGroups();
 *   frozen:   before the tape, await text.features(ids) (cached on disk by model and token ids).
 */
import type { tf } from '../backends/tf';
import type { BertEncoder } from './bert';
import { TextModelError } from './config';
import { FrozenFeatureCache } from './frozenCache';
import { paramGroup } from './weights';

export { BertEncoder, FLOAT32_MIN, type BertEncoderOptions, type ForwardOptions } from './bert';
export {
  checkBertConfig,
  parseBertConfig,
  toHfConfigJson,
  TextModelError,
  REQUIRED_CONFIG_FIELDS,
  type BertConfig,
  type BertActivation,
} from './config';
export { FrozenFeatureCache } from './frozenCache';
export {
  inspectModelFolder,
  loadTextEncoder,
  modelIdentity,
  readBertWeights,
  readSafetensorsShapes,
  ENCODER_IMPLEMENTATION_VERSION,
  type ModelFolderReport,
  type TextEncoderBundle,
} from './folder';
export {
  WordPieceTokenizer,
  parseVocab,
  SPECIAL_TOKENS,
  type Encoded,
  type Token,
  type TokenizerOptions,
} from './tokenizer';
export { expectedBertTensors, normaliseBertName, paramGroup, type HostTensor } from './weights';
export { listTorchBinTensors, readTorchBin } from './torchBin';

export type TextEncoderMode = 'finetune' | 'frozen';

/** The paper's BERT fine-tuning settings (spec section 2.1). */
export const BERT_FINETUNE_DEFAULTS = { learningRate: 5e-5, weightDecay: 0.001 } as const;

export interface BertOptimizerGroup {
  group: 'bert_decay' | 'bert_no_decay';
  names: string[];
  variables: tf.Variable[];
  learningRate: number;
  weightDecay: number;
}

/** BERT's two optimizer groups: decayed weights, and biases + LayerNorm without decay. */
export function bertOptimizerGroups(
  encoder: BertEncoder,
  opts: { learningRate?: number; weightDecay?: number } = {},
): BertOptimizerGroup[] {
  const learningRate = opts.learningRate ?? BERT_FINETUNE_DEFAULTS.learningRate;
  const weightDecay = opts.weightDecay ?? BERT_FINETUNE_DEFAULTS.weightDecay;
  const decay: BertOptimizerGroup = { group: 'bert_decay', names: [], variables: [], learningRate, weightDecay };
  const noDecay: BertOptimizerGroup = {
    group: 'bert_no_decay',
    names: [],
    variables: [],
    learningRate,
    weightDecay: 0,
  };
  for (const [name, v] of encoder.variables) {
    const g = paramGroup(name) === 'decay' ? decay : noDecay;
    g.names.push(name);
    g.variables.push(v);
  }
  return [decay, noDecay];
}

export class TextFeatures {
  readonly mode: TextEncoderMode;
  readonly encoder: BertEncoder;
  readonly modelId: string;
  readonly cache: FrozenFeatureCache | undefined;

  constructor(
    bundle: { encoder: BertEncoder; modelId: string },
    mode: TextEncoderMode,
    opts: { cacheDir?: string } = {},
  ) {
    this.mode = mode;
    this.encoder = bundle.encoder;
    this.modelId = bundle.modelId;
    if (mode === 'frozen') {
      if (!opts.cacheDir) throw new TextModelError('frozen text encoder needs a cache folder (cacheDir)');
      this.cache = new FrozenFeatureCache(opts.cacheDir, bundle.modelId);
    }
    // frozen BERT must not receive gradients even if the engine asks for all trainable variables
    bundle.encoder.setTrainable(mode === 'finetune');
  }

  /** Variables the optimizer updates with BERT's own settings (none in frozen mode). */
  optimizerGroups(opts?: { learningRate?: number; weightDecay?: number }): BertOptimizerGroup[] {
    return this.mode === 'finetune' ? bertOptimizerGroups(this.encoder, opts) : [];
  }

  /** Fine-tune mode, inside the gradient tape: (B, 3, L) -> (B, L, H), dropout when training. */
  encodeForTraining(ids: tf.Tensor, training: boolean): tf.Tensor3D {
    if (this.mode !== 'finetune')
      throw new TextModelError('encodeForTraining is for fine-tune mode; use await features(ids) in frozen mode');
    return this.encoder.encode(ids, { training });
  }

  /** Features without gradients: frozen reads/fills the disk cache; fine-tune runs BERT in inference mode. */
  async features(ids: tf.Tensor): Promise<tf.Tensor3D> {
    if (this.cache) return this.cache.features(this.encoder, ids);
    return this.encoder.encode(ids, { training: false });
  }
}
