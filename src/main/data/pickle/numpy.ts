/**
 * numpy and joblib support for the pickle VM, without numpy: arrays become NdArray (shape, dtype,
 * order, and raw bytes in memory or on disk, or a list for object arrays).
 *
 * Globals handled (numpy 1.x and 2.x module names):
 *   numpy.core.multiarray._reconstruct + BUILD (protocols 2..4 and object arrays)
 *   numpy.core.numeric._frombuffer (protocol 5 in-band PickleBuffer)
 *   numpy.core.multiarray.scalar, numpy.dtype, numpy.ndarray
 *   joblib.numpy_pickle.NumpyArrayWrapper: the array's raw bytes follow the wrapper's BUILD in
 *   the same stream (after a 1-byte padding length and that much padding when the wrapper has
 *   numpy_array_alignment_bytes); object arrays follow as a nested protocol-2 pickle.
 */
import { DiskBytes } from '../stream';
import {
  PyGlobal,
  isTuple,
  resolverFromTable,
  type GlobalImpl,
  type GlobalResolver,
  type PyStateful,
  type UnpickleContext,
} from './types';
import { halfToFloat } from '../float16';

export type DTypeKind = 'f' | 'i' | 'u' | 'b' | 'U' | 'S' | 'O' | 'c' | 'V' | 'M' | 'm';

export class DType implements PyStateful {
  constructor(
    public kind: DTypeKind,
    public itemsize: number,
    /** '<' little, '>' big, '|' not applicable */
    public byteorder: '<' | '>' | '|',
  ) {}

  /** numpy's dtype.str, e.g. '<f4', '|u1', '<U5', '|O' */
  get str(): string {
    return this.kind === 'O'
      ? '|O'
      : `${this.byteorder}${this.kind}${this.kind === 'U' ? this.itemsize / 4 : this.itemsize}`;
  }
  get hasObject(): boolean {
    return this.kind === 'O';
  }
  /** a name for messages and manifests: float32, int64, bool, str, object ... */
  get name(): string {
    switch (this.kind) {
      case 'f':
        return `float${this.itemsize * 8}`;
      case 'i':
        return `int${this.itemsize * 8}`;
      case 'u':
        return `uint${this.itemsize * 8}`;
      case 'b':
        return 'bool';
      case 'U':
        return `str${this.itemsize / 4}`;
      case 'S':
        return `bytes${this.itemsize}`;
      case 'O':
        return 'object';
      default:
        return this.str;
    }
  }

  /** parse a numpy type string: 'f8', '<f4', 'U5', '|b1', 'O8', 'int32', 'float64', 'bool' */
  static parse(spec: string): DType {
    const names: Record<string, string> = {
      float32: 'f4',
      float64: 'f8',
      float16: 'f2',
      int8: 'i1',
      int16: 'i2',
      int32: 'i4',
      int64: 'i8',
      uint8: 'u1',
      uint16: 'u2',
      uint32: 'u4',
      uint64: 'u8',
      bool: 'b1',
      object: 'O8',
    };
    let s = names[spec] ?? spec;
    let bo: '<' | '>' | '|' | '=' = '=';
    if ('<>|='.includes(s[0])) {
      bo = s[0] as '<' | '>' | '|' | '=';
      s = s.slice(1);
    }
    const m = /^([a-zA-Z])(\d*)$/.exec(s);
    if (!m) throw new Error(`unsupported numpy dtype '${spec}'`);
    let kind = m[1] as DTypeKind;
    if ((m[1] as string) === '?') kind = 'b';
    if (!'fiubUSOcVMm'.includes(kind)) throw new Error(`unsupported numpy dtype '${spec}'`);
    let size = m[2] ? Number(m[2]) : 0;
    if (kind === 'U') size *= 4; // 'U5' counts characters, 4 bytes each
    if (kind === 'O') size = 8;
    if (kind === 'b' && !size) size = 1;
    const single = size <= 1 || kind === 'S' || kind === 'O' || kind === 'V' || kind === 'b';
    const order = single && kind !== 'U' ? '|' : bo === '>' ? '>' : '<';
    return new DType(kind, size, order);
  }

