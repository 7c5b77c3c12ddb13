/**
 * The part of the ONNX protobuf schema (onnx/onnx.proto, IR version 8) that the exporter writes,
 * as a descriptor table, and a small schema-driven protobuf wire encoder/decoder for it.
 *
 * Why hand-rolled: the messages we need are eight plain ones with scalar, string, bytes, packed
 * and nested fields; the wire format for those is a page of code, and it keeps the exporter free
 * of a runtime dependency. Field numbers are those of onnx.proto (checked by loading the output
 * in onnxruntime-node, see test/unit/ml/onnx). Fields we never write are left out of the table; the
 * decoder skips unknown fields, so it reads any ONNX file's structure (for tests and inspection).
 */

type Scalar = 'int64' | 'int32' | 'float' | 'string' | 'bytes';
interface FieldDesc {
  no: number;
  /** a scalar type, or the name of a message in SCHEMA */
  type: Scalar | MessageName;
  repeated?: boolean;
  /** repeated numeric fields are written packed (proto3 default; onnx.proto is proto2 but parsers accept both) */
  packed?: boolean;
}
export type MessageName =
  | 'ModelProto'
  | 'OperatorSetIdProto'
  | 'StringStringEntryProto'
  | 'GraphProto'
  | 'NodeProto'
  | 'AttributeProto'
  | 'TensorProto'
  | 'ValueInfoProto'
  | 'TypeProto'
  | 'TypeProto.Tensor'
  | 'TensorShapeProto'
  | 'TensorShapeProto.Dimension';

/** JSON descriptor of the messages (names as in onnx.proto). */
export const SCHEMA: Record<MessageName, Record<string, FieldDesc>> = {
  ModelProto: {
    ir_version: { no: 1, type: 'int64' },
    producer_name: { no: 2, type: 'string' },
    producer_version: { no: 3, type: 'string' },
    domain: { no: 4, type: 'string' },
    model_version: { no: 5, type: 'int64' },
    doc_string: { no: 6, type: 'string' },
    graph: { no: 7, type: 'GraphProto' },
    opset_import: { no: 8, type: 'OperatorSetIdProto', repeated: true },
    metadata_props: { no: 14, type: 'StringStringEntryProto', repeated: true },
  },
  OperatorSetIdProto: {
    domain: { no: 1, type: 'string' },
    version: { no: 2, type: 'int64' },
  },
  StringStringEntryProto: {
    key: { no: 1, type: 'string' },
    value: { no: 2, type: 'string' },
  },
  GraphProto: {
    node: { no: 1, type: 'NodeProto', repeated: true },
    name: { no: 2, type: 'string' },
    initializer: { no: 5, type: 'TensorProto', repeated: true },
    doc_string: { no: 10, type: 'string' },
    input: { no: 11, type: 'ValueInfoProto', repeated: true },
    output: { no: 12, type: 'ValueInfoProto', repeated: true },
    value_info: { no: 13, type: 'ValueInfoProto', repeated: true },
  },
  NodeProto: {
    input: { no: 1, type: 'string', repeated: true },
    output: { no: 2, type: 'string', repeated: true },
    name: { no: 3, type: 'string' },
    op_type: { no: 4, type: 'string' },
    attribute: { no: 5, type: 'AttributeProto', repeated: true },
    doc_string: { no: 6, type: 'string' },
    domain: { no: 7, type: 'string' },
  },
  AttributeProto: {
    name: { no: 1, type: 'string' },
    f: { no: 2, type: 'float' },
    i: { no: 3, type: 'int64' },
    s: { no: 4, type: 'bytes' },
    t: { no: 5, type: 'TensorProto' },
    g: { no: 6, type: 'GraphProto' },
    floats: { no: 7, type: 'float', repeated: true, packed: true },
    ints: { no: 8, type: 'int64', repeated: true, packed: true },
    strings: { no: 9, type: 'bytes', repeated: true },
    doc_string: { no: 13, type: 'string' },
    type: { no: 20, type: 'int32' },
  },
  TensorProto: {
    dims: { no: 1, type: 'int64', repeated: true, packed: true },
    data_type: { no: 2, type: 'int32' },
    float_data: { no: 4, type: 'float', repeated: true, packed: true },
    int32_data: { no: 5, type: 'int32', repeated: true, packed: true },
    int64_data: { no: 7, type: 'int64', repeated: true, packed: true },
    name: { no: 8, type: 'string' },
    raw_data: { no: 9, type: 'bytes' },
    doc_string: { no: 12, type: 'string' },
  },
  ValueInfoProto: {
    name: { no: 1, type: 'string' },
    type: { no: 2, type: 'TypeProto' },
    doc_string: { no: 3, type: 'string' },
  },
  TypeProto: {
    tensor_type: { no: 1, type: 'TypeProto.Tensor' },
    denotation: { no: 6, type: 'string' },
  },
  'TypeProto.Tensor': {
    elem_type: { no: 1, type: 'int32' },
    shape: { no: 2, type: 'TensorShapeProto' },
  },
  TensorShapeProto: {
    dim: { no: 1, type: 'TensorShapeProto.Dimension', repeated: true },
  },
  'TensorShapeProto.Dimension': {
    dim_value: { no: 1, type: 'int64' },
    dim_param: { no: 2, type: 'string' },
    denotation: { no: 3, type: 'string' },
  },
};

