/**
 * BERT configuration read from a Hugging Face `config.json`. Only the fields BertModel's forward
 * pass needs are kept; the file's own object stays in `raw` so the model identity hash and the UI
 * can show everything. Fields HF's BertConfig gives a default to are optional here with the same
 * defaults, and `defaulted` lists them so the model-folder check can say which ones were assumed.
 */
import { AppError } from '../../../shared/errors';

/** Every problem with a text model (folder, config, vocab, weights) is the user's input being wrong. */
export class TextModelError extends AppError {
  constructor(message: string, details?: unknown) {
    super('INVALID_INPUT', message, details);
    this.name = 'TextModelError';
  }
}

export type BertActivation = 'gelu' | 'gelu_new' | 'gelu_pytorch_tanh' | 'relu' | 'silu' | 'swish' | 'tanh';
const ACTIVATIONS: readonly string[] = ['gelu', 'gelu_new', 'gelu_pytorch_tanh', 'relu', 'silu', 'swish', 'tanh'];

export interface BertConfig {
  hiddenSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  intermediateSize: number;
  hiddenAct: BertActivation;
  maxPositionEmbeddings: number;
  typeVocabSize: number;
  vocabSize: number;
  layerNormEps: number;
  hiddenDropoutProb: number;
  attentionProbsDropoutProb: number;
  padTokenId: number;
  /** HF field names that were absent and took BertConfig's default */
  defaulted: string[];
  raw: Record<string, unknown>;
}

/** Fields without which the network's shapes are unknown: no default is safe. */
export const REQUIRED_CONFIG_FIELDS = [
  'hidden_size',
  'num_hidden_layers',
  'num_attention_heads',
  'intermediate_size',
  'vocab_size',
  'max_position_embeddings',
] as const;

/** HF BertConfig defaults (transformers/models/bert/configuration_bert.py). */
const DEFAULTS: Record<string, unknown> = {
  hidden_act: 'gelu',
  type_vocab_size: 2,
  layer_norm_eps: 1e-12,
  hidden_dropout_prob: 0.1,
  attention_probs_dropout_prob: 0.1,
  pad_token_id: 0,
};

/**
 * Validate a parsed config.json. Returns the problems (each naming the field) instead of throwing
 * so the folder inspection can list all of them at once; `parseBertConfig` throws.
 */
export function checkBertConfig(json: unknown, file: string): { config?: BertConfig; problems: string[] } {
  const problems: string[] = [];
  if (!json || typeof json !== 'object' || Array.isArray(json)) return { problems: [`${file}: not a JSON object`] };
  const raw = json as Record<string, unknown>;
  const defaulted: string[] = [];
  const posInt = (field: string): number => {
    let v = raw[field];
    if (v === undefined && field in DEFAULTS) {
      defaulted.push(field);
      v = DEFAULTS[field];
    }
    if (v === undefined) {
      problems.push(`${file}: field "${field}" is missing`);
      return 0;
    }
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
      problems.push(`${file}: field "${field}" must be a positive integer, got ${JSON.stringify(v)}`);
      return 0;
    }
    return v;
  };
  const num = (field: string, lo: number, hi: number): number => {
    let v = raw[field];
    if (v === undefined) {
      defaulted.push(field);
      v = DEFAULTS[field];
    }
    if (typeof v !== 'number' || !(v >= lo && v <= hi)) {
      problems.push(`${file}: field "${field}" must be a number in [${lo}, ${hi}], got ${JSON.stringify(v)}`);
      return Number(DEFAULTS[field]);
    }
    return v;
  };
  const hiddenSize = posInt('hidden_size');
  const numHiddenLayers = posInt('num_hidden_layers');
  const numAttentionHeads = posInt('num_attention_heads');
  const intermediateSize = posInt('intermediate_size');
  const vocabSize = posInt('vocab_size');
  const maxPositionEmbeddings = posInt('max_position_embeddings');
  const typeVocabSize = posInt('type_vocab_size');
  const layerNormEps = num('layer_norm_eps', 0, 1);
  const hiddenDropoutProb = num('hidden_dropout_prob', 0, 1);
  const attentionProbsDropoutProb = num('attention_probs_dropout_prob', 0, 1);
  let padTokenId = raw.pad_token_id;
  if (padTokenId === undefined || padTokenId === null) {
    defaulted.push('pad_token_id');
    padTokenId = 0;
  }
  let hiddenAct = raw.hidden_act;
  if (hiddenAct === undefined) {
    defaulted.push('hidden_act');
    hiddenAct = 'gelu';
  }
  if (typeof hiddenAct !== 'string' || !ACTIVATIONS.includes(hiddenAct)) {
    problems.push(`${file}: field "hidden_act" is ${JSON.stringify(hiddenAct)}; supported: ${ACTIVATIONS.join(', ')}`);
  }
  if (hiddenSize && numAttentionHeads && hiddenSize % numAttentionHeads !== 0) {
    problems.push(`${file}: hidden_size ${hiddenSize} is not a multiple of num_attention_heads ${numAttentionHeads}`);
  }
  // relative position embeddings change the attention equations; only BERT's absolute table is implemented
  if (raw.position_embedding_type !== undefined && raw.position_embedding_type !== 'absolute') {
    problems.push(
      `${file}: position_embedding_type ${JSON.stringify(raw.position_embedding_type)} is not supported (only "absolute")`,
    );
  }
  if (raw.model_type !== undefined && raw.model_type !== 'bert') {
    problems.push(`${file}: model_type is ${JSON.stringify(raw.model_type)}, expected "bert"`);
  }
  if (problems.length) return { problems };
  return {
    problems,
    config: {
      hiddenSize,
      numHiddenLayers,
      numAttentionHeads,
      intermediateSize,
      hiddenAct: hiddenAct as BertActivation,
      maxPositionEmbeddings,
      typeVocabSize,
      vocabSize,
      layerNormEps,
      hiddenDropoutProb,
      attentionProbsDropoutProb,
      padTokenId: Number(padTokenId),
      defaulted,
      raw,
    },
  };
}

export function parseBertConfig(json: unknown, file: string): BertConfig {
  const { config, problems } = checkBertConfig(json, file);
  if (!config) throw new TextModelError(problems.join('; '), { file, problems });
  return config;
}

/** The HF config.json fields for a config (used to write test models and re-export). */
export function toHfConfigJson(c: Omit<BertConfig, 'raw' | 'defaulted'>): Record<string, unknown> {
  return {
    architectures: ['BertModel'],
    model_type: 'bert',
    hidden_size: c.hiddenSize,
    num_hidden_layers: c.numHiddenLayers,
    num_attention_heads: c.numAttentionHeads,
    intermediate_size: c.intermediateSize,
    hidden_act: c.hiddenAct,
    max_position_embeddings: c.maxPositionEmbeddings,
    type_vocab_size: c.typeVocabSize,
    vocab_size: c.vocabSize,
    layer_norm_eps: c.layerNormEps,
    hidden_dropout_prob: c.hiddenDropoutProb,
    attention_probs_dropout_prob: c.attentionProbsDropoutProb,
    pad_token_id: c.padTokenId,
    position_embedding_type: 'absolute',
  };
}
