/**
 * The one place that loads onnxruntime-node. A thin wrapper: create a session with the best
 * execution provider (CUDA when its provider library was installed and a session starts on it,
 * else CPU with every core: intraOpNumThreads = os.availableParallelism()), run it on plain typed
 * arrays, release it. The CIDer-specific feeding lives in src/main/ml/onnx/engine.ts.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { runtimeAssets } from '../../runtime/assets';

export type OnnxProvider = 'cuda' | 'cpu';

export interface OnnxSessionOptions {
  /** providers to try in order (default: cuda if installed, then cpu); env CIDER_ONNX_PROVIDER=cpu forces CPU */
  providers?: OnnxProvider[];
  /** intra-op threads on CPU (default os.availableParallelism(), env CIDER_ONNX_THREADS) */
  threads?: number;
  /** graph optimisation level (default 'all'); diagnostics compare levels */
  optimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  /** write the optimised graph here (diagnostics: which fusions ONNX Runtime applied) */
  optimizedModelFile?: string;
}

export interface OnnxFeed {
  type: 'float32' | 'int64';
  data: Float32Array | BigInt64Array;
  dims: number[];
}

export interface OnnxResult {
  data: Float32Array;
  dims: number[];
}

export interface OnnxSessionInfo {
  provider: OnnxProvider;
  threads: number;
  ortVersion: string;
  inputNames: string[];
  outputNames: string[];
  /** why this provider: what was tried before */
  tried: { provider: OnnxProvider; error: string }[];
}

/** True when onnxruntime-node was installed with its CUDA provider library (the .npmrc skips it by default). */
export function cudaProviderInstalled(): boolean {
  try {
    const listed = ort.listSupportedBackends().some((b) => b.name === 'cuda');
    if (!listed) return false;
    const dir = runtimeAssets().onnxruntimeDir();
    return ['libonnxruntime_providers_cuda.so', 'onnxruntime_providers_cuda.dll'].some((f) => existsSync(join(dir, f)));
  } catch {
    return false;
  }
}

function defaultThreads(): number {
  const env = Number(process.env.CIDER_ONNX_THREADS);
  return Number.isInteger(env) && env > 0 ? env : availableParallelism();
}

export class OnnxSession {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly info: OnnxSessionInfo,
  ) {}

  /** Load a model (bytes or a file path) on the best provider that starts. */
  static async create(model: Uint8Array | string, opts: OnnxSessionOptions = {}): Promise<OnnxSession> {
    const forced = process.env.CIDER_ONNX_PROVIDER as OnnxProvider | undefined;
    const order: OnnxProvider[] =
      opts.providers ?? (forced ? [forced] : cudaProviderInstalled() ? ['cuda', 'cpu'] : ['cpu']);
    const threads = opts.threads ?? defaultThreads();
    const tried: OnnxSessionInfo['tried'] = [];
    for (const provider of order) {
      const options: ort.InferenceSession.SessionOptions = {
        executionProviders: [provider],
        graphOptimizationLevel: opts.optimizationLevel ?? 'all',
        ...(opts.optimizedModelFile ? { optimizedModelFilePath: opts.optimizedModelFile } : {}),
        executionMode: 'sequential',
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
      };
      try {
        const session =
          typeof model === 'string'
            ? await ort.InferenceSession.create(model, options)
            : await ort.InferenceSession.create(model, options);
        return new OnnxSession(session, {
          provider,
          threads: provider === 'cpu' ? threads : 0,
          ortVersion: ort.env.versions.node ?? ort.env.versions.common,
          inputNames: [...session.inputNames],
          outputNames: [...session.outputNames],
          tried,
        });
      } catch (e) {
        tried.push({
          provider,
          error: (e instanceof Error ? e.message : String(e)).split('\n')[0].slice(0, 300),
        });
      }
    }
    throw new Error(
      `onnxruntime-node could not load the model: ${tried.map((t) => `${t.provider}: ${t.error}`).join('; ')}`,
    );
  }

  /** Run with the given feeds; returns the requested outputs (default: all) as float32. */
  async run(
    feeds: Record<string, OnnxFeed>,
    fetches: string[] = this.info.outputNames,
  ): Promise<Record<string, OnnxResult>> {
    const inputs: Record<string, ort.Tensor> = {};
    for (const [name, f] of Object.entries(feeds)) inputs[name] = new ort.Tensor(f.type, f.data, f.dims);
    const out = await this.session.run(inputs, fetches);
    const result: Record<string, OnnxResult> = {};
    for (const name of fetches) {
      const t = out[name];
      if (t.type !== 'float32') throw new Error(`ONNX output ${name} is ${t.type}, expected float32`);
      result[name] = { data: t.data as Float32Array, dims: [...t.dims] };
      t.dispose?.();
    }
    return result;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

export const onnxRuntimeVersion = (): string => ort.env.versions.node ?? ort.env.versions.common;