/** TensorProto.DataType values used here. */
export const DataType = {
  FLOAT: 1,
  UINT8: 2,
  INT32: 6,
  INT64: 7,
  BOOL: 9,
  DOUBLE: 11,
} as const;
/** AttributeProto.AttributeType values used here. */
export const AttrType = {
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  GRAPH: 5,
  FLOATS: 6,
  INTS: 7,
  STRINGS: 8,
} as const;

/** A message as a plain object: field name -> value (arrays for repeated fields). */
export type Message = { [field: string]: unknown };

const SCALARS = new Set<string>(['int64', 'int32', 'float', 'string', 'bytes']);

// ---------------------------------------------------------------------------------------------
// encoding

class Writer {
  private chunks: Uint8Array[] = [];
  private buf = new Uint8Array(1024);
  private pos = 0;
  length = 0;

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    this.flush();
    if (n > this.buf.length) this.buf = new Uint8Array(Math.max(n, 2 * this.buf.length));
  }
  private flush(): void {
    if (this.pos > 0) this.chunks.push(this.buf.slice(0, this.pos));
    this.pos = 0;
  }
  byte(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
    this.length++;
  }
  /** unsigned varint from a non-negative number or bigint */
  varint(v: number | bigint): void {
    let x = BigInt.asUintN(64, BigInt(v));
    if (typeof v === 'number' && v >= 0 && v < 2 ** 31) {
      let n = v;
      while (n > 0x7f) {
        this.byte((n & 0x7f) | 0x80);
        n >>>= 7;
      }
      this.byte(n);
      return;
    }
    while (x > 0x7fn) {
      this.byte(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    this.byte(Number(x));
  }
  bytes(b: Uint8Array): void {
    if (b.length > 4096) {
      this.flush();
      this.chunks.push(b);
      this.length += b.length;
      return;
    }
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    this.length += b.length;
  }
  float32(f: number): void {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, f, true);
    this.bytes(b);
  }
  finish(): Uint8Array {
    this.flush();
    const out = new Uint8Array(this.length);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }
}

const utf8 = new TextEncoder();

function tag(w: Writer, no: number, wire: number): void {
  w.varint((no << 3) | wire);
}

function writeScalar(w: Writer, type: Scalar, no: number, v: unknown): void {
  switch (type) {
    case 'int64':
    case 'int32':
      tag(w, no, 0);
      w.varint(v as number | bigint);
      return;
    case 'float':
      tag(w, no, 5);
      w.float32(v as number);
      return;
    case 'string':
    case 'bytes': {
      const b = typeof v === 'string' ? utf8.encode(v) : (v as Uint8Array);
      tag(w, no, 2);
      w.varint(b.length);
      w.bytes(b);
      return;
    }
  }
}

