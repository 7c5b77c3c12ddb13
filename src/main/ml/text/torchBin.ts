/**
 * pytorch_model.bin (torch.save's zip format, torch >= 1.6) through a restricted unpickler.
 *
 * Layout (torch/serialization.py _save): <archive>/data.pkl is a pickle of the state dict in which
 * each tensor is torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad,
 * backward_hooks) and each storage a persistent id ('storage', torch.FloatStorage, key, location,
 * numel) whose bytes are <archive>/data/<key>. A pickle can name any Python callable, and
 * torch.load without weights_only runs it; here the allow-list is exactly what a state dict
 * needs (the two rebuild functions, the storage classes as markers, collections.OrderedDict), so
 * a checkpoint naming anything else (os.system, builtins.eval, ...) is refused when the global is
 * read, before anything could be called. Nothing is ever executed either way: the "calls" are JS
 * functions building descriptions of tensors.
 */
import {
  unpickle,
  PyGlobal,
  isTuple,
  resolverFromTable,
  type GlobalImpl,
  type UnpickleContext,
} from '../../data/pickle';
import { TextModelError } from './config';
import type { HostTensor } from './weights';
import { ZipReader } from './zip';
import { halfToFloat } from '../io/safetensors';

type StorageDType =
  'float32' | 'float16' | 'bfloat16' | 'float64' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

/** torch.<Name>Storage -> element type (torch/storage.py _pickle_storage_type names) */
const STORAGES: Record<string, StorageDType> = {
  FloatStorage: 'float32',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  DoubleStorage: 'float64',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ShortStorage: 'int16',
  CharStorage: 'int8',
  ByteStorage: 'uint8',
  BoolStorage: 'bool',
};
const ITEMSIZE: Record<StorageDType, number> = {
  float32: 4,
  float16: 2,
  bfloat16: 2,
  float64: 8,
  int64: 8,
  int32: 4,
  int16: 2,
  int8: 1,
  uint8: 1,
  bool: 1,
};

class StorageRef {
  constructor(
    readonly key: string,
    readonly dtype: StorageDType,
    readonly numel: number,
  ) {}
}

export class TensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly shape: number[],
    readonly stride: number[],
  ) {}
}

function intList(x: unknown, what: string, ctx: UnpickleContext): number[] {
  if (!isTuple(x) || !x.every((d) => typeof d === 'number' && Number.isInteger(d) && d >= 0))
    throw ctx.fail(`_rebuild_tensor_v2: ${what} is not a tuple of non-negative integers`);
  return [...(x as readonly number[])];
}

const rebuildTensor: GlobalImpl = {
  call: (args, ctx) => {
    const [storage, offset, size, stride] = args;
    if (!(storage instanceof StorageRef))
      throw ctx.fail('_rebuild_tensor_v2: the first argument is not a tensor storage');
    if (typeof offset !== 'number' || !Number.isInteger(offset) || offset < 0)
      throw ctx.fail('_rebuild_tensor_v2: storage offset is not a non-negative integer');
    const shape = intList(size, 'size', ctx);
    const strides = intList(stride, 'stride', ctx);
    if (shape.length !== strides.length) throw ctx.fail('_rebuild_tensor_v2: size and stride have different lengths');
    // the last element addressed must lie inside the storage
    const last = offset + shape.reduce((acc, d, i) => acc + (d > 0 ? (d - 1) * strides[i] : 0), 0);
    if (shape.every((d) => d > 0) && last >= storage.numel)
      throw ctx.fail(
        `_rebuild_tensor_v2: tensor [${shape.join(', ')}] at offset ${offset} runs past its storage of ${storage.numel} elements`,
      );
    return new TensorRef(storage, offset, shape, strides);
  },
};

const TORCH_GLOBALS: Record<string, GlobalImpl> = {
  'torch._utils._rebuild_tensor_v2': rebuildTensor,
  // nn.Parameter saved directly: (data, requires_grad, backward_hooks) -> the data
  'torch._utils._rebuild_parameter': {
    call: (args, ctx) => {
      if (!(args[0] instanceof TensorRef)) throw ctx.fail('_rebuild_parameter: the first argument is not a tensor');
      return args[0];
    },
  },
  'collections.OrderedDict': { call: () => new Map(), newObj: () => new Map() },
};
// storage classes only appear as markers inside persistent ids; they cannot be called
for (const name of Object.keys(STORAGES)) TORCH_GLOBALS[`torch.${name}`] = {};
const resolveTorchGlobal = resolverFromTable(TORCH_GLOBALS);

function persistentLoad(pid: unknown): StorageRef {
  if (!isTuple(pid) || pid.length !== 5 || pid[0] !== 'storage')
    throw new Error(`persistent id ${describe(pid)} is not a tensor storage`);
  const [, type, key, , numel] = pid;
  if (!(type instanceof PyGlobal) || type.module !== 'torch' || !(type.name in STORAGES))
    throw new Error(`persistent id names storage type ${describe(type)}, not a torch tensor storage`);
  if (typeof key !== 'string' || !/^[\w.-]+$/.test(key))
    throw new Error(`storage key ${describe(key)} is not a plain name`);
  if (typeof numel !== 'number' || !Number.isInteger(numel) || numel < 0)
    throw new Error(`storage ${key}: element count ${describe(numel)} is not an integer`);
  return new StorageRef(key, STORAGES[type.name], numel);
}

function describe(x: unknown): string {
  if (x instanceof PyGlobal) return x.qualname;
  try {
    return JSON.stringify(x)?.slice(0, 80) ?? String(x);
  } catch {
    return String(x);
  }
}

