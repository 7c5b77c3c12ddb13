/**
 * Loading and saving CIDer weights. Checkpoints are safetensors files whose tensor names are the
 * reference state_dict keys (see params.ts); the parity fixtures store the same names behind a
 * `weight.` prefix, which is stripped. BERT weights (`text_model.*`) are not CIDer parameters:
 * they are returned separately for the text encoder.
 */
import { readSafetensors, writeSafetensors, type NamedTensor, type TensorToWrite } from '../io/safetensors.js';
import { tf } from '../backends/tf.js';
import type { CiderConfig } from './config.js';
import { paramSpecs, type CiderParams } from './params.js';

export class WeightsError extends Error {
  constructor(source: string, problem: string) {
    super(`${source}: ${problem}`);
    this.name = 'WeightsError';
  }
}

export interface LoadOptions {
  /** prefix to strip from every name (the fixtures use 'weight.'); names without it are skipped */
  prefix?: string;
  /** named in error messages */
  source?: string;
}

export interface LoadedWeights {
  params: CiderParams;
  /** tensors that are not CIDer parameters (e.g. text_model.* for BERT), by stripped name */
  extra: Map<string, NamedTensor>;
}

/**
 * Build the parameter Map for `cfg` from named tensors. Every expected parameter must be present
 * with its exact shape: a silently missing tensor would leave a model half-initialised.
 */
export function paramsFromTensors(
  cfg: CiderConfig,
  tensors: Map<string, NamedTensor>,
  opts: LoadOptions = {},
): LoadedWeights {
  const source = opts.source ?? '<tensors>';
  const prefix = opts.prefix ?? '';
  const byName = new Map<string, NamedTensor>();
  for (const [name, t] of tensors) {
    if (prefix && !name.startsWith(prefix)) continue;
    byName.set(name.slice(prefix.length), t);
  }
  const specs = paramSpecs(cfg);
  const missing: string[] = [];
  const wrong: string[] = [];
  for (const s of specs) {
    const t = byName.get(s.name);
    if (!t) missing.push(s.name);
    else if (t.shape.length !== s.shape.length || t.shape.some((v, i) => v !== s.shape[i]))
      wrong.push(`${s.name} is [${t.shape.join(', ')}], expected [${s.shape.join(', ')}]`);
  }
  if (missing.length)
    throw new WeightsError(
      source,
      `missing ${missing.length} CIDer parameter(s) for this config (aligned=${cfg.aligned}, classes=${cfg.classes}): ${missing.slice(0, 8).join(', ')}${missing.length > 8 ? ', ...' : ''}`,
    );
  if (wrong.length) throw new WeightsError(source, `shape mismatch: ${wrong.slice(0, 8).join('; ')}`);
  const params: CiderParams = new Map();
  for (const s of specs) {
    const t = byName.get(s.name)!;
    const data = t.data instanceof Float32Array ? t.data : Float32Array.from(t.data as ArrayLike<number>);
    const initial = tf.tensor(data, s.shape, 'float32');
    params.set(s.name, tf.variable(initial, true));
    initial.dispose();
  }
  const known = new Set(specs.map((s) => s.name));
  const extra = new Map<string, NamedTensor>();
  for (const [name, t] of byName) if (!known.has(name)) extra.set(name, t);
  return { params, extra };
}

export function loadParams(cfg: CiderConfig, file: string, opts: Omit<LoadOptions, 'source'> = {}): LoadedWeights {
  const { tensors } = readSafetensors(file);
  return paramsFromTensors(cfg, tensors, { ...opts, source: file });
}

/** Copy values into existing variables (keeps optimizer state keyed by name valid). */
export function assignParams(params: CiderParams, tensors: Map<string, NamedTensor>, prefix = ''): void {
  for (const [name, v] of params) {
    const t = tensors.get(prefix + name);
    if (!t) throw new WeightsError('<assign>', `no tensor named ${prefix + name}`);
    const data = t.data instanceof Float32Array ? t.data : Float32Array.from(t.data as ArrayLike<number>);
    const val = tf.tensor(data, v.shape, 'float32');
    v.assign(val);
    val.dispose();
  }
}

/** Read the parameters back to plain arrays (name -> shape/data), e.g. for checkpoints. */
export async function paramsToTensors(params: CiderParams): Promise<Record<string, TensorToWrite>> {
  const out: Record<string, TensorToWrite> = {};
  for (const [name, v] of params)
    out[name] = { shape: v.shape.slice(), data: (await v.data()) as Float32Array, dtype: 'F32' };
  return out;
}

/** Save a checkpoint: safetensors with the reference parameter names (atomic write). */
export async function saveParams(params: CiderParams, file: string, metadata?: Record<string, string>): Promise<void> {
  writeSafetensors(file, await paramsToTensors(params), metadata);
}

export function disposeParams(params: CiderParams): void {
  for (const v of params.values()) v.dispose();
}
