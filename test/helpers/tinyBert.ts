/**
 * A tiny random BERT written to a temp folder the way Hugging Face's save_pretrained lays it out
 * (config.json + vocab.txt + model.safetensors, or pytorch_model.bin), so tests exercise the real
 * loading path end to end. 2 layers, hidden 32, 4 heads, intermediate 64, max_position 64.
 *
 * Weights are drawn larger than BERT's 0.02 init (and LayerNorm away from 1/0) so that attention
 * patterns, GELU's curvature and LayerNorm's affine part all show up in a parity comparison;
 * with 0.02 weights a broken attention mask can hide inside float noise.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serializeSafetensors, type TensorToWrite } from '../../src/main/ml/io/safetensors';
import { Rng } from '../../src/main/ml/random';

/** ids: [PAD] 0, [UNK] 1, [CLS] 2, [SEP] 3, [MASK] 4, then punctuation, words and "##" pieces. */
export const TINY_VOCAB: string[] = [
  '[PAD]',
  '[UNK]',
  '[CLS]',
  '[SEP]',
  '[MASK]',
  '.',
  ',',
  '!',
  '?',
  "'",
  '-',
  'the',
  'a',
  'i',
  'you',
  'it',
  'is',
  'was',
  'this',
  'that',
  'movie',
  'film',
  'good',
  'bad',
  'great',
  'love',
  'like',
  'not',
  'very',
  'really',
  'so',
  'and',
  'but',
  'of',
  'to',
  'in',
  'with',
  'my',
  'me',
  'we',
  'they',
  'he',
  'she',
  'what',
  'how',
  'fun',
  'boring',
  'funny',
  'sad',
  'happy',
  'story',
  'actor',
  'acting',
  'plot',
  'music',
  'end',
  'time',
  'think',
  'feel',
  'just',
  'all',
  'about',
  'cafe',
  'play',
  'watch',
  'un',
  'believ',
  '##s',
  '##ing',
  '##ed',
  '##ly',
  '##er',
  '##able',
  '##y',
  '##n',
  '##t',
  '##e',
];

export const TINY_CONFIG = {
  architectures: ['BertModel'],
  model_type: 'bert',
  hidden_size: 32,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  intermediate_size: 64,
  hidden_act: 'gelu',
  max_position_embeddings: 64,
  type_vocab_size: 2,
  vocab_size: TINY_VOCAB.length,
  layer_norm_eps: 1e-12,
  hidden_dropout_prob: 0.1,
  attention_probs_dropout_prob: 0.1,
  pad_token_id: 0,
  position_embedding_type: 'absolute',
};

export interface TinyBertOptions {
  seed?: number;
  /** name prefix in the weights file: '' (BertModel) or 'bert.' (task models) */
  prefix?: '' | 'bert.';
  format?: 'safetensors' | 'bin';
  /** config.json overrides; a value of undefined deletes the field */
  config?: Record<string, unknown>;
  /** tensors (unprefixed names) left out of the weights file */
  omit?: string[];
  /** write pooler + MLM head tensors too, which the encoder must ignore */
  extraHeads?: boolean;
  /** false: leave vocab.txt out */
  vocab?: boolean;
}

export interface TinyBert {
  dir: string;
  config: Record<string, unknown>;
  /** the weights as written (HF layout, unprefixed names) */
  tensors: Record<string, { shape: number[]; data: Float32Array }>;
  cleanup(): void;
}

export function tinyBertTensors(
  config: Record<string, unknown>,
  seed = 1,
): Record<string, { shape: number[]; data: Float32Array }> {
  const rng = new Rng(seed);
  const H = config.hidden_size as number;
  const I = config.intermediate_size as number;
  const out: Record<string, { shape: number[]; data: Float32Array }> = {};
  const add = (name: string, shape: number[], kind: 'w' | 'emb' | 'b' | 'lnw' | 'lnb') => {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const z = rng.normal();
      data[i] =
        kind === 'w'
          ? 0.2 * z
          : kind === 'emb'
            ? 0.5 * z
            : kind === 'b'
              ? 0.1 * z
              : kind === 'lnw'
                ? 1 + 0.1 * z
                : 0.1 * z;
    }
    out[name] = { shape, data };
  };
  add('embeddings.word_embeddings.weight', [config.vocab_size as number, H], 'emb');
  add('embeddings.position_embeddings.weight', [config.max_position_embeddings as number, H], 'emb');
  add('embeddings.token_type_embeddings.weight', [config.type_vocab_size as number, H], 'emb');
  add('embeddings.LayerNorm.weight', [H], 'lnw');
  add('embeddings.LayerNorm.bias', [H], 'lnb');
  for (let l = 0; l < (config.num_hidden_layers as number); l++) {
    const p = `encoder.layer.${l}.`;
    for (const n of ['query', 'key', 'value']) {
      add(`${p}attention.self.${n}.weight`, [H, H], 'w');
      add(`${p}attention.self.${n}.bias`, [H], 'b');
    }
    add(`${p}attention.output.dense.weight`, [H, H], 'w');
    add(`${p}attention.output.dense.bias`, [H], 'b');
    add(`${p}attention.output.LayerNorm.weight`, [H], 'lnw');
    add(`${p}attention.output.LayerNorm.bias`, [H], 'lnb');
    add(`${p}intermediate.dense.weight`, [I, H], 'w');
    add(`${p}intermediate.dense.bias`, [I], 'b');
    add(`${p}output.dense.weight`, [H, I], 'w');
    add(`${p}output.dense.bias`, [H], 'b');
    add(`${p}output.LayerNorm.weight`, [H], 'lnw');
    add(`${p}output.LayerNorm.bias`, [H], 'lnb');
  }
  return out;
}

