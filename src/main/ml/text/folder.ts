/**
 * A BERT model folder chosen by the user (`cider models add PATH`): config.json, vocab.txt and
 * model.safetensors or pytorch_model.bin (optionally tokenizer_config.json), as Hugging Face's
 * save_pretrained writes them. `inspectModelFolder` lists everything wrong at once, each problem
 * naming the file and the field or tensor; `loadTextEncoder` refuses a folder with problems.
 * Nothing is fetched from the internet: a missing file is reported, never downloaded.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readSafetensors } from '../io/safetensors';
import { BertEncoder, type BertEncoderOptions } from './bert';
import { checkBertConfig, TextModelError, type BertConfig } from './config';
import { listTorchBinTensors, readTorchBin } from './torchBin';
import { parseVocab, SPECIAL_TOKENS, WordPieceTokenizer, type TokenizerOptions } from './tokenizer';
import { checkBertTensors, type HostTensor } from './weights';

/** Bumped when the encoder's numbers change, so frozen caches computed by older code are not reused. */
export const ENCODER_IMPLEMENTATION_VERSION = 1;

export interface ModelFolderReport {
  folder: string;
  ok: boolean;
  /** each names the file and what is wrong in it */
  problems: string[];
  /** not fatal: defaults assumed, optional tokens absent */
  warnings: string[];
  files: { config?: string; vocab?: string; weights?: string; tokenizerConfig?: string };
  weightsFormat?: 'safetensors' | 'pytorch';
  config?: BertConfig;
  vocabSize?: number;
  tokenizerOptions?: TokenizerOptions;
}

/** Read only a safetensors header (name -> shape): inspecting a 440 MB file should not load it. */
export function readSafetensorsShapes(file: string): Map<string, number[]> {
  const fd = openSync(file, 'r');
  try {
    const size = statSync(file).size;
    const head = Buffer.alloc(8);
    if (size < 8 || readSync(fd, head, 0, 8, 0) !== 8)
      throw new TextModelError(`${file}: shorter than the 8-byte safetensors header length`, { file });
    const len = Number(head.readBigUInt64LE(0));
    if (len <= 0 || 8 + len > size)
      throw new TextModelError(
        `${file}: header length ${len} does not fit in ${size} bytes (truncated or not safetensors)`,
        { file },
      );
    const json = Buffer.alloc(len);
    readSync(fd, json, 0, len, 8);
    let header: Record<string, { shape?: number[]; dtype?: string; data_offsets?: [number, number] }>;
    try {
      header = JSON.parse(json.toString('utf8'));
    } catch (e) {
      throw new TextModelError(`${file}: safetensors header is not valid JSON (${(e as Error).message})`, { file });
    }
    const shapes = new Map<string, number[]>();
    for (const [name, info] of Object.entries(header)) {
      if (name === '__metadata__') continue;
      if (!Array.isArray(info?.shape))
        throw new TextModelError(`${file}: tensor ${name} has no shape in the header`, { file, tensor: name });
      if (info.data_offsets && 8 + len + info.data_offsets[1] > size)
        throw new TextModelError(`${file}: tensor ${name} runs past the end of the file (truncated download?)`, {
          file,
          tensor: name,
        });
      shapes.set(name, info.shape);
    }
    return shapes;
  } finally {
    closeSync(fd);
  }
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

export async function inspectModelFolder(folder: string): Promise<ModelFolderReport> {
  const report: ModelFolderReport = { folder, ok: false, problems: [], warnings: [], files: {} };
  const { problems, warnings } = report;
  let st;
  try {
    st = statSync(folder);
  } catch {
    problems.push(`${folder}: folder does not exist`);
    return report;
  }
  if (!st.isDirectory()) {
    problems.push(`${folder}: not a folder (choose the folder holding config.json, vocab.txt and model.safetensors)`);
    return report;
  }

  const configFile = join(folder, 'config.json');
  if (!isFile(configFile)) problems.push(`${configFile}: missing (the model's Hugging Face config.json)`);
  else {
    report.files.config = configFile;
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(configFile, 'utf8'));
    } catch (e) {
      problems.push(`${configFile}: not valid JSON (${(e as Error).message})`);
    }
    if (json !== undefined) {
      const r = checkBertConfig(json, configFile);
      problems.push(...r.problems);
      if (r.config) {
        report.config = r.config;
        if (r.config.defaulted.length)
          warnings.push(`${configFile}: ${r.config.defaulted.join(', ')} absent, using BertConfig defaults`);
      }
    }
  }

  const tokConfigFile = join(folder, 'tokenizer_config.json');
  const tokenizerOptions: TokenizerOptions = {};
  if (isFile(tokConfigFile)) {
    report.files.tokenizerConfig = tokConfigFile;
    try {
      const t = JSON.parse(readFileSync(tokConfigFile, 'utf8')) as Record<string, unknown>;
      if (typeof t.do_lower_case === 'boolean') tokenizerOptions.doLowerCase = t.do_lower_case;
      if (typeof t.strip_accents === 'boolean') tokenizerOptions.stripAccents = t.strip_accents;
      if (typeof t.tokenize_chinese_chars === 'boolean')
        tokenizerOptions.tokenizeChineseChars = t.tokenize_chinese_chars;
    } catch (e) {
      problems.push(`${tokConfigFile}: not valid JSON (${(e as Error).message})`);
    }
  }
  report.tokenizerOptions = tokenizerOptions;

  const vocabFile = join(folder, 'vocab.txt');
  if (!isFile(vocabFile)) problems.push(`${vocabFile}: missing (the WordPiece vocabulary, one token per line)`);
  else {
    report.files.vocab = vocabFile;
    const tokens = parseVocab(readFileSync(vocabFile, 'utf8'));
    report.vocabSize = tokens.length;
    const have = new Set(tokens);
    if (tokens.length === 0) problems.push(`${vocabFile}: empty`);
    for (const t of [SPECIAL_TOKENS.cls, SPECIAL_TOKENS.sep, SPECIAL_TOKENS.pad, SPECIAL_TOKENS.unk]) {
      if (tokens.length && !have.has(t)) problems.push(`${vocabFile}: special token ${t} is missing`);
    }
    if (tokens.length && !have.has(SPECIAL_TOKENS.mask))
      warnings.push(`${vocabFile}: no ${SPECIAL_TOKENS.mask} token (not needed to encode text)`);
    if (report.config && tokens.length > report.config.vocabSize) {
      problems.push(
        `${vocabFile}: ${tokens.length} tokens but config.json vocab_size is ${report.config.vocabSize} (ids past the embedding table)`,
      );
    }
  }

  const st1 = join(folder, 'model.safetensors');
  const bin = join(folder, 'pytorch_model.bin');
  let shapes: Map<string, number[]> | undefined;
  if (isFile(st1)) {
    report.files.weights = st1;
    report.weightsFormat = 'safetensors';
    try {
      shapes = readSafetensorsShapes(st1);
    } catch (e) {
      problems.push((e as Error).message);
    }
  } else if (isFile(bin)) {
    report.files.weights = bin;
    report.weightsFormat = 'pytorch';
    try {
      shapes = await listTorchBinTensors(bin);
    } catch (e) {
      problems.push((e as Error).message);
    }
  } else {
    const others = [
      'model.safetensors.index.json',
      'pytorch_model.bin.index.json',
      'tf_model.h5',
      'flax_model.msgpack',
      'model.onnx',
    ].filter((f) => existsSync(join(folder, f)));
    problems.push(
      `${folder}: no weights file (model.safetensors or pytorch_model.bin)` +
        (others.length
          ? `; found ${others.join(', ')}, which is not supported (sharded or non-PyTorch weights): save the model with save_pretrained(safe_serialization=True, max_shard_size="2GB")`
          : ''),
    );
  }
  if (shapes && report.config && report.files.weights)
    problems.push(...checkBertTensors(shapes, report.config, report.files.weights).problems);

  report.ok = problems.length === 0;
  return report;
}

