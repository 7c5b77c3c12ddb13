/**
 * Loads a CIDer parity fixture (weights, inputs, reference outputs) from the shared folder.
 * The fixtures are never copied into the repo: they are read from ../shared relative to the repo root,
 * or from CIDER_PARITY_FIXTURES (a checkout elsewhere, e.g. a git worktree, whose parent has no shared/).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readSafetensors, type NamedTensor } from '../../../src/main/ml/io/safetensors.js';
import { tf } from '../../../src/main/ml/backends/tf.js';
import { makeConfig, type CiderConfig } from '../../../src/main/ml/model/config.js';
import type { Confounders, ViewInputs } from '../../../src/main/ml/model/cider.js';
import { precomputedText } from '../../../src/main/ml/train/text.js';
import type { MissingViewMasks, TrainBatch } from '../../../src/main/ml/train/step.js';
import { rmfmTrainingMasks } from '../../../src/main/ml/train/masks.js';
import type { Rng } from '../../../src/main/ml/random.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
// CIDER_PARITY_FIXTURES: the folder when the repo is not checked out beside ../shared (a git worktree)
export const fixtureDir = process.env.CIDER_PARITY_FIXTURES
  ? path.resolve(process.env.CIDER_PARITY_FIXTURES)
  : path.resolve(repoRoot, '../shared/fixtures/cider-parity');

export interface Fixture {
  name: string;
  config: CiderConfig;
  tensors: Map<string, NamedTensor>;
  losses: Record<string, number>;
  lossWeights: { joint: number; attn: number; recon: number };
}

export function loadFixture(name: 'aligned-7class' | 'unaligned-3class'): Fixture {
  const json = JSON.parse(readFileSync(path.join(fixtureDir, `${name}.json`), 'utf8')) as {
    config: {
      aligned: boolean;
      classes: number;
      text_len: number;
      audio_len: number;
      vision_len: number;
      dl: number;
      da: number;
      dv: number;
      embed_dim: number;
      layers: number;
      heads: number;
    };
    losses: Record<string, number>;
    loss_weights: { joint: number; attn: number; recon: number };
  };
  const c = json.config;
  const config = makeConfig({
    aligned: c.aligned,
    classes: c.classes,
    textLength: c.text_len,
    audioLength: c.audio_len,
    visionLength: c.vision_len,
    dl: c.dl,
    da: c.da,
    dv: c.dv,
    d: c.embed_dim,
    layers: c.layers,
    heads: c.heads,
    positional: 'reference',
    dropouts: { relu: 0, residual: 0, attention: 0, embedding: 0, output: 0 },
  });
  const { tensors } = readSafetensors(path.join(fixtureDir, `${name}.safetensors`));
  return { name, config, tensors, losses: json.losses, lossWeights: json.loss_weights };
}

export function get(f: Fixture, name: string): NamedTensor {
  const t = f.tensors.get(name);
  if (!t) throw new Error(`${f.name}: no tensor ${name}`);
  return t;
}

export function asTensor(f: Fixture, name: string): tf.Tensor {
  const t = get(f, name);
  return t.dtype === 'I64' || t.dtype === 'I32'
    ? tf.tensor(t.data as Int32Array, t.shape, 'int32')
    : tf.tensor(t.data as Float32Array, t.shape, 'float32');
}

export function lengths(f: Fixture): number[] {
  return Array.from(get(f, 'input.text_lengths').data as Int32Array);
}

/** The complete view ('full'), the missing view ('missing') or the counterfactual view ('cf'). */
export function view(f: Fixture, which: 'full' | 'missing' | 'cf'): ViewInputs {
  const text = which === 'full' ? 'input.text' : which === 'missing' ? 'input.text_m' : 'input.text_cf';
  const sfx = which === 'full' ? '' : '_m';
  return {
    text: asTensor(f, text) as tf.Tensor3D,
    textMask: asTensor(f, 'input.text_mask') as tf.Tensor2D,
    textLengths: lengths(f),
    audio: asTensor(f, `input.audio${sfx}`) as tf.Tensor3D,
    audioMask: asTensor(f, 'input.audio_mask') as tf.Tensor2D,
    vision: asTensor(f, `input.vision${sfx}`) as tf.Tensor3D,
    visionMask: asTensor(f, 'input.vision_mask') as tf.Tensor2D,
  };
}

/** Confounders as given to the reference: per-sample dictionary rows (C, B, D) and prior (B, C). */
export function confounders(f: Fixture): Confounders {
  const C = f.config.classes;
  const D = f.config.dl + f.config.da + f.config.dv;
  const B = get(f, 'input.labels').shape[0];
  const dict = new Float32Array(C * B * D);
  for (let c = 0; c < C; c++) dict.set(get(f, `input.confounder${c}`).data as Float32Array, c * B * D);
  return { dictionary: tf.tensor3d(dict, [C, B, D]), prior: asTensor(f, 'input.cls_probs') as tf.Tensor2D };
}

