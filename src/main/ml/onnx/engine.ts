/**
 * The ONNX inference engine: a CIDer export (export.ts) run on onnxruntime-node through
 * backends/onnx.ts, behind the InferenceEngine interface of ../inferenceEngine.ts.
 *
 * Loading checks the file: its metadata (config, weights fingerprint) against what the caller
 * expects, the session's input/output names against the export's, and one tiny batch (B = 2)
 * whose outputs must have the right shapes, be finite, and be normalised log-probabilities.
 */
import { OnnxSession, type OnnxFeed, type OnnxResult, type OnnxSessionOptions } from '../backends/onnx.js';
import { SIZE_KEYS, type CiderConfig } from '../model/config.js';
import {
  checkInferenceBatch,
  inferInChunks,
  type EngineName,
  type InferenceBatch,
  type InferenceConfounders,
  type ChunkRequest,
  type InferenceEngine,
  type InferenceOptions,
  type InferenceOutputs,
} from '../inferenceEngine.js';
import { decodeMessage } from './proto.js';
import { weightsFingerprint, type CiderExportMetadata, type WeightSource } from './export.js';

/** Read the exporter's metadata back from an .onnx file's bytes. */
export function readExportMetadata(bytes: Uint8Array): CiderExportMetadata {
  const model = decodeMessage('ModelProto', bytes);
  const props = (model.metadata_props as { key?: string; value?: string }[]) ?? [];
  const entry = props.find((p) => p.key === 'cider.export');
  if (!entry?.value) throw new Error('not a CIDer Studio ONNX export (no cider.export metadata)');
  return JSON.parse(entry.value) as CiderExportMetadata;
}

const MATH_KEYS: (keyof CiderConfig)[] = ['aligned', ...SIZE_KEYS, 'positional', 'crossDataset'];

/** Differences between two configs in the fields that change the eval-mode maths. */
export function configDifferences(a: CiderConfig, b: CiderConfig): string[] {
  return MATH_KEYS.filter((k) => a[k] !== b[k]).map((k) => `${k}: export ${String(a[k])}, model ${String(b[k])}`);
}

export interface OnnxLoadOptions extends OnnxSessionOptions {
  /** refuse the file unless it was exported for this config */
  expectConfig?: CiderConfig;
  /** refuse the file unless it was exported from exactly these weights (fingerprint) */
  expectWeights?: WeightSource;
  /** skip the tiny-batch run (default: run it) */
  skipSmokeTest?: boolean;
}

export class OnnxEngine implements InferenceEngine {
  readonly name: EngineName = 'onnx';
  readonly detail: string;

  private constructor(
    private readonly session: OnnxSession,
    readonly metadata: CiderExportMetadata,
  ) {
    const i = session.info;
    this.detail = `onnxruntime-node ${i.ortVersion}, ${i.provider}${i.provider === 'cpu' ? `, ${i.threads} threads` : ''}${i.tried.length ? ` (${i.tried.map((t) => `${t.provider} failed: ${t.error}`).join('; ')})` : ''}`;
  }

  get config(): CiderConfig {
    return this.metadata.config;
  }

  /** Exports before exporter version 2 have no attention_rows input: they predict but cannot explain. */
  get explains(): boolean {
    return this.metadata.inputs.includes('attention_rows') && this.metadata.outputs.includes('attention_weights');
  }

  get provider(): string {
    return this.session.info.provider;
  }

  /** Load an export (bytes of the .onnx file) and check it. */
  static async load(bytes: Uint8Array, opts: OnnxLoadOptions = {}): Promise<OnnxEngine> {
    const meta = readExportMetadata(bytes);
    if (opts.expectConfig) {
      const diff = configDifferences(meta.config, opts.expectConfig);
      if (diff.length) throw new Error(`ONNX export is for another config (${diff.join('; ')})`);
    }
    if (opts.expectWeights) {
      const fp = weightsFingerprint(meta.config, opts.expectWeights);
      if (fp !== meta.weightsSha256)
        throw new Error('ONNX export was made from other weights (fingerprint differs): re-export the checkpoint');
    }
    const session = await OnnxSession.create(bytes, opts);
    const engine = new OnnxEngine(session, meta);
    try {
      const same = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
      if (!same(session.info.inputNames, meta.inputs))
        throw new Error(
          `ONNX session inputs [${session.info.inputNames.join(', ')}] differ from the export's [${meta.inputs.join(', ')}]`,
        );
      if (!same(session.info.outputNames, meta.outputs))
        throw new Error(
          `ONNX session outputs [${session.info.outputNames.join(', ')}] differ from the export's [${meta.outputs.join(', ')}]`,
        );
      if (!opts.skipSmokeTest) await engine.smokeTest();
    } catch (e) {
      await session.release();
      throw e;
    }
    return engine;
  }