interface OpenedBin {
  zip: ZipReader;
  prefix: string;
  tensors: Map<string, TensorRef>;
}

async function openBin(file: string): Promise<OpenedBin> {
  const zip = new ZipReader(file);
  try {
    const pkls = [...zip.entries.keys()].filter((n) => /^[^/]+\/data\.pkl$/.test(n));
    if (pkls.length !== 1)
      throw new TextModelError(
        `${file}: not a PyTorch checkpoint (expected one <archive>/data.pkl entry, found ${pkls.length})`,
        { file },
      );
    const prefix = pkls[0].slice(0, -'data.pkl'.length);
    if (
      zip.entries.has(`${prefix}byteorder`) &&
      zip.readEntry(`${prefix}byteorder`).toString('utf8').trim() !== 'little'
    ) {
      throw new TextModelError(`${file}: written on a big-endian machine, which is not supported`, { file });
    }
    let root: unknown;
    try {
      root = await unpickle(zip.readEntry(pkls[0]), {
        file: `${file} (${pkls[0]})`,
        resolveGlobal: resolveTorchGlobal,
        persistentLoad,
      });
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      throw new TextModelError(msg.startsWith(file) ? msg : `${file}: ${msg}`, { file });
    }
    // HF writes the state dict itself; training scripts often wrap it as {"state_dict": ...} or {"model": ...}
    if (root instanceof Map && ![...root.values()].some((v) => v instanceof TensorRef)) {
      const wrapper: Map<unknown, unknown> = root;
      for (const k of ['state_dict', 'model', 'module']) if (wrapper.get(k) instanceof Map) root = wrapper.get(k);
    }
    if (!(root instanceof Map))
      throw new TextModelError(`${file}: the pickle does not hold a state dict (a dict of tensors)`, { file });
    const tensors = new Map<string, TensorRef>();
    for (const [k, v] of root) if (typeof k === 'string' && v instanceof TensorRef) tensors.set(k, v);
    if (tensors.size === 0) throw new TextModelError(`${file}: the state dict holds no tensors`, { file });
    return { zip, prefix, tensors };
  } catch (e) {
    zip.close();
    throw e;
  }
}

/** Names and shapes, without reading any tensor data (for inspectModelFolder). */
export async function listTorchBinTensors(file: string): Promise<Map<string, number[]>> {
  const { zip, tensors } = await openBin(file);
  zip.close();
  return new Map([...tensors].map(([n, t]) => [n, t.shape]));
}

function decodeStorage(bytes: Buffer, dtype: StorageDType): Float64Array | Float32Array {
  const n = bytes.length / ITEMSIZE[dtype];
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dtype === 'float32') {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = dv.getFloat32(i * 4, true);
    return out;
  }
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    switch (dtype) {
      case 'float16':
        out[i] = halfToFloat(dv.getUint16(i * 2, true));
        break;
      case 'bfloat16':
        out[i] = new Float32Array(new Uint32Array([dv.getUint16(i * 2, true) << 16]).buffer)[0];
        break;
      case 'float64':
        out[i] = dv.getFloat64(i * 8, true);
        break;
      case 'int64':
        out[i] = Number(dv.getBigInt64(i * 8, true));
        break;
      case 'int32':
        out[i] = dv.getInt32(i * 4, true);
        break;
      case 'int16':
        out[i] = dv.getInt16(i * 2, true);
        break;
      case 'int8':
        out[i] = dv.getInt8(i);
        break;
      default:
        out[i] = dv.getUint8(i);
    }
  }
  return out;
}

/** Every tensor of the checkpoint as float32, in row-major order (strided views are gathered). */
export async function readTorchBin(file: string): Promise<Map<string, HostTensor>> {
  const { zip, prefix, tensors } = await openBin(file);
  try {
    const storages = new Map<string, Float32Array | Float64Array>();
    const out = new Map<string, HostTensor>();
    for (const [name, t] of tensors) {
      let values = storages.get(t.storage.key);
      if (!values) {
        const entry = `${prefix}data/${t.storage.key}`;
        if (!zip.entries.has(entry))
          throw new TextModelError(`${file}: tensor ${name}: storage entry ${entry} is missing from the archive`, {
            file,
            tensor: name,
          });
        const bytes = zip.readEntry(entry);
        const need = t.storage.numel * ITEMSIZE[t.storage.dtype];
        if (bytes.length < need)
          throw new TextModelError(
            `${file}: tensor ${name}: storage ${entry} has ${bytes.length} bytes, its ${t.storage.dtype} x ${t.storage.numel} needs ${need}`,
            { file, tensor: name },
          );
        values = decodeStorage(bytes.subarray(0, need), t.storage.dtype);
        storages.set(t.storage.key, values);
      }
      const count = t.shape.reduce((a, b) => a * b, 1);
      const data = new Float32Array(count);
      const contiguous = t.shape.every(
        (_, i) => t.stride[i] === t.shape.slice(i + 1).reduce((a, b) => a * b, 1) || t.shape[i] === 1,
      );
      if (contiguous) data.set(values.subarray(t.offset, t.offset + count));
      else {
        const idx = new Array<number>(t.shape.length).fill(0);
        for (let i = 0; i < count; i++) {
          let src = t.offset;
          for (let d = 0; d < idx.length; d++) src += idx[d] * t.stride[d];
          data[i] = values[src];
          for (let d = idx.length - 1; d >= 0; d--) {
            if (++idx[d] < t.shape[d]) break;
            idx[d] = 0;
          }
        }
      }
      out.set(name, { shape: t.shape, data });
    }
    return out;
  } finally {
    zip.close();
  }
}
