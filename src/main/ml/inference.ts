/**
 * Inference engines: one interface (inferenceEngine.ts) over the TensorFlow.js path (train/step.ts
 * forwardInferenceViews, the path inferLogProbs uses) and the onnxruntime-node path
 * (onnx/engine.ts), so sweeps and explanations do not care which one runs. Both compute the two
 * debiasing views (spec 5) in eval mode from plain typed arrays.
 *
 * Choosing: `openInferenceEngine` takes a checkpoint; when an ONNX export of that checkpoint lies
 * next to it (same config, same weights fingerprint) and onnxruntime-node loads it, the ONNX
 * engine runs; otherwise TF.js, with the reason. `engine.name` ('onnx' or 'tfjs-<backend>') is
 * what the CLI/UI show and what an evaluation record stores.
 */
import { existsSync, readFileSync } from 'node:fs';
import { tf, initBackend, type BackendName } from './backends/tf.js';
import type { CiderConfig } from './model/config.js';
import { CiderModel, viewInputs, type Confounders, type ViewInputs } from './model/cider.js';
import type { AttentionState } from './model/attention.js';
import { loadParams, disposeParams } from './model/weights.js';
import { forwardInferenceViews } from './train/step.js';
import {
  checkInferenceBatch,
  inferInChunks,
  type ChunkRequest,
  type EngineName,
  type InferenceBatch,
  type InferenceConfounders,
  type InferenceEngine,
  type InferenceOptions,
  type InferenceOutputs,
} from './inferenceEngine.js';

// the interface and its helpers, for the modules that import them from here
export * from './inferenceEngine.js';

/** The attention summary of InferenceOutputs from the TF.js attention state, (B, 3, 3). */
export function attentionSegmentsOf(state: AttentionState, textMask: tf.Tensor2D): tf.Tensor3D {
  return tf.tidy(() => {
    const [B, L] = textMask.shape;
    const H = state.q[0].shape[0] / B;
    const count = tf.maximum(tf.sum(textMask, 1, true), 1);
    const wq = tf.div(textMask, count); // (B, L)
    const rows = state.q.map((qi, i) =>
      tf.stack(
        state.k.map((kj) => {
          const mass = tf.sum(tf.exp(tf.sub(tf.matMul(qi, kj, false, true), state.lse[i])), -1); // (B*H, L)
          return tf.sum(tf.mul(tf.mean(mass.reshape([B, H, L]), 1), wq), 1); // (B)
        }),
        1,
      ),
    ); // 3 x (B, 3)
    return tf.stack(rows, 1) as tf.Tensor3D;
  });
}

/**
 * The full last-layer attention weights of some rows of the batch from the TF.js attention state:
 * per row and head exp(q_i k_j^T - lse_i) over the nine (query, key) segment blocks, i.e. the LAV
 * branch's softmax over all 3L keys, (R, H, 3L, 3L).
 */
export function attentionWeightsOf(state: AttentionState, rows: readonly number[], heads: number): tf.Tensor4D {
  return tf.tidy(() => {
    const perRow = rows.map((r) => {
      const pick = (t: tf.Tensor3D) => t.slice([r * heads, 0, 0], [heads, t.shape[1], t.shape[2]]);
      const q = state.q.map(pick);
      const k = state.k.map(pick);
      const lse = state.lse.map(pick);
      return tf.concat(
        q.map((qi, i) =>
          tf.concat(
            k.map((kj) => tf.exp(tf.sub(tf.matMul(qi, kj, false, true), lse[i]))),
            2,
          ),
        ),
        1,
      ); // (H, 3L, 3L)
    });
    return tf.stack(perRow) as tf.Tensor4D;
  });
}

/** The TF.js path behind the engine interface. */
export class TfjsEngine implements InferenceEngine {
  readonly name: EngineName;
  readonly detail: string;
  readonly config: CiderConfig;
  readonly explains = true;

  constructor(
    readonly model: CiderModel,
    backend: BackendName,
    reason = '',
    private readonly ownsParams = false,
  ) {
    this.config = model.config;
    this.name = `tfjs-${backend}`;
    this.detail = `TensorFlow.js ${tf.version.tfjs}, ${backend}${reason ? ` (${reason})` : ''}`;
  }

  static async create(model: CiderModel, reason?: string, ownsParams = false): Promise<TfjsEngine> {
    const choice = await initBackend();
    return new TfjsEngine(model, choice.name, reason, ownsParams);
  }

  infer(batch: InferenceBatch, conf: InferenceConfounders, opts: InferenceOptions = {}): Promise<InferenceOutputs> {
    return inferInChunks(this.config, batch, conf, opts, (b, c, r) => this.inferChunk(b, c, r));
  }

