/**
 * Frozen mode: BERT's token features are computed once per sample and kept on disk, so CPU
 * training pays only for the CIDer part from the second epoch (and the second run) on.
 *
 * Key = sha256(model identity, L, the sample's (3, L) ids/mask/segment rows). The model identity
 * hashes config + weights + vocabulary + implementation version (see modelIdentity), so a changed
 * model never reads stale features. One file per sample under <dir>/<modelId>/<key[0..2]>/,
 * written to a temporary name and renamed, so a crash never leaves a half-written entry that
 * would be read later. File layout: "CIDF" magic, uint32 L, uint32 H, then L*H float32 (LE).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tf } from '../backends/tf';
import type { BertEncoder } from './bert';
import { TextModelError } from './config';

const MAGIC = 0x46444943; // "CIDF" little-endian

export class FrozenFeatureCache {
  readonly dir: string;
  readonly modelId: string;
  hits = 0;
  misses = 0;

  /** `dir` is the caller's cache folder (created if absent); entries go under dir/modelId. */
  constructor(dir: string, modelId: string) {
    if (!/^[\w.-]+$/.test(modelId))
      throw new TextModelError(`frozen feature cache: model id ${JSON.stringify(modelId)} is not a safe folder name`);
    this.dir = join(dir, modelId);
    this.modelId = modelId;
    mkdirSync(this.dir, { recursive: true });
  }

  /** Key for one sample's (3 * L) int32 row data. */
  keyFor(rows: Int32Array, length: number): string {
    const h = createHash('sha256');
    h.update(`${this.modelId}\0${length}\0`);
    h.update(new Uint8Array(rows.buffer, rows.byteOffset, rows.byteLength));
    return h.digest('hex');
  }

  private pathOf(key: string): string {
    return join(this.dir, key.slice(0, 2), `${key}.f32`);
  }

  /** Features (L * H) for a key, or undefined when absent or unreadable (then recomputed). */
  read(key: string, length: number, hidden: number): Float32Array | undefined {
    let buf: Buffer;
    try {
      buf = readFileSync(this.pathOf(key));
    } catch {
      return undefined;
    }
    if (
      buf.length !== 12 + 4 * length * hidden ||
      buf.readUInt32LE(0) !== MAGIC ||
      buf.readUInt32LE(4) !== length ||
      buf.readUInt32LE(8) !== hidden
    )
      return undefined;
    const out = new Float32Array(length * hidden);
    new Uint8Array(out.buffer).set(buf.subarray(12));
    return out;
  }

  write(key: string, length: number, hidden: number, features: Float32Array): void {
    const file = this.pathOf(key);
    mkdirSync(join(this.dir, key.slice(0, 2)), { recursive: true });
    const head = Buffer.alloc(12);
    head.writeUInt32LE(MAGIC, 0);
    head.writeUInt32LE(length, 4);
    head.writeUInt32LE(hidden, 8);
    const tmp = `${file}.tmp-${process.pid}`;
    writeFileSync(tmp, Buffer.concat([head, Buffer.from(features.buffer, features.byteOffset, features.byteLength)]));
    renameSync(tmp, file);
  }

  /**
   * Token features (B, L, H) for ids (B, 3, L): cached samples are read, the rest go through the
   * encoder in one batch (inference mode, no dropout) and are stored. The caller owns the result.
   */
  async features(encoder: BertEncoder, ids: tf.Tensor): Promise<tf.Tensor3D> {
    if (ids.rank !== 3 || ids.shape[1] !== 3)
      throw new TextModelError(`frozen feature cache: ids must be (B, 3, L), got shape [${ids.shape.join(', ')}]`);
    const [B, , L] = ids.shape as [number, number, number];
    const data = Int32Array.from((await ids.data()) as ArrayLike<number>);
    const out = await this.featuresOf(data, B, L, encoder.config.hiddenSize, async (sub, n) => {
      const input = tf.tensor3d(sub, [n, 3, L], 'int32');
      const feats = encoder.encode(input, { training: false });
      input.dispose();
      const values = (await feats.data()) as Float32Array;
      feats.dispose();
      return values;
    });
    return tf.tensor3d(out, [B, L, encoder.config.hiddenSize], 'float32');
  }

  /**
   * The same on plain arrays with any encoder (TF.js or ONNX Runtime): ids (B, 3, L) int32 ->
   * features (B, L, H); `encode` gets the uncached rows only, (n, 3, L), and returns (n, L, H).
   */
  async featuresOf(
    data: Int32Array,
    B: number,
    L: number,
    H: number,
    encode: (rows: Int32Array, n: number) => Promise<Float32Array>,
  ): Promise<Float32Array> {
    const out = new Float32Array(B * L * H);
    const keys: string[] = [];
    const missing: number[] = [];
    for (let b = 0; b < B; b++) {
      const key = this.keyFor(data.subarray(b * 3 * L, (b + 1) * 3 * L), L);
      keys.push(key);
      const hit = this.read(key, L, H);
      if (hit) {
        out.set(hit, b * L * H);
        this.hits++;
      } else missing.push(b);
    }
    if (missing.length) {
      this.misses += missing.length;
      const sub = new Int32Array(missing.length * 3 * L);
      missing.forEach((b, i) => sub.set(data.subarray(b * 3 * L, (b + 1) * 3 * L), i * 3 * L));
      const values = await encode(sub, missing.length);
      missing.forEach((b, i) => {
        const f = values.slice(i * L * H, (i + 1) * L * H);
        this.write(keys[b], L, H, f);
        out.set(f, b * L * H);
      });
    }
    return out;
  }
}
