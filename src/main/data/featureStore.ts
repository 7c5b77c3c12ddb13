/**
 * The on-disk feature store: one folder per dataset.
 *
 *   manifest.json                 shapes, dtypes, byte sizes, stats, label counts, provenance
 *   <split>/samples.json          ids, raw text (and annotations) per sample
 *   <split>/<array>.bin           little-endian row-major binary, one file per array:
 *       audio.bin (N,Ta,da) f32, vision.bin (N,Tv,dv) f32, text.bin (N,L,dl) f32 (optional),
 *       textBert.bin (N,3,L) i32, audioLengths.bin / visionLengths.bin (N) i32,
 *       regression.bin (N) f32, labels3.bin / labels7.bin (N) u8
 *
 * Readers fetch any row range with positioned reads, so a split never has to be in memory. A store
 * is built in a hidden temp folder beside its final place and renamed into place at the end, so a
 * cancelled or failed import leaves nothing half-written.
 */
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';

export const SPLITS = ['train', 'valid', 'test'] as const;
export type SplitName = (typeof SPLITS)[number];
export type StoreDType = 'float32' | 'int32' | 'uint8';
export const ARRAY_NAMES = [
  'audio',
  'vision',
  'text',
  'textBert',
  'audioLengths',
  'visionLengths',
  'regression',
  'labels3',
  'labels7',
] as const;
export type ArrayName = (typeof ARRAY_NAMES)[number];

export interface ArrayStats {
  min: number;
  max: number;
  mean: number;
  std: number;
}
export interface ArrayEntry {
  /** relative to the dataset folder */
  file: string;
  dtype: StoreDType;
  shape: number[];
  /** byte offset of row 0 in the file (0 for files this module writes) */
  offset: number;
  byteLength: number;
  stats?: ArrayStats;
}
export interface SplitManifest {
  count: number;
  arrays: Partial<Record<ArrayName, ArrayEntry>>;
  samplesFile: string;
  labelCounts: { three: number[]; seven: number[] };
  /** audio values of -inf set to 0 (the reference does the same on load) */
  zeroedNegInfAudio: number;
}
export interface DatasetManifest {
  format: 'cider-feature-store';
  version: 1;
  name: string;
  createdAt: string;
  source: { kind: 'mmsa-pickle' | 'joblib' | 'csd' | 'ood-split' | 'clips'; files: string[]; bytes: number };
  aligned: boolean;
  /** why the importer judged the data aligned or not (absent in stores written before it was recorded) */
  alignment?: { aligned: boolean; how: 'detected' | 'forced'; reason: string };
  dims: { L: number | null; Ta: number; da: number; Tv: number; dv: number; dl: number | null };
  splits: Record<SplitName, SplitManifest>;
  warnings: string[];
  /** how an OOD repartition was made (ood.ts) */
  ood?: unknown;
  /** auxiliary arrays: confounder vectors, priors */
  extras?: Record<string, ArrayEntry & { note?: string }>;
}
export interface SplitSamples {
  ids: string[];
  rawText: string[];
  annotations?: string[];
}

export const BYTES: Record<StoreDType, number> = { float32: 4, int32: 4, uint8: 1 };
export type Typed = Float32Array | Int32Array | Uint8Array;
function makeTyped(dtype: StoreDType, buf: Buffer): Typed {
  // copy into a fresh, aligned buffer
  const ab = new ArrayBuffer(buf.length);
  new Uint8Array(ab).set(buf);
  return dtype === 'float32' ? new Float32Array(ab) : dtype === 'int32' ? new Int32Array(ab) : new Uint8Array(ab);
}

/** Builds a store in a temp folder next to `finalDir`; commit() renames it into place. */
export class StoreBuilder {
  private done = false;
  private constructor(
    readonly finalDir: string,
    readonly tmpDir: string,
  ) {}

  static async create(finalDir: string): Promise<StoreBuilder> {
    finalDir = path.resolve(finalDir);
    if (fs.existsSync(finalDir)) throw new Error(`${finalDir} already exists; choose another dataset folder`);
    const parent = path.dirname(finalDir);
    await fs.promises.mkdir(parent, { recursive: true });
    const tmp = path.join(
      parent,
      `.${path.basename(finalDir)}.importing-${process.pid}-${crypto.randomBytes(4).toString('hex')}`,
    );
    await fs.promises.mkdir(tmp);
    for (const s of SPLITS) await fs.promises.mkdir(path.join(tmp, s));
    return new StoreBuilder(finalDir, tmp);
  }

  rel(split: string, name: string): string {
    return `${split}/${name}.bin`;
  }
  abs(rel: string): string {
    return path.join(this.tmpDir, rel);
  }

