/**
 * The BERT encoder on ONNX Runtime (our own export, onnx/bertExport.ts) for everything that only
 * reads BERT's features: frozen-feature extraction, missing and counterfactual re-encoding,
 * explanations and counterfactual edits, sweeps. Fine-tuning stays on TF.js (gradients).
 *
 * - The export is cached in a folder by a hash of the config and weights (`bert-<hash>.onnx`),
 *   written to a temporary name and renamed, so a crash never leaves a half-written model.
 * - The session uses every core (intra-op threads = cores; backends/onnx.ts).
 * - Rows are deduplicated: identical (3, L) id rows are encoded once per call, and a bounded
 *   memo keeps recent rows' features, so across the rates of a sweep only the rows whose ids
 *   changed are encoded again (rate 0, the complete view, fills it).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OnnxSession, type OnnxSessionOptions } from '../backends/onnx.js';
import { exportBertOnnx, bertWeightsFingerprint, type BertWeights } from '../onnx/bertExport.js';
import type { BertConfig } from './config.js';

export interface OnnxBertOptions extends OnnxSessionOptions {
  /** folder of cached exports; none: export in memory every time */
  cacheDir?: string | null;
  /** rows per ONNX Runtime call (default 32) */
  batchSize?: number;
  /** bytes of features kept in the row memo (default 512 MB) */
  memoBytes?: number;
  maskValue?: number;
  /** export with ONNX Runtime's fused contrib ops (default true; false: the standard opset-17 graph) */
  ortFused?: boolean;
}

export class OnnxBertEncoder {
  /** rows actually run through ONNX Runtime, and rows answered from the memo or a duplicate */
  encodedRows = 0;
  reusedRows = 0;
  private readonly memo = new Map<string, Float32Array>();
  private memoUsed = 0;

  private constructor(
    readonly config: BertConfig,
    private readonly session: OnnxSession,
    readonly fingerprint: string,
    readonly file: string | null,
    private readonly batchSize: number,
    private readonly memoBytes: number,
  ) {}

  /** e.g. "onnxruntime 1.30.0 cpu, 2 threads" */
  get name(): string {
    const i = this.session.info;
    return `onnxruntime ${i.ortVersion} ${i.provider}${i.provider === 'cpu' ? `, ${i.threads} threads` : ''}`;
  }

  /** The cached export for these weights (made when absent), opened on ONNX Runtime. */
  static async open(config: BertConfig, weights: BertWeights, o: OnnxBertOptions = {}): Promise<OnnxBertEncoder> {
    const fingerprint = bertWeightsFingerprint(config, weights, o.maskValue, o.ortFused);
    const exportOpts = { maskValue: o.maskValue, ortFused: o.ortFused };
    let model: Uint8Array | string;
    let file: string | null = null;
    if (o.cacheDir) {
      mkdirSync(o.cacheDir, { recursive: true });
      file = join(o.cacheDir, `bert-${fingerprint}.onnx`);
      if (!existsSync(file)) {
        const tmp = `${file}.tmp-${process.pid}-${Math.random().toString(16).slice(2)}`;
        writeFileSync(tmp, exportBertOnnx(config, weights, exportOpts).bytes);
        renameSync(tmp, file);
      }
      model = readFileSync(file);
    } else model = exportBertOnnx(config, weights, exportOpts).bytes;
    const session = await OnnxSession.create(model, o);
    return new OnnxBertEncoder(config, session, fingerprint, file, o.batchSize ?? 32, o.memoBytes ?? 512 * 2 ** 20);
  }

  private key(ids3: Int32Array, b: number, L: number): string {
    const row = ids3.subarray(b * 3 * L, (b + 1) * 3 * L);
    return createHash('sha1')
      .update(new Uint8Array(row.buffer, row.byteOffset, row.byteLength))
      .digest('base64');
  }

  /** ids (B, 3, L) int32 (ids / mask / segments) -> last_hidden_state (B, L, H) float32. */
  async encode(ids3: Int32Array, B: number, L: number): Promise<Float32Array> {
    if (ids3.length !== B * 3 * L) throw new Error(`BERT ids: ${ids3.length} values for (${B}, 3, ${L})`);
    if (L > this.config.maxPositionEmbeddings)
      throw new Error(`BERT input length ${L} exceeds max_position_embeddings ${this.config.maxPositionEmbeddings}`);
    const H = this.config.hiddenSize;
    const out = new Float32Array(B * L * H);
    const keys: string[] = [];
    const todo = new Map<string, number[]>();
    for (let b = 0; b < B; b++) {
      const k = this.key(ids3, b, L);
      keys.push(k);
      const hit = this.memo.get(k);
      if (hit) {
        out.set(hit, b * L * H);
        this.reusedRows++;
      } else {
        const rows = todo.get(k);
        if (rows) {
          rows.push(b);
          this.reusedRows++;
        } else todo.set(k, [b]);
      }
    }
    const unique = [...todo.values()];
    for (let s = 0; s < unique.length; s += this.batchSize) {
      const part = unique.slice(s, s + this.batchSize);
      const n = part.length;
      const feeds = {
        input_ids: new BigInt64Array(n * L),
        attention_mask: new BigInt64Array(n * L),
        token_type_ids: new BigInt64Array(n * L),
      };
      part.forEach((rows, i) => {
        const b = rows[0];
        for (let t = 0; t < L; t++) {
          feeds.input_ids[i * L + t] = BigInt(ids3[b * 3 * L + t]);
          feeds.attention_mask[i * L + t] = BigInt(ids3[b * 3 * L + L + t]);
          feeds.token_type_ids[i * L + t] = BigInt(ids3[b * 3 * L + 2 * L + t]);
        }
      });
      const res = await this.session.run(
        Object.fromEntries(
          Object.entries(feeds).map(([name, data]) => [name, { type: 'int64' as const, data, dims: [n, L] }]),
        ),
        ['last_hidden_state'],
      );
      const data = res.last_hidden_state.data;
      this.encodedRows += n;
      part.forEach((rows, i) => {
        const f = data.slice(i * L * H, (i + 1) * L * H);
        for (const b of rows) out.set(f, b * L * H);
        this.remember(keys[rows[0]], f);
      });
    }
    return out;
  }

  private remember(key: string, f: Float32Array): void {
    if (f.byteLength > this.memoBytes) return;
    while (this.memoUsed + f.byteLength > this.memoBytes && this.memo.size) {
      const [oldest, v] = this.memo.entries().next().value as [string, Float32Array];
      this.memo.delete(oldest);
      this.memoUsed -= v.byteLength;
    }
    this.memo.set(key, f);
    this.memoUsed += f.byteLength;
  }

  async dispose(): Promise<void> {
    this.memo.clear();
    this.memoUsed = 0;
    await this.session.release();
  }
}
