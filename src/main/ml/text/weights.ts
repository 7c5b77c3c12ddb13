/**
 * BERT weight names and shapes under Hugging Face's BertModel layout, and the normalisation of
 * checkpoint names to it. Checkpoints come from BertModel (no prefix), from task models
 * (BertForSequenceClassification and friends: "bert." prefix, plus heads we ignore) and from old
 * TF-converted files (LayerNorm "gamma"/"beta"); HF's loader accepts all three, so do we.
 */
import type { BertConfig } from './config';

export interface HostTensor {
  shape: number[];
  data: Float32Array;
}

/** name -> shape in the checkpoint (PyTorch layout: Linear weights are (out, in)). */
export function expectedBertTensors(c: BertConfig): Map<string, number[]> {
  const H = c.hiddenSize;
  const I = c.intermediateSize;
  const m = new Map<string, number[]>();
  m.set('embeddings.word_embeddings.weight', [c.vocabSize, H]);
  m.set('embeddings.position_embeddings.weight', [c.maxPositionEmbeddings, H]);
  m.set('embeddings.token_type_embeddings.weight', [c.typeVocabSize, H]);
  m.set('embeddings.LayerNorm.weight', [H]);
  m.set('embeddings.LayerNorm.bias', [H]);
  for (let l = 0; l < c.numHiddenLayers; l++) {
    const p = `encoder.layer.${l}.`;
    for (const n of ['query', 'key', 'value']) {
      m.set(`${p}attention.self.${n}.weight`, [H, H]);
      m.set(`${p}attention.self.${n}.bias`, [H]);
    }
    m.set(`${p}attention.output.dense.weight`, [H, H]);
    m.set(`${p}attention.output.dense.bias`, [H]);
    m.set(`${p}attention.output.LayerNorm.weight`, [H]);
    m.set(`${p}attention.output.LayerNorm.bias`, [H]);
    m.set(`${p}intermediate.dense.weight`, [I, H]);
    m.set(`${p}intermediate.dense.bias`, [I]);
    m.set(`${p}output.dense.weight`, [H, I]);
    m.set(`${p}output.dense.bias`, [H]);
    m.set(`${p}output.LayerNorm.weight`, [H]);
    m.set(`${p}output.LayerNorm.bias`, [H]);
  }
  return m;
}

/** Linear layers' weights: stored (out, in) by PyTorch, used (in, out) here. */
export function isLinearWeight(name: string): boolean {
  return name.endsWith('.weight') && !name.includes('LayerNorm') && !name.startsWith('embeddings.');
}

/**
 * Map a checkpoint name to the BertModel name, or undefined for tensors BertModel's
 * last_hidden_state does not use (pooler, MLM/NSP/classifier heads, the position_ids buffer).
 */
export function normaliseBertName(name: string): string | undefined {
  let n = name;
  if (n.startsWith('bert.')) n = n.slice(5);
  else if (n.startsWith('model.')) n = n.slice(6);
  if (!n.startsWith('embeddings.') && !n.startsWith('encoder.')) return undefined;
  if (n === 'embeddings.position_ids') return undefined;
  n = n.replace(/LayerNorm\.gamma$/, 'LayerNorm.weight').replace(/LayerNorm\.beta$/, 'LayerNorm.bias');
  return n;
}

/**
 * Which BERT parameters get weight decay when fine-tuning: everything but biases and LayerNorm
 * weights (the paper's and HF's no_decay = ["bias", "LayerNorm.bias", "LayerNorm.weight"]).
 */
export function paramGroup(name: string): 'decay' | 'no_decay' {
  return name.endsWith('.bias') || name.includes('LayerNorm.') ? 'no_decay' : 'decay';
}

/**
 * Check a checkpoint's names and shapes against the config. Returns one message per problem,
 * each naming the file and the tensor, plus the checkpoint name used for each expected tensor.
 */
export function checkBertTensors(
  available: Map<string, number[]>,
  config: BertConfig,
  file: string,
): { problems: string[]; sourceName: Map<string, string> } {
  const expected = expectedBertTensors(config);
  const sourceName = new Map<string, string>();
  for (const raw of available.keys()) {
    const n = normaliseBertName(raw);
    // prefer the unprefixed name if a file somehow holds both
    if (n && expected.has(n) && (!sourceName.has(n) || raw === n)) sourceName.set(n, raw);
  }
  const problems: string[] = [];
  const missing: string[] = [];
  for (const [name, shape] of expected) {
    const src = sourceName.get(name);
    if (!src) {
      missing.push(name);
      continue;
    }
    const got = available.get(src)!;
    if (got.length !== shape.length || got.some((d, i) => d !== shape[i])) {
      problems.push(`${file}: tensor ${src} has shape [${got.join(', ')}], config.json implies [${shape.join(', ')}]`);
    }
  }
  if (missing.length) {
    const shown = missing.slice(0, 8).join(', ');
    problems.unshift(
      `${file}: ${missing.length} BERT tensor${missing.length > 1 ? 's' : ''} missing: ${shown}${missing.length > 8 ? ', ...' : ''}`,
    );
  }
  return { problems, sourceName };
}