  /** BUILD state of numpy.dtype: (version, endian, subarray, names, fields, elsize, alignment, flags[, metadata]) */
  __setstate__(state: unknown, ctx: UnpickleContext): undefined {
    if (!isTuple(state) || state.length < 8) throw ctx.fail('numpy.dtype state is not a tuple of 8 or 9 items');
    const [, endian, subarray, names, , elsize] = state;
    if (subarray !== null || names !== null)
      throw ctx.fail(`structured or sub-array numpy dtypes are not supported (dtype ${this.str})`);
    if (endian === '<' || endian === '>') this.byteorder = endian;
    else if (endian === '|') this.byteorder = '|';
    if ((this.kind === 'U' || this.kind === 'S' || this.kind === 'V') && typeof elsize === 'number' && elsize > 0)
      this.itemsize = elsize;
    return undefined;
  }
}

/** A numpy array. `data` is raw bytes (memory or disk) in `fortran` or C order, or a flat list for object arrays. */
export class NdArray implements PyStateful {
  constructor(
    public shape: number[] = [0],
    public dtype: DType = new DType('u', 1, '|'),
    public fortran = false,
    public data: Uint8Array | DiskBytes | unknown[] = new Uint8Array(0),
  ) {}

  get size(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }
  get nbytes(): number {
    return this.size * this.dtype.itemsize;
  }
  get onDisk(): boolean {
    return this.data instanceof DiskBytes;
  }

  /** BUILD state from ndarray.__reduce__: (version, shape, dtype, is_fortran, data) or without version */
  __setstate__(state: unknown, ctx: UnpickleContext): undefined {
    if (!isTuple(state) || (state.length !== 5 && state.length !== 4))
      throw ctx.fail('numpy array state is not a tuple of 4 or 5 items');
    const s = state.length === 5 ? state.slice(1) : state;
    const [shape, dtype, fortran, data] = s;
    this.shape = toShape(shape, ctx);
    if (!(dtype instanceof DType)) throw ctx.fail('numpy array state has no dtype');
    this.dtype = dtype;
    this.fortran = fortran === true || fortran === 1;
    this.data = toData(data, this, ctx);
    return undefined;
  }

  /** numbers in C order as float64 (ints, floats, bools); in-memory arrays only */
  numbers(): Float64Array {
    const t = this.typed();
    const out = new Float64Array(t.length);
    for (let i = 0; i < t.length; i++) out[i] = Number(t[i]);
    return out;
  }

  /** the natural typed array in C order (int64 -> BigInt64Array, bool -> Uint8Array); in-memory numeric arrays only */
  typed():
    | Float32Array
    | Float64Array
    | Int8Array
    | Int16Array
    | Int32Array
    | BigInt64Array
    | Uint8Array
    | Uint16Array
    | Uint32Array
    | BigUint64Array {
    if (!(this.data instanceof Uint8Array))
      throw new Error(
        `typed(): the ${this.dtype.name} array is ${this.data instanceof DiskBytes ? 'on disk; read it in chunks' : 'an object array'}`,
      );
    const flat = decodeNumeric(this.data, this.dtype, this.size);
    return this.fortran && this.shape.length > 1 ? fortranToC(flat, this.shape) : flat;
  }

  /** elements in C order as JS values: numbers, strings for str/bytes dtypes, objects for object arrays */
  values(): unknown[] {
    if (Array.isArray(this.data))
      return this.fortran && this.shape.length > 1 ? fortranToC(this.data, this.shape) : this.data;
    if (this.dtype.kind === 'U' || this.dtype.kind === 'S') {
      if (!(this.data instanceof Uint8Array)) throw new Error('values(): string array is on disk');
      const out = decodeStrings(this.data, this.dtype, this.size);
      return this.fortran && this.shape.length > 1 ? fortranToC(out, this.shape) : out;
    }
    const t = this.typed();
    if (this.dtype.kind === 'b') return Array.from(t as Uint8Array, (x) => x !== 0);
    return Array.from(t as ArrayLike<number | bigint>, (x) =>
      typeof x === 'bigint' && x <= BigInt(Number.MAX_SAFE_INTEGER) && x >= -BigInt(Number.MAX_SAFE_INTEGER)
        ? Number(x)
        : x,
    );
  }
}

function toShape(x: unknown, ctx: UnpickleContext): number[] {
  const arr = isTuple(x) || Array.isArray(x) ? (x as unknown[]) : typeof x === 'number' ? [x] : null;
  if (!arr) throw ctx.fail('numpy array shape is not a tuple');
  return arr.map((d) => {
    const n = typeof d === 'bigint' ? Number(d) : d;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0)
      throw ctx.fail(`numpy array shape has a bad dimension ${String(d)}`);
    return n;
  });
}