  async writeTyped(
    rel: string,
    dtype: StoreDType,
    shape: number[],
    data: Typed,
    stats?: ArrayStats,
  ): Promise<ArrayEntry> {
    await fs.promises.mkdir(path.dirname(this.abs(rel)), { recursive: true });
    await fs.promises.writeFile(this.abs(rel), new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    return { file: rel, dtype, shape, offset: 0, byteLength: data.byteLength, ...(stats ? { stats } : {}) };
  }

  async writeJson(rel: string, value: unknown): Promise<void> {
    await fs.promises.writeFile(this.abs(rel), JSON.stringify(value));
  }

  /** write the manifest, then move the folder into place in one rename */
  async commit(manifest: DatasetManifest): Promise<string> {
    await fs.promises.writeFile(path.join(this.tmpDir, 'manifest.json'), JSON.stringify(manifest, null, 1));
    if (fs.existsSync(this.finalDir))
      throw new Error(`${this.finalDir} appeared while importing; the import was not saved`);
    await fs.promises.rename(this.tmpDir, this.finalDir);
    this.done = true;
    return this.finalDir;
  }

  async abort(): Promise<void> {
    if (this.done) return;
    this.done = true;
    await fs.promises.rm(this.tmpDir, { recursive: true, force: true });
  }
}

/** Reads rows of one split. Row = first-axis index. */
export class SplitReader {
  private handles = new Map<string, fs.promises.FileHandle>();
  private samplesCache: SplitSamples | null = null;
  constructor(
    readonly store: FeatureStore,
    readonly name: SplitName,
    readonly manifest: SplitManifest,
  ) {}

  get count(): number {
    return this.manifest.count;
  }
  has(name: ArrayName): boolean {
    return this.manifest.arrays[name] !== undefined;
  }
  entry(name: ArrayName): ArrayEntry {
    const e = this.manifest.arrays[name];
    if (!e) throw new Error(`dataset ${this.store.manifest.name}: split ${this.name} has no '${name}' array`);
    return e;
  }
  rowShape(name: ArrayName): number[] {
    return this.entry(name).shape.slice(1);
  }
  private rowBytes(e: ArrayEntry): number {
    return e.shape.slice(1).reduce((a, b) => a * b, 1) * BYTES[e.dtype];
  }
  private async handle(file: string): Promise<fs.promises.FileHandle> {
    let h = this.handles.get(file);
    if (!h) this.handles.set(file, (h = await fs.promises.open(path.join(this.store.dir, file), 'r')));
    return h;
  }

  /** rows [start, end) as one flat typed array (row-major) */
  async read(name: ArrayName, start = 0, end = this.count): Promise<Typed> {
    const e = this.entry(name);
    if (start < 0 || end > this.count || start > end)
      throw new RangeError(`rows [${start}, ${end}) out of range for ${this.name} (${this.count} samples)`);
    const rb = this.rowBytes(e);
    const buf = Buffer.allocUnsafe((end - start) * rb);
    const h = await this.handle(e.file);
    let got = 0;
    while (got < buf.length) {
      const { bytesRead } = await h.read(buf, got, buf.length - got, e.offset + start * rb + got);
      if (bytesRead <= 0) throw new Error(`${e.file} is shorter than its manifest says`);
      got += bytesRead;
    }
    return makeTyped(e.dtype, buf);
  }

  /** the given rows, in the given order (contiguous runs are read in one go) */
  async readRows(name: ArrayName, rows: ArrayLike<number>): Promise<Typed> {
    const e = this.entry(name);
    const rb = this.rowBytes(e);
    const out = Buffer.allocUnsafe(rows.length * rb);
    const h = await this.handle(e.file);
    let k = 0;
    while (k < rows.length) {
      let run = 1;
      while (k + run < rows.length && rows[k + run] === rows[k] + run) run++;
      const r0 = rows[k];
      if (r0 < 0 || r0 + run > this.count) throw new RangeError(`row ${r0} out of range for ${this.name}`);
      let got = 0;
      const len = run * rb;
      while (got < len) {
        const { bytesRead } = await h.read(out, k * rb + got, len - got, e.offset + r0 * rb + got);
        if (bytesRead <= 0) throw new Error(`${e.file} is shorter than its manifest says`);
        got += bytesRead;
      }
      k += run;
    }
    return makeTyped(e.dtype, out);
  }

  async samples(): Promise<SplitSamples> {
    if (!this.samplesCache)
      this.samplesCache = JSON.parse(
        await fs.promises.readFile(path.join(this.store.dir, this.manifest.samplesFile), 'utf8'),
      ) as SplitSamples;
    return this.samplesCache;
  }
  async labels3(): Promise<Uint8Array> {
    return (await this.read('labels3')) as Uint8Array;
  }
  async labels7(): Promise<Uint8Array> {
    return (await this.read('labels7')) as Uint8Array;
  }
  async regression(): Promise<Float32Array> {
    return (await this.read('regression')) as Float32Array;
  }

  async close(): Promise<void> {
    for (const h of this.handles.values()) await h.close();
    this.handles.clear();
  }
}

export class FeatureStore {
  private readers = new Map<SplitName, SplitReader>();
  private constructor(
    readonly dir: string,
    readonly manifest: DatasetManifest,
  ) {}

  static async open(dir: string): Promise<FeatureStore> {
    const m = JSON.parse(await fs.promises.readFile(path.join(dir, 'manifest.json'), 'utf8')) as DatasetManifest;
    if (m.format !== 'cider-feature-store') throw new Error(`${dir} is not a CIDer feature store`);
    if (m.version !== 1)
      throw new Error(`${dir}: feature store version ${m.version} is newer than this app understands`);
    return new FeatureStore(dir, m);
  }

  split(name: SplitName): SplitReader {
    let r = this.readers.get(name);
    if (!r) this.readers.set(name, (r = new SplitReader(this, name, this.manifest.splits[name])));
    return r;
  }

  async close(): Promise<void> {
    for (const r of this.readers.values()) await r.close();
  }
}
