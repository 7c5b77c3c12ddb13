/**
 * A small builder for ONNX graphs: nodes with generated value names, float/int64 initializers,
 * typed graph inputs and outputs, serialised through proto.ts.
 */
import { AttrType, DataType, encodeMessage, type Message } from './proto.js';

/** An attribute value: integers, float (wrap with `float()`), int lists, float lists, strings. */
export type AttrValue = number | { float: number } | number[] | { floats: number[] } | string;
export const float = (x: number): { float: number } => ({ float: x });

export type ElemType = 'float' | 'int64' | 'bool';
const ELEM: Record<ElemType, number> = {
  float: DataType.FLOAT,
  int64: DataType.INT64,
  bool: DataType.BOOL,
};

/** A dimension: a fixed size or a symbolic name (dynamic axis). */
export type Dim = number | string;

function attribute(name: string, v: AttrValue): Message {
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new Error(`attribute ${name}: ${v} is not an integer; wrap floats with float()`);
    return { name, type: AttrType.INT, i: v };
  }
  if (typeof v === 'string') return { name, type: AttrType.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: AttrType.INTS, ints: v };
  if ('float' in v) return { name, type: AttrType.FLOAT, f: v.float };
  return { name, type: AttrType.FLOATS, floats: v.floats };
}

function valueInfo(name: string, elem: ElemType, dims: Dim[]): Message {
  return {
    name,
    type: {
      tensor_type: {
        elem_type: ELEM[elem],
        shape: {
          dim: dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })),
        },
      },
    },
  };
}

export class GraphBuilder {
  readonly nodes: Message[] = [];
  readonly initializers: Message[] = [];
  readonly inputs: Message[] = [];
  readonly outputs: Message[] = [];
  private counter = 0;
  private constCache = new Map<string, string>();
  private names = new Set<string>();

  /** A fresh value name. */
  fresh(hint: string): string {
    let n: string;
    do n = `${hint}_${this.counter++}`;
    while (this.names.has(n));
    this.names.add(n);
    return n;
  }

  input(name: string, elem: ElemType, dims: Dim[]): string {
    this.names.add(name);
    this.inputs.push(valueInfo(name, elem, dims));
    return name;
  }

  /** Declare `value` as a graph output under `name` (an Identity node renames it). */
  output(name: string, value: string, elem: ElemType, dims: Dim[]): void {
    this.names.add(name);
    this.nodes.push({
      input: [value],
      output: [name],
      op_type: 'Identity',
      name: `out_${name}`,
    });
    this.outputs.push(valueInfo(name, elem, dims));
  }

  /** One node with a single output. */
  op(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, hint = opType.toLowerCase()): string {
    return this.opN(opType, inputs, 1, attrs, hint)[0];
  }

  /** One node with `outputs` outputs. */
  opN(
    opType: string,
    inputs: string[],
    outputs: number,
    attrs: Record<string, AttrValue> = {},
    hint = opType.toLowerCase(),
  ): string[] {
    const outs = Array.from({ length: outputs }, () => this.fresh(hint));
    this.nodes.push({
      input: inputs,
      output: outs,
      name: `${opType}_${this.nodes.length}`,
      op_type: opType,
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return outs;
  }

  /** A float32 initializer. */
  tensor(hint: string, data: Float32Array | number[], dims: number[]): string {
    const n = dims.reduce((a, b) => a * b, 1);
    const arr = data instanceof Float32Array ? data : Float32Array.from(data);
    if (arr.length !== n) throw new Error(`initializer ${hint}: ${arr.length} values for shape [${dims.join(', ')}]`);
    const name = this.fresh(hint);
    const raw = new Uint8Array(arr.buffer.slice(arr.byteOffset, arr.byteOffset + arr.byteLength));
    this.initializers.push({
      name,
      dims,
      data_type: DataType.FLOAT,
      raw_data: raw,
    });
    return name;
  }

  /** A cached small int64 constant (shapes, axes, indices); dims [] for a scalar. */
  i64(values: number[], dims: number[] = [values.length]): string {
    const key = `i64:${dims.join('x')}:${values.join(',')}`;
    let name = this.constCache.get(key);
    if (!name) {
      name = this.fresh('const_i64');
      this.initializers.push({
        name,
        dims,
        data_type: DataType.INT64,
        int64_data: values,
      });
      this.constCache.set(key, name);
    }
    return name;
  }

  /** A cached float scalar or small vector constant. */
  f32(values: number[], dims: number[] = [values.length]): string {
    const key = `f32:${dims.join('x')}:${values.join(',')}`;
    let name = this.constCache.get(key);
    if (!name) {
      name = this.tensor('const_f32', values, dims);
      this.constCache.set(key, name);
    }
    return name;
  }

  /** A bool constant. */
  bool(values: boolean[], dims: number[] = [values.length]): string {
    const name = this.fresh('const_bool');
    this.initializers.push({
      name,
      dims,
      data_type: DataType.BOOL,
      raw_data: Uint8Array.from(values.map((v) => (v ? 1 : 0))),
    });
    return name;
  }

  graph(name: string): Message {
    return {
      node: this.nodes,
      name,
      initializer: this.initializers,
      input: this.inputs,
      output: this.outputs,
    };
  }
}

export interface ModelMeta {
  producer: string;
  producerVersion: string;
  opset: number;
  irVersion: number;
  doc?: string;
  metadata: Record<string, string>;
}

export function serializeModel(g: GraphBuilder, graphName: string, meta: ModelMeta): Uint8Array {
  return encodeMessage('ModelProto', {
    ir_version: meta.irVersion,
    producer_name: meta.producer,
    producer_version: meta.producerVersion,
    doc_string: meta.doc,
    graph: g.graph(graphName),
    opset_import: [{ domain: '', version: meta.opset }],
    metadata_props: Object.entries(meta.metadata).map(([key, value]) => ({
      key,
      value,
    })),
  });
}