export interface Diff {
  maxAbs: number;
  maxRel: number;
  /** max |a - b| / (max |b| + tiny): relative to the tensor's scale */
  scaled: number;
  worstIndex: number;
}

export function compare(actual: ArrayLike<number>, expected: ArrayLike<number>): Diff {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} vs ${expected.length}`);
  let maxAbs = 0;
  let maxRel = 0;
  let scale = 0;
  let worstIndex = -1;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]));
  for (let i = 0; i < expected.length; i++) {
    const a = Math.abs(actual[i] - expected[i]);
    if (a > maxAbs) {
      maxAbs = a;
      worstIndex = i;
    }
    maxRel = Math.max(maxRel, a / (Math.abs(expected[i]) + 1e-12));
  }
  return { maxAbs, maxRel, scaled: maxAbs / (scale + 1e-30), worstIndex };
}

/** The fixture batch for the training passes: complete-view and missing-view text features given. */
export function fixtureBatch(f: Fixture): TrainBatch {
  return {
    text: precomputedText(asTensor(f, 'input.text') as tf.Tensor3D, asTensor(f, 'input.text_m') as tf.Tensor3D),
    textMask: asTensor(f, 'input.text_mask') as tf.Tensor2D,
    textLengths: Array.from(get(f, 'input.text_lengths').data as Int32Array),
    audio: asTensor(f, 'input.audio') as tf.Tensor3D,
    audioMask: asTensor(f, 'input.audio_mask') as tf.Tensor2D,
    vision: asTensor(f, 'input.vision') as tf.Tensor3D,
    visionMask: asTensor(f, 'input.vision_mask') as tf.Tensor2D,
    labels: asTensor(f, 'input.labels') as tf.Tensor1D,
  };
}

/** float32 machine epsilon (the spacing of float32 numbers just above 1) */
/** One step's RMFM keep masks for a batch, drawn from `rng` as training draws them (the caller disposes them). */
export function rmfmBatchMasks(rng: Rng, batch: TrainBatch): MissingViewMasks {
  const keep = rmfmTrainingMasks(
    rng,
    batch.labels.shape[0],
    batch.textMask.dataSync(),
    batch.textLengths,
    batch.audioMask.dataSync(),
    batch.visionMask.dataSync(),
  );
  return {
    textKeep: tf.tensor2d(keep.text, batch.textMask.shape),
    audioKeep: tf.tensor2d(keep.audio, batch.audioMask.shape),
    visionKeep: tf.tensor2d(keep.vision, batch.visionMask.shape),
  };
}

export const FLOAT32_EPS = 2 ** -23;

/**
 * How far two float32 computations of the same quantity may differ: `rel` of its value (the
 * agreement two float32 pipelines of this depth reach, engine notes: ~1e-6..1e-5) plus the
 * rounding of the float32 operands it was computed FROM. A result can be much smaller than its
 * operands (1 - cos with cos ~ 1; a KL from two cross-entropies of size log(3L)): the reference's
 * own float32 value is then off by about eps * magnitude per rounding, accumulated like a random
 * walk over the `terms` summed (sqrt(terms)), and a tolerance relative to the result alone (or a
 * fixed absolute floor) fails on fixtures made with another seed. Factor 2: both sides round.
 */
export function float32Tolerance(o: { value: number; magnitude: number; terms: number; rel?: number }): number {
  return (o.rel ?? 1e-5) * Math.abs(o.value) + 2 * Math.sqrt(o.terms) * FLOAT32_EPS * o.magnitude;
}

/**
 * The largest |step| Adam can take per unit of learning rate at step t, whatever the gradients:
 * |m_hat / sqrt(v_hat)| <= sqrt(sum_i a_i^2 / b_i) by Cauchy-Schwarz, with a_i, b_i the bias-
 * corrected weights of gradient i in m and v. About 1 (1.0014 at t = 2 with the default betas).
 * A parameter whose TRUE gradient is zero gets a gradient of pure float noise, and Adam
 * normalises it: m / sqrt(v) is O(1) however tiny the noise, so it moves by up to ~lr per update
 * in a direction the noise picks. Two computations with different rounding (one thread vs two)
 * can then differ by twice that per update: that, not float32 resolution, bounds their difference.
 */
export function adamStepBound(t: number, beta1 = 0.9, beta2 = 0.999): number {
  let s = 0;
  for (let i = 1; i <= t; i++) {
    const a = ((1 - beta1) * beta1 ** (t - i)) / (1 - beta1 ** t);
    const b = ((1 - beta2) * beta2 ** (t - i)) / (1 - beta2 ** t);
    s += (a * a) / b;
  }
  return Math.sqrt(s);
}
