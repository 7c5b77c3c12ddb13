/**
 * The inference engine for a run's checkpoint, with the evaluation-time confounders (averaged
 * dictionary, uniform prior; spec 2.9): ONNX Runtime when the checkpoint has a usable export
 * beside it, else TF.js (ml/inference.ts). Evaluation, robustness sweeps and OOD comparisons all
 * predict through this, so they run on the same engine and record its name.
 */
import {
  evaluationConfounders,
  openInferenceEngine,
  type InferenceConfounders,
  type InferenceEngine,
} from '../inference';
import type { LoadedCheckpoint } from './checkpoint';

export interface RunEngine {
  engine: InferenceEngine;
  conf: InferenceConfounders;
  /** 'onnx' or 'tfjs-<backend>' */
  name: string;
  /** details and why this engine */
  detail: string;
}

export async function openRunEngine(
  checkpointFile: string,
  ckpt: LoadedCheckpoint,
  prefer?: 'auto' | 'onnx' | 'tfjs',
): Promise<RunEngine> {
  const cfg = ckpt.state.ciderConfig;
  const opened = await openInferenceEngine(cfg, checkpointFile, { prefer });
  return {
    engine: opened.engine,
    conf: evaluationConfounders(Float32Array.from(ckpt.confounders.dictionary), cfg.classes),
    name: opened.engine.name,
    detail: `${opened.engine.detail}; ${opened.reason}`,
  };
}
