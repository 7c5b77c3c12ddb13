/**
 * Messages between a data-parallel training step (pool.ts, on the thread that owns the model and
 * the optimizer) and its replica workers (replica.ts). Plain arrays only: structured clone.
 */
import type { CiderConfig } from '../model/config.js';
import type { BackendName } from '../backends/tf.js';
import type { LossWeights } from '../train/losses.js';
import type { DroppedEntries, StepLosses } from '../train/step.js';

export interface Dense {
  data: Float32Array | Int32Array;
  shape: number[];
}

/** One worker's rows [offset, offset + size) of a batch of `total` rows, both views' inputs. */
export interface ShareData {
  offset: number;
  total: number;
  /** complete-view and missing-view text features (size, L, dl) */
  text: Dense;
  textMissing: Dense;
  textMask: Dense;
  textLengths: number[];
  audio: Dense;
  audioMask: Dense;
  vision: Dense;
  visionMask: Dense;
  labels: Dense;
  textKeep: Dense;
  audioKeep: Dense;
  visionKeep: Dense;
  /** the confounders, already restricted to the share's rows when they are per sample */
  dictionary: Dense;
  prior: Dense;
}

export interface PassOptions {
  microBatchSize?: number;
  lossWeights?: LossWeights;
  /** seed of the share's dropout stream; null = dropout off */
  dropoutSeed: number | null;
}

export type ToReplica =
  | { type: 'init'; backend: BackendName; config: CiderConfig; shapes: [string, number[]][] }
  | { type: 'full'; weights: [string, Float32Array][]; share: ShareData; opts: PassOptions }
  | { type: 'missing'; weights: [string, Float32Array][]; dropped: DroppedEntries; opts: PassOptions }
  | { type: 'release' };

export type FromReplica =
  | { type: 'ready'; backend: string }
  | { type: 'full'; loss: number; grads: [string, Float32Array][]; numTensors: number }
  | { type: 'missing'; losses: Omit<StepLosses, 'taskFull'>; grads: [string, Float32Array][]; numTensors: number }
  | { type: 'released'; numTensors: number }
  | { type: 'error'; message: string; stack?: string };
