/**
 * CMU-MultimodalSDK computational sequences (.csd, HDF5), read with h5wasm:
 *   /<root name>/data/<video or segment id>/features (T, d)   and   .../intervals (T, 2)
 *   /<root name>/metadata/*   (strings, as datasets or attributes)
 * importCsd assembles audio, vision and label sequences (and optionally a word sequence for the raw
 * text) into a feature store, padding/truncating each sequence to fixed frame counts, keeping the
 * true lengths, and splitting by the given folds (the SDK's standard folds).
 */
import fs from 'node:fs';
import path from 'node:path';
import h5wasm from 'h5wasm/node';
import { DataImportError, ImportCancelledError } from './errors';
import {
  StoreBuilder,
  SPLITS,
  type DatasetManifest,
  type SplitManifest,
  type SplitName,
  type ArrayStats,
} from './featureStore';
import { classCounts, label3, label7 } from './labels';
import type { ImportOptions, ImportResult } from './mmsa';

type H5File = InstanceType<typeof h5wasm.File>;
type H5Group = InstanceType<typeof h5wasm.Group>;

export interface CsdEntry {
  features: Float64Array;
  /** (T, d) */
  shape: [number, number];
  intervals: Float64Array | null;
  /** for string features (word sequences) */
  strings?: string[];
}

const HDF5_SIGNATURE = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * Before HDF5 gets the file: an empty file says so, and a truncated one says where it ends and how
 * many bytes its superblock's end-of-file address still wants (HDF5's own error is opaque). The
 * superblock sits at byte 0 or, after a user block, at 512, 1024, 2048...; versions 0/1 keep the
 * end-of-file address after the base and free-space addresses, versions 2/3 after the base and
 * superblock-extension addresses.
 */
export function checkHdf5Length(file: string, label: string): void {
  const size = fs.statSync(file).size;
  if (size === 0) throw new DataImportError({ file: label }, 'the file is empty (0 bytes)');
  const fd = fs.openSync(file, 'r');
  try {
    for (let at = 0; at === 0 || at + 8 <= size; at = at === 0 ? 512 : at * 2) {
      const head = Buffer.alloc(64);
      const got = fs.readSync(fd, head, 0, 64, at);
      if (got < 8 || !head.subarray(0, 8).equals(HDF5_SIGNATURE)) {
        if (at === 0 && got < 8 && HDF5_SIGNATURE.subarray(0, got).equals(head.subarray(0, got)))
          throw new DataImportError(
            { file: label },
            `truncated: the file ends at byte ${size}, inside the HDF5 signature (${8 - got} more bytes were needed)`,
          );
        continue;
      }
      const version = head[8];
      const offsets = version <= 1 ? head[13] : head[9];
      const eofField = version === 0 ? 24 + 2 * offsets : version === 1 ? 28 + 2 * offsets : 12 + 2 * offsets;
      if (![2, 4, 8].includes(offsets) || version > 3) return; // not a superblock we know: let HDF5 judge
      if (got < eofField + offsets)
        throw new DataImportError(
          { file: label },
          `truncated: the file ends at byte ${size}, inside the HDF5 superblock (${at + eofField + offsets - size} more bytes were needed)`,
        );
      const eof = Number(head.readBigUInt64LE(eofField) & ((1n << BigInt(8 * offsets)) - 1n)) + at;
      if (offsets === 8 && head.readBigUInt64LE(eofField) === 0xffffffffffffffffn) return; // undefined address
      if (eof > size)
        throw new DataImportError(
          { file: label },
          `truncated: the file ends at byte ${size}, but its HDF5 superblock says it is ${eof} bytes long (${eof - size} more bytes were needed)`,
        );
      return;
    }
  } finally {
    fs.closeSync(fd);
  }
}

export class CsdSequence {
  private constructor(
    readonly file: string,
    private readonly h5: H5File,
    readonly name: string,
    readonly metadata: Record<string, string>,
    readonly ids: string[],
    private readonly data: H5Group,
  ) {}

  static async open(file: string): Promise<CsdSequence> {
    const label = path.basename(file);
    if (!fs.existsSync(file)) throw new DataImportError({ file: label }, 'file not found');
    checkHdf5Length(file, label);
    await h5wasm.ready;
    let h5: H5File;
    try {
      h5 = new h5wasm.File(path.resolve(file), 'r');
    } catch (e) {
      throw new DataImportError({ file: label }, `not a readable HDF5 file (${(e as Error).message})`);
    }
    try {
      const roots = h5.keys();
      if (roots.length !== 1)
        throw new DataImportError(
          { file: label },
          `expected one top-level group (the sequence name), found ${roots.length}: ${roots.join(', ')}`,
        );
      const root = h5.get(roots[0]);
      if (!(root instanceof h5wasm.Group)) throw new DataImportError({ file: label }, `'${roots[0]}' is not a group`);
      const data = root.get('data');
      if (!(data instanceof h5wasm.Group))
        throw new DataImportError({ file: label, field: 'data' }, `'${roots[0]}/data' group is missing`);
      const metadata: Record<string, string> = {};
      const meta = root.get('metadata');
      if (meta instanceof h5wasm.Group) {
        for (const k of meta.keys()) {
          const d = meta.get(k);
          if (d instanceof h5wasm.Dataset) metadata[k] = stringify(d.value);
        }
        for (const [k, a] of Object.entries(meta.attrs)) metadata[k] = stringify(a.value);
      }
      return new CsdSequence(label, h5, roots[0], metadata, data.keys(), data);
    } catch (e) {
      try {
        h5.close();
      } catch {
        // already unusable
      }
      if (e instanceof DataImportError) throw e;
      throw new DataImportError(
        { file: label },
        `not a readable HDF5 file: it is corrupt or truncated (${(e as Error).message})`,
      );
    }
  }