  private async inferChunk(
    batch: InferenceBatch,
    conf: InferenceConfounders,
    { attention, attentionRows }: ChunkRequest,
  ): Promise<InferenceOutputs> {
    const c = this.config;
    const B = batch.size;
    const { dictRows, priorRows } = checkInferenceBatch(c, batch, conf);
    const D = c.dl + c.da + c.dv;
    const tensors = tf.tidy(() => {
      const view: ViewInputs = viewInputs(c, B, batch, tf.tensor3d(batch.text, [B, c.textLength, c.dl]));
      const textMask = view.textMask;
      const confs: Confounders = {
        dictionary:
          dictRows === 1
            ? tf.tensor2d(conf.dictionary, [c.classes, D])
            : tf.tensor3d(conf.dictionary, [c.classes, B, D]),
        prior: priorRows === 1 ? tf.tensor1d(conf.prior) : tf.tensor2d(conf.prior, [B, c.classes]),
      };
      const offset = batch.offset ?? 0;
      const r = batch.textCf
        ? forwardInferenceViews(this.model, view, tf.tensor3d(batch.textCf, [B, c.textLength, c.dl]), confs, offset)
        : {
            missingView: this.model.forward(view, confs, {
              batchOffset: offset,
            }),
            counterfactualView: null,
          };
      const out: Record<string, tf.Tensor> = {
        logProbs: r.missingView.logProbs,
        joint: r.missingView.joint,
      };
      if (r.counterfactualView)
        Object.assign(out, {
          logProbsCf: r.counterfactualView.logProbs,
          jointCf: r.counterfactualView.joint,
        });
      if (attention) {
        out.attentionSegments = attentionSegmentsOf(r.missingView.attention, textMask);
        if (!c.aligned)
          Object.assign(out, {
            wsamAudio: r.missingView.wsamAudioWeights!,
            wsamVision: r.missingView.wsamVisionWeights!,
          });
      }
      if (attentionRows.length)
        out.attentionWeights = attentionWeightsOf(r.missingView.attention, attentionRows, c.heads);
      return out;
    });
    const data: Record<string, Float32Array> = {};
    for (const [k, t] of Object.entries(tensors)) data[k] = (await t.data()) as Float32Array;
    tf.dispose(Object.values(tensors));
    return {
      logProbs: data.logProbs,
      logProbsCf: data.logProbsCf,
      joint: data.joint,
      jointCf: data.jointCf,
      attentionSegments: data.attentionSegments ?? new Float32Array(0),
      wsamAudio: data.wsamAudio,
      wsamVision: data.wsamVision,
      attentionWeights: data.attentionWeights,
    };
  }

  async dispose(): Promise<void> {
    if (this.ownsParams) disposeParams(this.model.params);
  }
}

/** Where the ONNX export of a checkpoint lives: next to it, `.onnx` instead of `.safetensors`. */
export function onnxPathFor(checkpoint: string): string {
  return checkpoint.replace(/\.safetensors$/i, '') + '.onnx';
}

export interface OpenEngineOptions {
  /** 'auto' (default): ONNX when an export of this checkpoint exists, else TF.js */
  prefer?: 'auto' | 'onnx' | 'tfjs';
  /** an explicit export file (default onnxPathFor(checkpoint)) */
  onnxPath?: string;
}

export interface OpenedEngine {
  engine: InferenceEngine;
  /** why this engine (shown beside the name) */
  reason: string;
}

/**
 * Open an inference engine for a checkpoint: the ONNX engine when an export of exactly these
 * weights sits next to it and loads, else TF.js. Call `engine.dispose()` when done.
 */
export async function openInferenceEngine(
  config: CiderConfig,
  checkpoint: string,
  opts: OpenEngineOptions = {},
): Promise<OpenedEngine> {
  const prefer = opts.prefer ?? (process.env.CIDER_ENGINE as OpenEngineOptions['prefer']) ?? 'auto';
  const onnxPath = opts.onnxPath ?? onnxPathFor(checkpoint);
  const { params } = loadParams(config, checkpoint);
  let reason: string;
  if (prefer === 'tfjs') reason = 'TF.js requested';
  else if (!existsSync(onnxPath)) reason = `no ONNX export at ${onnxPath}`;
  else {
    try {
      const { OnnxEngine } = await import('./onnx/engine.js');
      const engine = await OnnxEngine.load(readFileSync(onnxPath), {
        expectConfig: config,
        expectWeights: params,
      });
      disposeParams(params);
      return { engine, reason: `ONNX export ${onnxPath}` };
    } catch (e) {
      if (prefer === 'onnx') {
        disposeParams(params);
        throw e;
      }
      reason = `ONNX export not usable: ${(e instanceof Error ? e.message : String(e)).slice(0, 300)}`;
    }
  }
  const engine = await TfjsEngine.create(new CiderModel(config, params), reason, true);
  return { engine, reason };
}

/** Engine for an in-memory model (no checkpoint file): ONNX bytes if given and usable, else TF.js. */
export async function engineForModel(model: CiderModel, onnx?: Uint8Array | null): Promise<OpenedEngine> {
  if (onnx) {
    try {
      const { OnnxEngine } = await import('./onnx/engine.js');
      return {
        engine: await OnnxEngine.load(onnx, {
          expectConfig: model.config,
          expectWeights: model.params,
        }),
        reason: 'ONNX export given',
      };
    } catch (e) {
      const reason = `ONNX export not usable: ${(e instanceof Error ? e.message : String(e)).slice(0, 300)}`;
      return { engine: await TfjsEngine.create(model, reason), reason };
    }
  }
  return {
    engine: await TfjsEngine.create(model, 'no ONNX export'),
    reason: 'no ONNX export',
  };
}