const here = dirname(fileURLToPath(import.meta.url));

/**
 * The Python that writes test checkpoints (standard library only): Debian's /usr/bin/python3, as
 * the brief for these tests names, else the python3 on PATH; undefined when there is none.
 */
export function pythonInterpreter(): string | undefined {
  for (const py of ['/usr/bin/python3', 'python3'])
    if (spawnSync(py, ['-c', 'import pickle, zipfile'], { stdio: 'ignore' }).status === 0) return py;
  return undefined;
}
export const TORCH_BIN_WRITER = resolve(here, '../integration/ml/text/torch_bin_writer.py');

/**
 * Write tensors as a torch.save-format zip through /usr/bin/python3's pickle (no torch needed):
 * the script pickles torch._utils._rebuild_tensor_v2 / torch.FloatStorage references with a
 * persistent_id exactly as torch.save does. `half` names tensors stored as HalfStorage.
 */
export function writeTorchBin(
  file: string,
  tensors: Record<string, TensorToWrite>,
  opts: { half?: string[]; deflate?: boolean; shareStorage?: [string, string] } = {},
): void {
  const src = `${file}.src.safetensors`;
  writeFileSync(src, serializeSafetensors(tensors));
  const args = [TORCH_BIN_WRITER, src, file];
  for (const h of opts.half ?? []) args.push('--half', h);
  if (opts.deflate) args.push('--deflate');
  if (opts.shareStorage) args.push('--share', opts.shareStorage[0], opts.shareStorage[1]);
  try {
    const py = pythonInterpreter();
    if (!py) throw new Error('writing a pytorch_model.bin for a test needs python3 (standard library only)');
    execFileSync(py, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  } finally {
    rmSync(src, { force: true });
  }
}

export function writeTinyBert(opts: TinyBertOptions = {}): TinyBert {
  const dir = mkdtempSync(join(tmpdir(), 'cider-tinybert-'));
  const config: Record<string, unknown> = { ...TINY_CONFIG };
  for (const [k, v] of Object.entries(opts.config ?? {})) {
    if (v === undefined) delete config[k];
    else config[k] = v;
  }
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  if (opts.vocab !== false) writeFileSync(join(dir, 'vocab.txt'), TINY_VOCAB.join('\n') + '\n');
  const tensors = tinyBertTensors({ ...TINY_CONFIG, ...config }, opts.seed ?? 1);
  const prefix = opts.prefix ?? '';
  const toWrite: Record<string, TensorToWrite> = {};
  for (const [name, t] of Object.entries(tensors)) if (!opts.omit?.includes(name)) toWrite[prefix + name] = t;
  if (opts.extraHeads) {
    const H = config.hidden_size as number;
    toWrite[`${prefix}pooler.dense.weight`] = { shape: [H, H], data: new Float32Array(H * H).fill(0.01) };
    toWrite[`${prefix}pooler.dense.bias`] = { shape: [H], data: new Float32Array(H) };
    toWrite['cls.predictions.bias'] = { shape: [TINY_VOCAB.length], data: new Float32Array(TINY_VOCAB.length) };
    // old checkpoints carry the position_ids buffer as int64
    toWrite[`${prefix}embeddings.position_ids`] = {
      shape: [1, 64],
      data: BigInt64Array.from({ length: 64 }, (_, i) => BigInt(i)),
      dtype: 'I64',
    };
  }
  if ((opts.format ?? 'safetensors') === 'safetensors')
    writeFileSync(join(dir, 'model.safetensors'), serializeSafetensors(toWrite, { format: 'pt' }));
  else writeTorchBin(join(dir, 'pytorch_model.bin'), toWrite);
  return { dir, config, tensors, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
