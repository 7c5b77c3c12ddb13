/**
 * safetensors reader and writer (https://github.com/huggingface/safetensors format):
 * 8-byte little-endian header length, a JSON header {name: {dtype, shape, data_offsets}},
 * then the raw little-endian tensor bytes. Used for BERT weights, CIDer checkpoints and the
 * parity fixtures. Reading copies each tensor into its own aligned typed array.
 */
import { readFileSync, writeFileSync, renameSync } from 'node:fs';
import { halfToFloat } from '../../data/float16';

export { halfToFloat };

export type SafeDType = 'F32' | 'F64' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

export interface NamedTensor {
  dtype: SafeDType;
  shape: number[];
  /** F32/F16/BF16 -> Float32Array, F64 -> Float64Array, integer types -> Int32Array (I64 checked to fit), U8/BOOL -> Uint8Array */
  data: Float32Array | Float64Array | Int32Array | Uint8Array;
}

const BYTES: Record<SafeDType, number> = {
  F32: 4,
  F64: 8,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

export class SafetensorsError extends Error {
  constructor(file: string, problem: string) {
    super(`${file}: ${problem}`);
    this.name = 'SafetensorsError';
  }
}

/** Parse a safetensors buffer; `file` only names the source in error messages. */
export function parseSafetensors(
  buf: Buffer,
  file = '<buffer>',
): { tensors: Map<string, NamedTensor>; metadata: Record<string, string> } {
  if (buf.length < 8) throw new SafetensorsError(file, 'file is shorter than the 8-byte header length');
  const headerLen = Number(buf.readBigUInt64LE(0));
  if (headerLen <= 0 || 8 + headerLen > buf.length)
    throw new SafetensorsError(
      file,
      `header length ${headerLen} does not fit in a file of ${buf.length} bytes (truncated or not safetensors)`,
    );
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(buf.subarray(8, 8 + headerLen).toString('utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new SafetensorsError(file, `header is not valid JSON (${(e as Error).message})`);
  }
  const base = 8 + headerLen;
  const tensors = new Map<string, NamedTensor>();
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = (raw ?? {}) as Record<string, string>;
      continue;
    }
    const info = raw as { dtype: SafeDType; shape: number[]; data_offsets: [number, number] };
    if (!(info?.dtype in BYTES))
      throw new SafetensorsError(file, `tensor ${name}: unsupported dtype ${String(info?.dtype)}`);
    const [start, end] = info.data_offsets;
    const count = info.shape.reduce((a, b) => a * b, 1);
    if (end - start !== count * BYTES[info.dtype] || base + end > buf.length) {
      throw new SafetensorsError(
        file,
        `tensor ${name}: byte range [${start}, ${end}) does not match shape [${info.shape.join(', ')}] ${info.dtype} or runs past the end of the file`,
      );
    }
    const bytes = buf.subarray(base + start, base + end);
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let data: NamedTensor['data'];
    switch (info.dtype) {
      case 'F32':
        data = new Float32Array(count);
        for (let i = 0; i < count; i++) data[i] = dv.getFloat32(i * 4, true);
        break;
      case 'F64':
        data = new Float64Array(count);
        for (let i = 0; i < count; i++) data[i] = dv.getFloat64(i * 8, true);
        break;
      case 'F16':
        data = new Float32Array(count);
        for (let i = 0; i < count; i++) data[i] = halfToFloat(dv.getUint16(i * 2, true));
        break;
      case 'BF16':
        data = new Float32Array(count);
        {
          const tmp = new DataView(new ArrayBuffer(4));
          for (let i = 0; i < count; i++) {
            tmp.setUint32(0, dv.getUint16(i * 2, true) << 16);
            data[i] = tmp.getFloat32(0);
          }
        }
        break;
      case 'I64':
        data = new Int32Array(count);
        for (let i = 0; i < count; i++) {
          const v = dv.getBigInt64(i * 8, true);
          if (v > 2147483647n || v < -2147483648n)
            throw new SafetensorsError(file, `tensor ${name}: int64 value ${v} does not fit in int32`);
          data[i] = Number(v);
        }
        break;
      case 'I32':
        data = new Int32Array(count);
        for (let i = 0; i < count; i++) data[i] = dv.getInt32(i * 4, true);
        break;
      case 'I16':
        data = new Int32Array(count);
        for (let i = 0; i < count; i++) data[i] = dv.getInt16(i * 2, true);
        break;
      case 'I8':
        data = new Int32Array(count);
        for (let i = 0; i < count; i++) data[i] = dv.getInt8(i);
        break;
      default:
        data = Uint8Array.from(bytes);
    }
    tensors.set(name, { dtype: info.dtype, shape: info.shape, data });
  }
  return { tensors, metadata };
}

export function readSafetensors(file: string): { tensors: Map<string, NamedTensor>; metadata: Record<string, string> } {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (e) {
    throw new SafetensorsError(file, `cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return parseSafetensors(buf, file);
}

export interface TensorToWrite {
  shape: number[];
  data: Float32Array | Float64Array | Int32Array | Uint8Array | BigInt64Array;
  /** defaults from the array type: F32, F64, I32, U8, I64 */
  dtype?: SafeDType;
}

/** Serialise tensors (sorted by name, as the Python library does). */
export function serializeSafetensors(
  tensors: Record<string, TensorToWrite>,
  metadata?: Record<string, string>,
): Buffer {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const name of names) {
    const t = tensors[name];
    const dtype: SafeDType =
      t.dtype ??
      (t.data instanceof Float32Array
        ? 'F32'
        : t.data instanceof Float64Array
          ? 'F64'
          : t.data instanceof Int32Array
            ? 'I32'
            : t.data instanceof BigInt64Array
              ? 'I64'
              : 'U8');
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length)
      throw new Error(`tensor ${name}: shape [${t.shape.join(', ')}] needs ${count} values, got ${t.data.length}`);
    const bytes = Buffer.alloc(count * BYTES[dtype]);
    for (let i = 0; i < count; i++) {
      const v = t.data[i];
      switch (dtype) {
        case 'F32':
          bytes.writeFloatLE(Number(v), i * 4);
          break;
        case 'F64':
          bytes.writeDoubleLE(Number(v), i * 8);
          break;
        case 'I32':
          bytes.writeInt32LE(Number(v), i * 4);
          break;
        case 'I64':
          bytes.writeBigInt64LE(BigInt(v), i * 8);
          break;
        case 'U8':
        case 'BOOL':
          bytes.writeUInt8(Number(v), i);
          break;
        default:
          throw new Error(`tensor ${name}: writing ${dtype} is not supported`);
      }
    }
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    offset += bytes.length;
    chunks.push(bytes);
  }
  let json = JSON.stringify(header);
  // pad the header with spaces so tensor data starts 8-byte aligned, as the reference writer does
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([head, Buffer.from(json, 'utf8'), ...chunks]);
}

/** Write atomically: a partial file never replaces a good one. */
export function writeSafetensors(
  file: string,
  tensors: Record<string, TensorToWrite>,
  metadata?: Record<string, string>,
): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, serializeSafetensors(tensors, metadata));
  renameSync(tmp, file);
}