const hashMemo = new Map<string, string>();

/** sha256 of a file, remembered per (path, size, mtime) so reopening the same model is free. */
function fileSha256(file: string): string {
  const st = statSync(file);
  const memoKey = `${file}\0${st.size}\0${st.mtimeMs}`;
  const known = hashMemo.get(memoKey);
  if (known) return known;
  const h = createHash('sha256');
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(1 << 22);
    let pos = 0;
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, pos);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
      pos += n;
    }
  } finally {
    closeSync(fd);
  }
  const hex = h.digest('hex');
  hashMemo.set(memoKey, hex);
  return hex;
}

/**
 * Model identity: the config file, the weights file and the vocabulary (which decides what the
 * token ids mean), hashed; plus the implementation version. Same folder contents -> same id.
 */
export function modelIdentity(files: { config: string; weights: string; vocab?: string }): string {
  const h = createHash('sha256');
  h.update(`cider-bert-v${ENCODER_IMPLEMENTATION_VERSION}\0`);
  h.update(readFileSync(files.config));
  h.update('\0');
  h.update(fileSha256(files.weights));
  if (files.vocab) h.update(`\0${fileSha256(files.vocab)}`);
  return `bert-${h.digest('hex').slice(0, 32)}`;
}

export interface TextEncoderBundle {
  config: BertConfig;
  encoder: BertEncoder;
  tokenizer: WordPieceTokenizer;
  modelId: string;
  report: ModelFolderReport;
}

/** Load a checked folder: config, encoder with its weights as tf.Variables, tokenizer, identity. */
export async function loadTextEncoder(folder: string, options: BertEncoderOptions = {}): Promise<TextEncoderBundle> {
  const report = await inspectModelFolder(folder);
  if (!report.ok) {
    throw new TextModelError(`BERT model folder ${folder} is not usable:\n- ${report.problems.join('\n- ')}`, {
      folder,
      problems: report.problems,
    });
  }
  const config = report.config!;
  const weightsFile = report.files.weights!;
  const tensors = await readBertWeights(weightsFile, config);
  const encoder = new BertEncoder(config, tensors, options);
  const tokenizer = WordPieceTokenizer.fromVocabFile(report.files.vocab!, report.tokenizerOptions);
  const modelId = modelIdentity({ config: report.files.config!, weights: weightsFile, vocab: report.files.vocab });
  return { config, encoder, tokenizer, modelId, report };
}

/** Read a weights file and return the BertModel tensors under normalised names, as float32. */
export async function readBertWeights(file: string, config: BertConfig): Promise<Map<string, HostTensor>> {
  const raw = new Map<string, HostTensor>();
  if (file.endsWith('.bin')) {
    for (const [name, t] of await readTorchBin(file)) raw.set(name, t);
  } else {
    for (const [name, t] of readSafetensors(file).tensors) {
      raw.set(name, {
        shape: t.shape,
        data: t.data instanceof Float32Array ? t.data : Float32Array.from(t.data as ArrayLike<number>),
      });
    }
  }
  const shapes = new Map([...raw].map(([n, t]) => [n, t.shape]));
  const { problems, sourceName } = checkBertTensors(shapes, config, file);
  if (problems.length) throw new TextModelError(problems.join('; '), { file, problems });
  const out = new Map<string, HostTensor>();
  for (const [name, src] of sourceName) out.set(name, raw.get(src)!);
  return out;
}