  /** Run a B = 2 batch of small deterministic values; throws if an output is malformed. */
  async smokeTest(): Promise<void> {
    const c = this.config;
    const B = 2;
    const wave = (n: number, k: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + k) * 0.5);
    const ones = (n: number) => new Float32Array(n).fill(1);
    const lengths = [c.textLength, Math.max(2, c.textLength - 1)];
    const textMask = new Float32Array(B * c.textLength);
    lengths.forEach((len, b) => textMask.fill(1, b * c.textLength, b * c.textLength + len));
    const C = c.classes;
    const D = c.dl + c.da + c.dv;
    const out = await this.infer(
      {
        size: B,
        text: wave(B * c.textLength * c.dl, 1),
        textCf: wave(B * c.textLength * c.dl, 2),
        textMask,
        textLengths: lengths,
        audio: wave(B * c.audioLength * c.da, 3),
        audioMask: ones(B * c.audioLength),
        vision: wave(B * c.visionLength * c.dv, 4),
        visionMask: ones(B * c.visionLength),
      },
      { dictionary: wave(C * D, 5), prior: new Float32Array(C).fill(1 / C) },
      { attentionRows: this.explains ? [1] : [] },
    );
    const check = (name: string, a: Float32Array | undefined, n: number) => {
      if (!a || a.length !== n) throw new Error(`ONNX smoke test: ${name} has ${a?.length ?? 0} values, expected ${n}`);
      if (!a.every(Number.isFinite)) throw new Error(`ONNX smoke test: ${name} is not finite`);
    };
    check('log_probs', out.logProbs, B * C);
    check('log_probs_cf', out.logProbsCf, B * C);
    check('joint', out.joint, B * 3 * c.d);
    check('joint_cf', out.jointCf, B * 3 * c.d);
    check('attention_segments', out.attentionSegments, B * 9);
    if (this.explains) check('attention_weights', out.attentionWeights, c.heads * 9 * c.textLength * c.textLength);
    if (!c.aligned) {
      check('wsam_audio_weights', out.wsamAudio, B * c.textLength * c.audioLength);
      check('wsam_vision_weights', out.wsamVision, B * c.textLength * c.visionLength);
    }
    for (const lp of [out.logProbs, out.logProbsCf!]) {
      for (let b = 0; b < B; b++) {
        let s = 0;
        for (let k = 0; k < C; k++) s += Math.exp(lp[b * C + k]);
        if (Math.abs(s - 1) > 1e-4) throw new Error(`ONNX smoke test: probabilities of row ${b} sum to ${s}`);
      }
    }
  }

  infer(batch: InferenceBatch, conf: InferenceConfounders, opts: InferenceOptions = {}): Promise<InferenceOutputs> {
    if (opts.attentionRows?.length && !this.explains)
      throw new Error(
        `this ONNX export (exporter version ${this.metadata.exporterVersion}) has no attention_weights output: re-export the checkpoint to explain with ONNX Runtime`,
      );
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
    const offset = batch.offset ?? 0;
    const f = (data: Float32Array, dims: number[]): OnnxFeed => ({
      type: 'float32',
      data,
      dims,
    });
    const feeds: Record<string, OnnxFeed> = {
      text: f(batch.text, [B, c.textLength, c.dl]),
      text_cf: batch.textCf
        ? f(batch.textCf, [B, c.textLength, c.dl])
        : f(new Float32Array(0), [0, c.textLength, c.dl]),
      text_mask: f(batch.textMask, [B, c.textLength]),
      text_lengths: {
        type: 'int64',
        data: BigInt64Array.from(Array.from(batch.textLengths, (v) => BigInt(v))),
        dims: [B],
      },
      audio: f(batch.audio, [B, c.audioLength, c.da]),
      audio_mask: f(batch.audioMask, [B, c.audioLength]),
      vision: f(batch.vision, [B, c.visionLength, c.dv]),
      vision_mask: f(batch.visionMask, [B, c.visionLength]),
      confounder_dictionary: f(conf.dictionary, [c.classes, dictRows, c.dl + c.da + c.dv]),
      class_prior: f(conf.prior, [priorRows, c.classes]),
    };
    if (this.explains)
      feeds.attention_rows = {
        type: 'int64',
        data: BigInt64Array.from(attentionRows, (r) => BigInt(r)),
        dims: [attentionRows.length],
      };
    if (c.positional === 'reference') {
      if (offset + B > this.metadata.referenceRows) {
        throw new Error(
          `the 'reference' positional table of this export has ${this.metadata.referenceRows} rows; rows ${offset}..${offset + B - 1} were asked (re-export with a larger referenceRows)`,
        );
      }
      feeds.batch_offset = {
        type: 'int64',
        data: BigInt64Array.of(BigInt(offset)),
        dims: [],
      };
    }
    const fetches = ['log_probs', 'joint', ...(batch.textCf ? ['log_probs_cf', 'joint_cf'] : [])];
    if (attention)
      fetches.push('attention_segments', ...(c.aligned ? [] : ['wsam_audio_weights', 'wsam_vision_weights']));
    if (attentionRows.length) fetches.push('attention_weights');
    const r: Record<string, OnnxResult> = await this.session.run(feeds, fetches);
    return {
      logProbs: r.log_probs.data,
      logProbsCf: r.log_probs_cf?.data,
      joint: r.joint.data,
      jointCf: r.joint_cf?.data,
      attentionSegments: attention ? r.attention_segments.data : new Float32Array(0),
      ...(attention && !c.aligned
        ? {
            wsamAudio: r.wsam_audio_weights.data,
            wsamVision: r.wsam_vision_weights.data,
          }
        : {}),
      ...(attentionRows.length ? { attentionWeights: r.attention_weights.data } : {}),
    };
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