  read(id: string): CsdEntry {
    try {
      return this.readUnchecked(id);
    } catch (e) {
      if (e instanceof DataImportError) throw e;
      throw new DataImportError(
        { file: this.file, field: `data/${id}` },
        `could not be read: the file is corrupt or truncated (${(e as Error).message})`,
      );
    }
  }

  private readUnchecked(id: string): CsdEntry {
    const g = this.data.get(id);
    const w = { file: this.file, field: `data/${id}` };
    if (!(g instanceof h5wasm.Group)) throw new DataImportError(w, 'is not a group');
    const f = g.get('features');
    if (!(f instanceof h5wasm.Dataset)) throw new DataImportError(w, "has no 'features' dataset");
    const shape = f.shape ?? [];
    if (shape.length !== 2)
      throw new DataImportError(
        { ...w, field: `data/${id}/features` },
        `expected shape (T, d), got (${shape.join(', ')})`,
      );
    const v = f.value;
    const iv = g.get('intervals');
    const intervals = iv instanceof h5wasm.Dataset ? Float64Array.from(iv.value as ArrayLike<number>) : null;
    if (Array.isArray(v) && (v.length === 0 || typeof v[0] === 'string' || v[0] instanceof Uint8Array)) {
      const strings = v.map((x) => (typeof x === 'string' ? x : Buffer.from(x as Uint8Array).toString('utf8')));
      return { features: new Float64Array(0), shape: [shape[0], shape[1]], intervals, strings };
    }
    return { features: Float64Array.from(v as ArrayLike<number>, Number), shape: [shape[0], shape[1]], intervals };
  }

  close(): void {
    this.h5.close();
  }
}

function stringify(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v instanceof Uint8Array) return Buffer.from(v).toString('utf8');
  if (Array.isArray(v)) return v.map(stringify).join('\n');
  return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? Number(x) : x));
}

export interface CsdImportOptions extends ImportOptions {
  audio: string;
  vision: string;
  /** label sequence: features (k, >=1); the score is the first value of the first row */
  labels: string;
  /** word sequence (string features) for the raw text; 'sp' silence tokens are dropped */
  words?: string;
  /** ids per split (e.g. the SDK's standard folds) */
  folds: Record<SplitName, string[]>;
  /** frames kept per sample; longer sequences are truncated, shorter zero-padded (defaults: longest) */
  audioFrames?: number;
  visionFrames?: number;
}

