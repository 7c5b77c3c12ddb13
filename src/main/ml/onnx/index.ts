/**
 * ONNX export of CIDer models and the onnxruntime-node engine. Import from here.
 *
 * - exportCiderOnnx(config, weights, opts): the ModelProto bytes (export.ts)
 * - exportCheckpointToOnnx(config, checkpoint): writes `<checkpoint>.onnx` beside a
 *   `.safetensors` checkpoint and checks it in onnxruntime-node; openInferenceEngine
 *   (../inference.ts) then picks it up automatically.
 * - OnnxEngine.load(bytes): the InferenceEngine on onnxruntime-node (engine.ts)
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { CiderConfig } from '../model/config.js';
import { readSafetensors } from '../io/safetensors.js';
import { onnxPathFor } from '../inference.js';
import { exportCiderOnnx, type CiderExportMetadata, type ExportOptions } from './export.js';
import { OnnxEngine } from './engine.js';

export * from './export.js';
export { OnnxEngine, readExportMetadata, configDifferences, type OnnxLoadOptions } from './engine.js';

export interface CheckpointExport {
  path: string;
  bytes: number;
  metadata: CiderExportMetadata;
  /** the engine detail of the check run (provider, threads) */
  checkedWith: string;
}

/**
 * Export a checkpoint (safetensors, reference parameter names) to ONNX beside it, then load the
 * file in onnxruntime-node and run a tiny batch (OnnxEngine.load). A file that fails the check is
 * not left behind.
 */
export async function exportCheckpointToOnnx(
  config: CiderConfig,
  checkpoint: string,
  opts: ExportOptions & { onnxPath?: string } = {},
): Promise<CheckpointExport> {
  const { tensors } = readSafetensors(checkpoint);
  const exp = exportCiderOnnx(config, tensors, opts);
  const path = opts.onnxPath ?? onnxPathFor(checkpoint);
  const engine = await OnnxEngine.load(exp.bytes, {
    expectConfig: config,
    expectWeights: opts.prefix ? undefined : tensors,
  });
  const checkedWith = engine.detail;
  await engine.dispose();
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, exp.bytes);
  renameSync(tmp, path);
  return { path, bytes: exp.bytes.length, metadata: exp.metadata, checkedWith };
}

/** Load an export file as an engine (checks included). */
export async function loadOnnxEngine(
  path: string,
  opts: import('./engine.js').OnnxLoadOptions = {},
): Promise<OnnxEngine> {
  return OnnxEngine.load(readFileSync(path), opts);
}
