/**
 * Run checkpoints: one safetensors file holding the CIDer parameters under the reference
 * state_dict names (so the weights load anywhere CIDer weights load), the fine-tuned BERT under
 * 'text_model.*' (Hugging Face names), the confounder dictionary and prior ('confounders.*'), and,
 * in the resume checkpoint, Adam's moments ('optimizer.m.*', 'optimizer.v.*'). The metadata
 * 'cider_run' holds the JSON state: configs, epoch, early-stopping counters, Adam step counts.
 *
 * The random state needs no saving: every epoch draws its shuffle, masks and dropout from streams
 * derived from (seed, epoch), so resuming after epoch k replays epoch k + 1 exactly as an
 * uninterrupted run would.
 */
import { readSafetensors, writeSafetensors, type NamedTensor, type TensorToWrite } from '../io/safetensors';
import type { CiderConfig } from '../model/config';
import type { CiderParams } from '../model/params';
import { paramsToTensors } from '../model/weights';
import type { Adam } from '../train/adam';
import type { TrainingOptions } from '../../../shared/contract/training';
import type { HostTensor } from '../text/weights';
import type { ConfounderArrays } from './confounders';
import { BERT_PREFIX } from './text';

export const CHECKPOINT_FORMAT = 'cider-studio-run-v1';

export interface RunState {
  /** epochs completed */
  epoch: number;
  bestEpoch: number | null;
  bestMetric: number | null;
  /** validation loss at the best epoch (the selection tie-break); absent in checkpoints written before it was kept */
  bestLoss?: number | null;
  /** epochs since the last improvement (early stopping) */
  badEpochs: number;
  stopped: 'early-stopping' | 'max-epochs' | null;
  options: TrainingOptions;
  ciderConfig: CiderConfig;
  confounderSource: string;
  confounderCounts: number[];
  adamSteps: Record<string, number>;
}

export interface CheckpointParts {
  params: CiderParams;
  text: Record<string, TensorToWrite>;
  confounders: ConfounderArrays;
  optimizer?: Adam;
  state: RunState;
}

export async function saveCheckpoint(file: string, parts: CheckpointParts): Promise<void> {
  const tensors: Record<string, TensorToWrite> = { ...(await paramsToTensors(parts.params)), ...parts.text };
  const C = parts.state.ciderConfig.classes;
  tensors['confounders.dictionary'] = {
    shape: [C, parts.confounders.dictionary.length / C],
    data: parts.confounders.dictionary,
    dtype: 'F32',
  };
  tensors['confounders.prior'] = { shape: [C], data: parts.confounders.prior, dtype: 'F32' };
  const adamSteps: Record<string, number> = {};
  if (parts.optimizer) {
    for (const [name, s] of await parts.optimizer.exportState()) {
      tensors[`optimizer.m.${name}`] = { shape: [s.m.length], data: s.m, dtype: 'F32' };
      tensors[`optimizer.v.${name}`] = { shape: [s.v.length], data: s.v, dtype: 'F32' };
      adamSteps[name] = s.step;
    }
  }
  const state: RunState = { ...parts.state, adamSteps };
  writeSafetensors(file, tensors, { format: CHECKPOINT_FORMAT, cider_run: JSON.stringify(state) });
}

export interface LoadedCheckpoint {
  state: RunState;
  tensors: Map<string, NamedTensor>;
  confounders: ConfounderArrays;
  /** fine-tuned BERT weights (HF names without the prefix), if any */
  bert: Map<string, HostTensor> | null;
  /** Adam state by parameter name, if saved */
  optimizer: Map<string, { m: Float32Array; v: Float32Array; step: number }>;
}

const f32 = (t: NamedTensor): Float32Array =>
  t.data instanceof Float32Array ? t.data : Float32Array.from(t.data as ArrayLike<number>);

export function loadCheckpoint(file: string): LoadedCheckpoint {
  const { tensors, metadata } = readSafetensors(file);
  if (metadata.format !== CHECKPOINT_FORMAT || !metadata.cider_run)
    throw new Error(`${file} is not a CIDer Studio run checkpoint (format ${metadata.format ?? 'absent'})`);
  const state = JSON.parse(metadata.cider_run) as RunState;
  const dict = tensors.get('confounders.dictionary');
  const prior = tensors.get('confounders.prior');
  if (!dict || !prior) throw new Error(`${file}: the confounder dictionary is missing`);
  let bert: Map<string, HostTensor> | null = null;
  const optimizer = new Map<string, { m: Float32Array; v: Float32Array; step: number }>();
  for (const [name, t] of tensors) {
    if (name.startsWith(BERT_PREFIX))
      (bert ??= new Map()).set(name.slice(BERT_PREFIX.length), { shape: t.shape, data: f32(t) });
    else if (name.startsWith('optimizer.m.')) {
      const p = name.slice('optimizer.m.'.length);
      const v = tensors.get(`optimizer.v.${p}`);
      if (!v) throw new Error(`${file}: optimizer state of ${p} is incomplete`);
      optimizer.set(p, { m: f32(t), v: f32(v), step: state.adamSteps[p] ?? 0 });
    }
  }
  return {
    state,
    tensors,
    confounders: {
      dictionary: f32(dict),
      prior: f32(prior),
      counts: state.confounderCounts,
      source: state.confounderSource,
    },
    bert,
    optimizer,
  };
}