export async function importCsd(opts: CsdImportOptions): Promise<ImportResult> {
  const seqs: CsdSequence[] = [];
  const b = await StoreBuilder.create(opts.outDir);
  try {
    const audio = await CsdSequence.open(opts.audio);
    seqs.push(audio);
    const vision = await CsdSequence.open(opts.vision);
    seqs.push(vision);
    const labels = await CsdSequence.open(opts.labels);
    seqs.push(labels);
    const words = opts.words ? await CsdSequence.open(opts.words) : null;
    if (words) seqs.push(words);
    const warnings: string[] = [];
    for (const s of SPLITS)
      if (!opts.folds[s]?.length)
        throw new DataImportError({ file: 'folds', split: s }, 'the fold is missing or empty');

    const has = (q: CsdSequence) => new Set(q.ids);
    const [ha, hv, hl] = [has(audio), has(vision), has(labels)];
    const pick = (s: SplitName) => {
      const ok = opts.folds[s].filter((id) => ha.has(id) && hv.has(id) && hl.has(id));
      if (ok.length < opts.folds[s].length)
        warnings.push(
          `${s}: ${opts.folds[s].length - ok.length} fold ids are missing from a sequence and were skipped`,
        );
      if (!ok.length)
        throw new DataImportError(
          { file: labels.file, split: s },
          'no sample of the fold is present in all of audio, vision and labels',
        );
      return ok;
    };
    const ids = Object.fromEntries(SPLITS.map((s) => [s, pick(s)])) as Record<SplitName, string[]>;
    const all = SPLITS.flatMap((s) => ids[s]);
    const dimOf = (q: CsdSequence) => {
      let T = 0;
      let d = -1;
      for (const id of all) {
        const e = q.read(id);
        T = Math.max(T, e.shape[0]);
        if (d >= 0 && e.shape[1] !== d)
          throw new DataImportError(
            { file: q.file, field: `data/${id}/features` },
            `has ${e.shape[1]} channels but other sequences have ${d}`,
          );
        d = e.shape[1];
      }
      return { T, d };
    };
    const ad = dimOf(audio);
    const vd = dimOf(vision);
    const Ta = opts.audioFrames ?? ad.T;
    const Tv = opts.visionFrames ?? vd.T;

    const splits = {} as Record<SplitName, SplitManifest>;
    let step = 0;
    for (const s of SPLITS) {
      const N = ids[s].length;
      const arrays: SplitManifest['arrays'] = {};
      let zeroed = 0;
      const writeSeq = async (q: CsdSequence, name: 'audio' | 'vision', T: number, d: number, lens: Int32Array) => {
        const rel = b.rel(s, name);
        const fh = await fs.promises.open(b.abs(rel), 'w');
        const st = { n: 0, sum: 0, sumsq: 0, min: Infinity, max: -Infinity };
        try {
          for (let i = 0; i < N; i++) {
            if (opts.signal?.aborted) throw new ImportCancelledError(q.file);
            const e = q.read(ids[s][i]);
            const row = new Float32Array(T * d);
            const n = Math.min(T, e.shape[0]);
            lens[i] = n;
            for (let k = 0; k < n * d; k++) {
              let v = e.features[k];
              if (!Number.isFinite(v)) {
                if (v === -Infinity && name === 'audio') {
                  v = 0;
                  zeroed++;
                } else if (opts.nonFinite === 'zero') v = 0;
                else
                  throw new DataImportError(
                    { file: q.file, split: s, field: `data/${ids[s][i]}/features` },
                    `value ${v} at frame ${Math.floor(k / d)}, channel ${k % d}`,
                  );
              }
              row[k] = v;
              st.n++;
              st.sum += v;
              st.sumsq += v * v;
              if (v < st.min) st.min = v;
              if (v > st.max) st.max = v;
            }
            await fh.write(new Uint8Array(row.buffer));
          }
        } finally {
          await fh.close();
        }
        const mean = st.n ? st.sum / st.n : 0;
        const stats: ArrayStats = {
          min: st.n ? st.min : 0,
          max: st.n ? st.max : 0,
          mean,
          std: Math.sqrt(Math.max(0, st.n ? st.sumsq / st.n - mean * mean : 0)),
        };
        arrays[name] = { file: rel, dtype: 'float32', shape: [N, T, d], offset: 0, byteLength: N * T * d * 4, stats };
        opts.onProgress?.({ phase: 'validating', done: ++step, total: 6 });
      };
      const al = new Int32Array(N);
      const vl = new Int32Array(N);
      await writeSeq(audio, 'audio', Ta, ad.d, al);
      await writeSeq(vision, 'vision', Tv, vd.d, vl);
      const reg = new Float32Array(N);
      for (let i = 0; i < N; i++) {
        const e = labels.read(ids[s][i]);
        const r = e.features[0];
        if (!Number.isFinite(r) || r < -3 || r > 3)
          throw new DataImportError(
            { file: labels.file, split: s, field: `data/${ids[s][i]}/features` },
            `score ${r} is not in [-3, 3]`,
          );
        reg[i] = r;
      }
      const rawText = ids[s].map((id) => {
        if (!words || !words.ids.includes(id)) return '';
        const e = words.read(id);
        return (e.strings ?? []).filter((x) => x !== 'sp').join(' ');
      });
      const l3 = Uint8Array.from(reg, label3);
      const l7 = Uint8Array.from(reg, label7);
      arrays.audioLengths = await b.writeTyped(b.rel(s, 'audioLengths'), 'int32', [N], al);
      arrays.visionLengths = await b.writeTyped(b.rel(s, 'visionLengths'), 'int32', [N], vl);
      arrays.regression = await b.writeTyped(b.rel(s, 'regression'), 'float32', [N], reg);
      arrays.labels3 = await b.writeTyped(b.rel(s, 'labels3'), 'uint8', [N], l3);
      arrays.labels7 = await b.writeTyped(b.rel(s, 'labels7'), 'uint8', [N], l7);
      await b.writeJson(`${s}/samples.json`, { ids: ids[s], rawText });
      if (zeroed) warnings.push(`${s}: ${zeroed} audio values of -inf set to 0 (as the reference does)`);
      splits[s] = {
        count: N,
        arrays,
        samplesFile: `${s}/samples.json`,
        labelCounts: { three: classCounts(l3, 3), seven: classCounts(l7, 7) },
        zeroedNegInfAudio: zeroed,
      };
    }
    warnings.push('no token ids: the text must be tokenized before training');
    const manifest: DatasetManifest = {
      format: 'cider-feature-store',
      version: 1,
      name: opts.name ?? path.basename(opts.outDir),
      createdAt: new Date().toISOString(),
      source: { kind: 'csd', files: seqs.map((q) => q.file), bytes: 0 },
      aligned: false,
      dims: { L: null, Ta, da: ad.d, Tv, dv: vd.d, dl: null },
      splits,
      warnings,
    };
    for (const q of seqs.splice(0)) q.close();
    const dir = await b.commit(manifest);
    return { dir, manifest };
  } catch (e) {
    for (const q of seqs) q.close();
    await b.abort();
    throw e;
  }
}