function toData(x: unknown, a: NdArray, ctx: UnpickleContext): Uint8Array | DiskBytes | unknown[] {
  if (a.dtype.hasObject) {
    if (!Array.isArray(x)) throw ctx.fail('object array state has no list of items');
    if (x.length !== a.size) throw ctx.fail(`object array of shape (${a.shape.join(', ')}) holds ${x.length} items`);
    return x;
  }
  let data: Uint8Array | DiskBytes;
  if (typeof x === 'string') {
    // py2 str / latin1 text: one char per byte
    data = Buffer.from(x, 'latin1');
  } else if (x instanceof Uint8Array || x instanceof DiskBytes) data = x;
  else throw ctx.fail('numpy array data is not bytes');
  const len = data instanceof DiskBytes ? (data.encoding === 'latin1-of-utf8' ? -1 : data.length) : data.length;
  if (len >= 0 && len !== a.nbytes)
    throw ctx.fail(
      `numpy array of shape (${a.shape.join(', ')}) and dtype ${a.dtype.name} needs ${a.nbytes} bytes but its data holds ${len}`,
    );
  return data;
}

const LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** decode `count` elements of a numeric dtype from raw bytes (copying, so alignment and byte order never matter) */
export function decodeNumeric(bytes: Uint8Array, dtype: DType, count: number) {
  const n = dtype.itemsize;
  const need = count * n;
  if (bytes.length < need) throw new Error(`expected ${need} bytes of ${dtype.name} data, got ${bytes.length}`);
  const copy = new Uint8Array(need);
  copy.set(bytes.subarray(0, need));
  const swap = n > 1 && ((dtype.byteorder === '>' && LE) || (dtype.byteorder === '<' && !LE));
  if (swap) for (let i = 0; i < need; i += n) copy.subarray(i, i + n).reverse();
  const b = copy.buffer;
  switch (`${dtype.kind}${n}`) {
    case 'f4':
      return new Float32Array(b);
    case 'f8':
      return new Float64Array(b);
    case 'f2': {
      const h = new Uint16Array(b);
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = halfToFloat(h[i]);
      return out;
    }
    case 'i1':
      return new Int8Array(b);
    case 'i2':
      return new Int16Array(b);
    case 'i4':
      return new Int32Array(b);
    case 'i8':
      return new BigInt64Array(b);
    case 'u1':
    case 'b1':
      return new Uint8Array(b);
    case 'u2':
      return new Uint16Array(b);
    case 'u4':
      return new Uint32Array(b);
    case 'u8':
      return new BigUint64Array(b);
    default:
      throw new Error(`numeric decode of dtype ${dtype.str} is not supported`);
  }
}

function decodeStrings(bytes: Uint8Array, dtype: DType, count: number): string[] {
  const out: string[] = [];
  const n = dtype.itemsize;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < count; i++) {
    const o = i * n;
    if (dtype.kind === 'S') {
      let end = o + n;
      while (end > o && bytes[end - 1] === 0) end--;
      out.push(Buffer.from(bytes.buffer, bytes.byteOffset + o, end - o).toString('latin1'));
    } else {
      const cps: number[] = [];
      for (let j = 0; j < n; j += 4) cps.push(dv.getUint32(o + j, dtype.byteorder !== '>'));
      while (cps.length && cps[cps.length - 1] === 0) cps.pop();
      out.push(String.fromCodePoint(...cps));
    }
  }
  return out;
}

