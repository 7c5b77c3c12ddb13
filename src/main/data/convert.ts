/**
 * Turning unpickled values (NdArray in memory or spilled to disk, Python lists) into store arrays,
 * chunk by chunk, validating as the data passes: non-finite values, integrality, ranges.
 */
import fs from 'node:fs';
import { DataImportError, ImportCancelledError, type DataImportErrorInfo } from './errors';
import { NdArray, decodeNumeric } from './pickle/numpy';
import { DiskBytes, chunksOf, wholeElements, DEFAULT_CHUNK } from './stream';
import type { ArrayStats } from './featureStore';

export type Where = Required<Pick<DataImportErrorInfo, 'file' | 'field'>> & { split?: string };

const LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function fail(w: Where, problem: string): DataImportError {
  return new DataImportError(w, problem);
}

export function shapeStr(s: readonly number[]): string {
  return `(${s.join(', ')}${s.length === 1 ? ',' : ''})`;
}

/** decoded numeric chunks of an array, in C order */
export async function* numericChunks(
  arr: NdArray,
  w: Where,
  signal?: AbortSignal,
): AsyncGenerator<ArrayLike<number | bigint>> {
  if (Array.isArray(arr.data)) {
    yield toNumberList(arr.values(), w);
    return;
  }
  const k = arr.dtype.kind;
  if (!'fiub'.includes(k)) throw fail(w, `expected a numeric array, got dtype ${arr.dtype.name}`);
  if (arr.fortran && arr.shape.length > 1) {
    if (arr.data instanceof DiskBytes)
      throw new DataImportError(
        w,
        'large Fortran-ordered arrays are not supported; save the array in C order',
        'UNSUPPORTED',
      );
    yield arr.typed();
    return;
  }
  const n = arr.dtype.itemsize;
  let count = 0;
  const chunk = DEFAULT_CHUNK - (DEFAULT_CHUNK % n);
  try {
    for await (const c of wholeElements(chunksOf(arr.data, chunk, signal, w.file), n)) {
      count += c.length / n;
      yield decodeNumeric(c, arr.dtype, c.length / n);
    }
  } catch (e) {
    if (e instanceof DataImportError) throw e;
    if (e instanceof ImportCancelledError) throw e;
    throw fail(w, `could not read the array data (${(e as Error).message})`);
  }
  if (count !== arr.size)
    throw fail(w, `array of shape ${shapeStr(arr.shape)} holds ${count} values instead of ${arr.size}`);
}

function toNumberList(xs: unknown[], w: Where): Float64Array {
  const out = new Float64Array(xs.length);
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i];
    if (typeof x === 'number') out[i] = x;
    else if (typeof x === 'bigint') out[i] = Number(x);
    else if (typeof x === 'boolean') out[i] = x ? 1 : 0;
    else if (x instanceof NdArray && x.size === 1) out[i] = Number(x.values()[0]);
    else throw fail(w, `item ${i} is not a number`);
  }
  return out;
}

/** a whole (small) array or Python list of numbers as float64 */
export async function allNumbers(v: unknown, w: Where): Promise<{ values: Float64Array; shape: number[] }> {
  if (Array.isArray(v)) {
    // a list of numbers, or a list of 1-element lists/arrays
    const flat = v.map((x) => (Array.isArray(x) && x.length === 1 ? x[0] : x));
    return { values: toNumberList(flat, w), shape: [v.length] };
  }
  if (!(v instanceof NdArray)) throw fail(w, 'expected a numpy array or a list of numbers');
  const out = new Float64Array(v.size);
  let at = 0;
  for await (const c of numericChunks(v, w)) {
    for (let i = 0; i < c.length; i++) out[at++] = Number(c[i]);
  }
  return { values: out, shape: v.shape };
}

export function allStrings(v: unknown, w: Where): string[] {
  let xs: unknown[];
  if (Array.isArray(v)) xs = v;
  else if (v instanceof NdArray) {
    if (v.data instanceof DiskBytes) throw fail(w, 'string array too large');
    xs = v.values();
  } else throw fail(w, 'expected an array or list of strings');
  return xs.map((x, i) => {
    if (typeof x === 'string') return x;
    if (x instanceof Uint8Array) return Buffer.from(x).toString('utf8');
    if (typeof x === 'number' || typeof x === 'bigint') return String(x);
    throw fail(w, `item ${i} is not a string`);
  });
}

export interface F32Options {
  /** row length in elements (T*d), for messages */
  rowShape: number[];
  negInfToZero: boolean;
  /** what to do with other non-finite values */
  nonFinite: 'error' | 'zero';
  signal?: AbortSignal;
  /** spill files already moved into the store (a memoized array referenced twice must be copied the second time) */
  adopted: Set<string>;
}

