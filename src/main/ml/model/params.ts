/**
 * Parameter names and shapes of the CIDer part of the model (everything but BERT), named exactly
 * as the reference implementation's state_dict so checkpoints interoperate with it, and a
 * seeded PyTorch-style initialisation for training from scratch.
 */
import { tf } from '../backends/tf.js';
import { Rng } from '../random.js';
import type { CiderConfig } from './config.js';

export interface ParamSpec {
  name: string;
  shape: number[];
  /** how PyTorch initialises it; reproduced (not bit-exact) for fresh models */
  init: 'uniformFanIn' | 'uniformHidden' | 'xavier' | 'zeros' | 'ones';
  /** fan-in used by 'uniformFanIn' (PyTorch Linear/Conv1d: U(-1/sqrt(fanIn), 1/sqrt(fanIn))) */
  fanIn?: number;
}

export type CiderParams = Map<string, tf.Variable>;

function linear(out: ParamSpec[], name: string, inF: number, outF: number, bias = true): void {
  out.push({ name: `${name}.weight`, shape: [outF, inF], init: 'uniformFanIn', fanIn: inF });
  if (bias) out.push({ name: `${name}.bias`, shape: [outF], init: 'uniformFanIn', fanIn: inF });
}

/** The CIDer parameter list for a config, in a stable order. */
export function paramSpecs(cfg: CiderConfig): ParamSpec[] {
  const { d, dl, da, dv, classes: C, textLength: L } = cfg;
  const out: ParamSpec[] = [];
  // Projections are kernel-1 Conv1d in the reference: weight (d, dm, 1), no bias.
  out.push({ name: 'proj_l.weight', shape: [d, dl, 1], init: 'uniformFanIn', fanIn: dl });
  out.push({ name: 'proj_a.weight', shape: [d, da, 1], init: 'uniformFanIn', fanIn: da });
  out.push({ name: 'proj_v.weight', shape: [d, dv, 1], init: 'uniformFanIn', fanIn: dv });
  // The reference creates the WSAM modules even for aligned data (where they are unused), so
  // they are part of its state_dict and of ours: checkpoints stay interchangeable.
  {
    for (const m of ['a_compress', 'v_compress']) {
      out.push({ name: `${m}.in_proj_weight`, shape: [3 * d, d], init: 'xavier' });
      out.push({ name: `${m}.in_proj_bias`, shape: [3 * d], init: 'zeros' });
      linear(out, `${m}.out_proj`, d, d);
    }
  }
  for (const m of ['t', 'a', 'v']) {
    out.push({ name: `${m}.weight_ih_l0`, shape: [3 * d, d], init: 'uniformHidden' });
    out.push({ name: `${m}.weight_hh_l0`, shape: [3 * d, d], init: 'uniformHidden' });
    out.push({ name: `${m}.bias_ih_l0`, shape: [3 * d], init: 'uniformHidden' });
    out.push({ name: `${m}.bias_hh_l0`, shape: [3 * d], init: 'uniformHidden' });
  }
  for (let i = 0; i < cfg.layers; i++) {
    const p = `multimodal_transformer.layers.${i}`;
    out.push({ name: `${p}.self_attn.in_proj_weight`, shape: [3 * d, d], init: 'xavier' });
    out.push({ name: `${p}.self_attn.in_proj_bias`, shape: [3 * d], init: 'zeros' });
    for (let k = 0; k < 7; k++) linear(out, `${p}.self_attn.out_proj.${k}`, d, d);
    for (const s of ['s_l', 's_a', 's_v']) linear(out, `${p}.self_attn.${s}`, 4 * d, d);
    linear(out, `${p}.self_attn.final_out_proj`, d, d);
    linear(out, `${p}.fc1`, d, 4 * d);
    linear(out, `${p}.fc2`, 4 * d, d);
    for (const n of [0, 1]) {
      out.push({ name: `${p}.layer_norms.${n}.weight`, shape: [d], init: 'ones' });
      out.push({ name: `${p}.layer_norms.${n}.bias`, shape: [d], init: 'zeros' });
    }
  }
  out.push({ name: 'multimodal_transformer.layer_norm.weight', shape: [d], init: 'ones' });
  out.push({ name: 'multimodal_transformer.layer_norm.bias', shape: [d], init: 'zeros' });
  for (const m of ['l', 'a', 'v']) {
    linear(out, `attn_${m}.attention.0`, d, d);
    linear(out, `attn_${m}.attention.2`, d, 1);
  }
  linear(out, 'recon_text', d, dl);
  linear(out, 'recon_audio.0', L, cfg.audioLength);
  linear(out, 'recon_audio.1', d, da);
  linear(out, 'recon_vision.0', L, cfg.visionLength);
  linear(out, 'recon_vision.1', d, dv);
  linear(out, 'proj1', 3 * d, 3 * d);
  linear(out, 'proj2', 3 * d, 3 * d);
  // The cross-dataset encoders interleave parameter-free LayerNorms, which shifts the
  // nn.Sequential indices of the later Linears (0, 3, 6 instead of 0, 2, 4).
  const idx = (m: string): number[] => (cfg.crossDataset && m !== 'l' ? [0, 3, 6] : [0, 2, 4]);
  for (const [m, dm] of [
    ['l', dl],
    ['a', da],
    ['v', dv],
  ] as const) {
    const [i0, i1, i2] = idx(m);
    linear(out, `cls_encoders_${m}.${i0}`, dm, d);
    linear(out, `cls_encoders_${m}.${i1}`, d, d);
    linear(out, `cls_encoders_${m}.${i2}`, d, d);
  }
  for (let c = 0; c < C; c++) linear(out, `classifiers.${c}`, 6 * d, C);
  return out;
}

/** Indices of the confounder-encoder Linears (they move in the cross-dataset variant). */
export function confounderEncoderIndices(cfg: CiderConfig, modality: 'l' | 'a' | 'v'): [number, number, number] {
  return cfg.crossDataset && modality !== 'l' ? [0, 3, 6] : [0, 2, 4];
}

/** Fresh, seeded parameters (PyTorch default initialisers, drawn from our own RNG). */
export function initParams(cfg: CiderConfig, seed = 1111): CiderParams {
  const rng = new Rng(seed).child('cider-init');
  const params: CiderParams = new Map();
  for (const spec of paramSpecs(cfg)) {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    let bound = 0;
    if (spec.init === 'uniformFanIn') bound = 1 / Math.sqrt(spec.fanIn ?? 1);
    else if (spec.init === 'uniformHidden') bound = 1 / Math.sqrt(cfg.d);
    else if (spec.init === 'xavier') bound = Math.sqrt(6 / (spec.shape[0] + spec.shape[1]));
    if (spec.init === 'ones') data.fill(1);
    else if (bound > 0) for (let i = 0; i < n; i++) data[i] = (rng.next() * 2 - 1) * bound;
    // tfjs registers variable names globally and refuses duplicates, so variables keep their
    // automatic names and the reference names live in the Map keys.
    const initial = tf.tensor(data, spec.shape, 'float32');
    params.set(spec.name, tf.variable(initial, true));
    initial.dispose();
  }
  return params;
}

export function countParams(params: CiderParams): number {
  let n = 0;
  for (const v of params.values()) n += v.size;
  return n;
}