/** reorder a flat Fortran-order array to C order */
function fortranToC<T extends ArrayLike<unknown> & { length: number }>(src: T, shape: number[]): T {
  const out = (Array.isArray(src)
    ? new Array(src.length)
    : new (src.constructor as new (n: number) => T)(src.length)) as unknown as { [i: number]: unknown };
  const nd = shape.length;
  const idx = new Array(nd).fill(0);
  const fstride = new Array(nd);
  let s = 1;
  for (let d = 0; d < nd; d++) {
    fstride[d] = s;
    s *= shape[d];
  }
  for (let c = 0; c < src.length; c++) {
    let f = 0;
    for (let d = 0; d < nd; d++) f += idx[d] * fstride[d];
    out[c] = (src as unknown as { [i: number]: unknown })[f];
    for (let d = nd - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  return out as unknown as T;
}

function asDType(x: unknown, ctx: UnpickleContext): DType {
  if (x instanceof DType) return x;
  if (typeof x === 'string') return DType.parse(x);
  throw ctx.fail('expected a numpy dtype');
}

/** numpy scalar from (dtype, raw bytes) */
function scalar(args: readonly unknown[], ctx: UnpickleContext): unknown {
  const dt = asDType(args[0], ctx);
  if (dt.hasObject) return args[1];
  let raw = args[1];
  if (typeof raw === 'string') raw = Buffer.from(raw, 'latin1');
  if (!(raw instanceof Uint8Array)) throw ctx.fail('numpy scalar data is not bytes');
  const a = new NdArray([], dt, false, raw);
  if (raw.length !== dt.itemsize)
    throw ctx.fail(`numpy ${dt.name} scalar needs ${dt.itemsize} bytes, got ${raw.length}`);
  return a.values()[0];
}

/** joblib's NumpyArrayWrapper: BUILD gives the array's metadata, then the raw array follows in the stream */
class JoblibArrayWrapper implements PyStateful {
  async __setstate__(state: unknown, ctx: UnpickleContext): Promise<NdArray> {
    if (!(state instanceof Map)) throw ctx.fail('joblib NumpyArrayWrapper state is not a dict');
    const dtype = state.get('dtype');
    if (!(dtype instanceof DType)) throw ctx.fail('joblib NumpyArrayWrapper has no dtype');
    const shape = toShape(state.get('shape'), ctx);
    const order = state.get('order') ?? 'C';
    const sub = state.get('subclass');
    if (sub instanceof PyGlobal && sub.qualname !== 'numpy.ndarray' && sub.qualname !== 'numpy.memmap')
      throw ctx.fail(`joblib array subclass ${sub.qualname} is not supported`);
    if (dtype.hasObject) {
      // joblib pickles object arrays as a separate protocol-2 pickle right here
      const inner = await ctx.unpickleNested();
      if (!(inner instanceof NdArray)) throw ctx.fail('joblib object array did not unpickle to an array');
      return inner;
    }
    const align = state.get('numpy_array_alignment_bytes');
    if (align !== undefined && align !== null) {
      const pad = await ctx.readRaw(1);
      if (!(pad instanceof Uint8Array)) throw ctx.fail('bad joblib padding');
      if (pad[0] > 0) await ctx.skipRaw(pad[0]);
    }
    const a = new NdArray(shape, dtype, order === 'F', new Uint8Array(0));
    a.data = await ctx.readRaw(a.nbytes);
    return a;
  }
}

const impls: Record<string, GlobalImpl> = {};
for (const core of ['numpy.core', 'numpy._core']) {
  impls[`${core}.multiarray._reconstruct`] = {
    call: (args, ctx) => {
      const cls = args[0];
      if (!(cls instanceof PyGlobal) || cls.qualname !== 'numpy.ndarray')
        throw ctx.fail('numpy _reconstruct is only supported for numpy.ndarray');
      return new NdArray();
    },
  };
  impls[`${core}.multiarray.scalar`] = { call: scalar };
  impls[`${core}.numeric._frombuffer`] = {
    call: (args, ctx) => {
      const [buf, dt, shape, order] = args;
      const a = new NdArray(toShape(shape, ctx), asDType(dt, ctx), order === 'F');
      a.data = toData(buf, a, ctx);
      return a;
    },
  };
}
impls['numpy.ndarray'] = {};
impls['numpy.dtype'] = {
  call: (args, ctx) => {
    if (typeof args[0] !== 'string') throw ctx.fail('numpy.dtype needs a type string');
    try {
      return DType.parse(args[0]);
    } catch (e) {
      throw ctx.fail((e as Error).message);
    }
  },
};

/** numpy arrays, dtypes and scalars */
export const numpyGlobals: GlobalResolver = resolverFromTable(impls);

/** joblib.dump's array wrapper (needs numpyGlobals too) */
export const joblibGlobals: GlobalResolver = resolverFromTable({
  'joblib.numpy_pickle.NumpyArrayWrapper': { newObj: () => new JoblibArrayWrapper() },
});