class Scan {
  min = Infinity;
  max = -Infinity;
  sum = 0;
  sumsq = 0;
  n = 0;
  nan = 0;
  posInf = 0;
  negInf = 0;
  zeroedNegInf = 0;
  zeroedOther = 0;
  firstBad = -1;
  constructor(private readonly o: F32Options) {}
  /** returns true if it changed the chunk */
  run(f: Float32Array, base: number): boolean {
    let changed = false;
    let mn = this.min;
    let mx = this.max;
    let s = 0;
    let ss = 0;
    let good = 0;
    for (let i = 0; i < f.length; i++) {
      const v = f[i];
      if (v - v === 0) {
        if (v < mn) mn = v;
        if (v > mx) mx = v;
        s += v;
        ss += v * v;
        good++;
        continue;
      }
      if (v === -Infinity && this.o.negInfToZero) {
        f[i] = 0;
        this.zeroedNegInf++;
        changed = true;
        if (mn > 0) mn = 0;
        if (mx < 0) mx = 0;
        good++;
        continue;
      }
      if (v !== v) this.nan++;
      else if (v > 0) this.posInf++;
      else this.negInf++;
      if (this.firstBad < 0) this.firstBad = base + i;
      if (this.o.nonFinite === 'zero') {
        f[i] = 0;
        this.zeroedOther++;
        changed = true;
      }
    }
    this.min = mn;
    this.max = mx;
    this.sum += s;
    this.sumsq += ss;
    this.n += good;
    return changed;
  }
  stats(): ArrayStats {
    if (!this.n) return { min: 0, max: 0, mean: 0, std: 0 };
    const mean = this.sum / this.n;
    return { min: this.min, max: this.max, mean, std: Math.sqrt(Math.max(0, this.sumsq / this.n - mean * mean)) };
  }
  check(w: Where): void {
    const bad = this.nan + this.posInf + this.negInf;
    if (!bad || this.o.nonFinite === 'zero') return;
    const rowElems = this.o.rowShape.reduce((a, b) => a * b, 1);
    const sample = Math.floor(this.firstBad / rowElems);
    let rem = this.firstBad % rowElems;
    const pos: number[] = [];
    for (let d = this.o.rowShape.length - 1; d >= 0; d--) {
      pos.unshift(rem % this.o.rowShape[d]);
      rem = Math.floor(rem / this.o.rowShape[d]);
    }
    const parts = [
      this.nan && `${this.nan} NaN`,
      this.posInf && `${this.posInf} +inf`,
      this.negInf && `${this.negInf} -inf`,
    ]
      .filter(Boolean)
      .join(', ');
    throw fail(w, `${parts} value${bad > 1 ? 's' : ''}; the first at sample ${sample}, index [${pos.join(', ')}]`);
  }
}

export interface F32Result {
  stats: ArrayStats;
  zeroedNegInf: number;
  zeroedOther: number;
  byteLength: number;
}

/**
 * Write an array as little-endian float32 to `dest`, scanning every value. A float32 C-order
 * array spilled to disk is moved into place and fixed in place (no second copy of the data).
 */
export async function writeFloat32(arr: NdArray, dest: string, w: Where, o: F32Options): Promise<F32Result> {
  const scan = new Scan(o);
  const d = arr.data;
  const direct =
    d instanceof DiskBytes &&
    d.encoding === 'bytes' &&
    d.offset === 0 &&
    arr.dtype.kind === 'f' &&
    arr.dtype.itemsize === 4 &&
    arr.dtype.byteorder !== '>' &&
    LE &&
    !(arr.fortran && arr.shape.length > 1) &&
    !o.adopted.has(d.path);
  if (direct) {
    o.adopted.add(d.path);
    await fs.promises.rename(d.path, dest);
    const fh = await fs.promises.open(dest, 'r+');
    try {
      const buf = Buffer.allocUnsafe(DEFAULT_CHUNK);
      let pos = 0;
      while (pos < d.length) {
        if (o.signal?.aborted) throw new ImportCancelledError(w.file);
        const want = Math.min(buf.length, d.length - pos);
        let got = 0;
        while (got < want) {
          const { bytesRead } = await fh.read(buf, got, want - got, pos + got);
          if (bytesRead <= 0) throw fail(w, 'array data ended early');
          got += bytesRead;
        }
        const f = new Float32Array(buf.buffer, buf.byteOffset, want / 4);
        if (scan.run(f, pos / 4)) await fh.write(buf, 0, want, pos);
        pos += want;
      }
    } finally {
      await fh.close();
    }
    scan.check(w);
    return {
      stats: scan.stats(),
      zeroedNegInf: scan.zeroedNegInf,
      zeroedOther: scan.zeroedOther,
      byteLength: d.length,
    };
  }
  const fh = await fs.promises.open(dest, 'w');
  let at = 0;
  try {
    for await (const c of numericChunks(arr, w, o.signal)) {
      const f = c instanceof Float32Array ? c : Float32Array.from(c as ArrayLike<number>, Number);
      scan.run(f, at);
      at += f.length;
      await fh.write(new Uint8Array(f.buffer, f.byteOffset, f.byteLength));
    }
  } finally {
    await fh.close();
  }
  scan.check(w);
  return { stats: scan.stats(), zeroedNegInf: scan.zeroedNegInf, zeroedOther: scan.zeroedOther, byteLength: at * 4 };
}

/** integer-valued array (any numeric dtype) to int32, refusing fractions and values out of [lo, hi] */
export async function toInt32(arr: NdArray, w: Where, lo: number, hi: number, rowShape: number[]): Promise<Int32Array> {
  const out = new Int32Array(arr.size);
  let at = 0;
  for await (const c of numericChunks(arr, w)) {
    for (let i = 0; i < c.length; i++, at++) {
      const v = Number(c[i]);
      if (!Number.isInteger(v) || v < lo || v > hi) {
        const rowElems = rowShape.reduce((a, b) => a * b, 1);
        throw fail(
          w,
          `value ${v} at sample ${Math.floor(at / rowElems)} (flat index ${at % rowElems}) is not an integer in [${lo}, ${hi}]`,
        );
      }
      out[at] = v;
    }
  }
  return out;
}