function encodeInto(w: Writer, name: MessageName, msg: Message): void {
  const desc = SCHEMA[name];
  for (const [field, value] of Object.entries(msg)) {
    if (value === undefined || value === null) continue;
    const f = desc[field];
    if (!f) throw new Error(`onnx proto: ${name} has no field ${field}`);
    const values = f.repeated ? (value as ArrayLike<unknown>) : [value];
    if (!f.repeated && Array.isArray(value)) throw new Error(`onnx proto: ${name}.${field} is not repeated`);
    if (f.packed) {
      if (values.length === 0) continue;
      const inner = new Writer();
      for (let i = 0; i < values.length; i++) {
        if (f.type === 'float') inner.float32(values[i] as number);
        else inner.varint(values[i] as number | bigint);
      }
      const b = inner.finish();
      tag(w, f.no, 2);
      w.varint(b.length);
      w.bytes(b);
      continue;
    }
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (SCALARS.has(f.type)) writeScalar(w, f.type as Scalar, f.no, v);
      else {
        const b = encodeMessage(f.type as MessageName, v as Message);
        tag(w, f.no, 2);
        w.varint(b.length);
        w.bytes(b);
      }
    }
  }
}

/** Encode a message to protobuf wire bytes. */
export function encodeMessage(name: MessageName, msg: Message): Uint8Array {
  const w = new Writer();
  encodeInto(w, name, msg);
  return w.finish();
}

// ---------------------------------------------------------------------------------------------
// decoding (tests and inspection)

class Reader {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }
  varint(): bigint {
    let x = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.end) throw new Error('onnx proto: truncated varint');
      const b = this.buf[this.pos++];
      x |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return x;
      shift += 7n;
    }
  }
}

function toNumber(x: bigint, type: Scalar): number {
  return type === 'int32' ? Number(BigInt.asIntN(32, x)) : Number(BigInt.asIntN(64, x));
}

const utf8d = new TextDecoder();

/** Decode wire bytes as a message of the table; unknown fields are skipped. int64 become numbers. */
export function decodeMessage(name: MessageName, buf: Uint8Array, start = 0, end = buf.length): Message {
  const desc = SCHEMA[name];
  const byNo = new Map<number, [string, FieldDesc]>();
  for (const [k, f] of Object.entries(desc)) byNo.set(f.no, [k, f]);
  const out: Message = {};
  for (const [k, f] of Object.entries(desc)) if (f.repeated) out[k] = [];
  const r = new Reader(buf, start, end);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  while (r.pos < end) {
    const t = Number(r.varint());
    const no = t >>> 3;
    const wire = t & 7;
    const entry = byNo.get(no);
    let value: unknown;
    let values: unknown[] | null = null;
    if (wire === 0) {
      const x = r.varint();
      value = entry ? toNumber(x, entry[1].type as Scalar) : undefined;
    } else if (wire === 5) {
      value = view.getFloat32(r.pos, true);
      r.pos += 4;
    } else if (wire === 1) {
      value = view.getFloat64(r.pos, true);
      r.pos += 8;
    } else if (wire === 2) {
      const len = Number(r.varint());
      const s = r.pos;
      r.pos += len;
      if (r.pos > end) throw new Error(`onnx proto: ${name} field ${no} overruns its message`);
      if (entry) {
        const f = entry[1];
        if (f.packed) {
          values = [];
          if (f.type === 'float') for (let p = s; p < s + len; p += 4) values.push(view.getFloat32(p, true));
          else {
            const inner = new Reader(buf, s, s + len);
            while (inner.pos < s + len) values.push(toNumber(inner.varint(), f.type as Scalar));
          }
        } else if (f.type === 'string') value = utf8d.decode(buf.subarray(s, s + len));
        else if (f.type === 'bytes') value = buf.subarray(s, s + len);
        else value = decodeMessage(f.type as MessageName, buf, s, s + len);
      }
    } else throw new Error(`onnx proto: unsupported wire type ${wire} in ${name}`);
    if (!entry) continue;
    const [k, f] = entry;
    if (f.repeated) (out[k] as unknown[]).push(...(values ?? [value]));
    else out[k] = value;
  }
  return out;
}
