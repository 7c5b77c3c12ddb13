/**
 * The pure-data Python globals every pickle may use: constructors of builtin containers and the
 * helpers CPython's pickler emits for them at low protocols. None of them can reach the host.
 */
import { DiskBytes } from '../stream';
import { PyGlobal, PyObject, isTuple, resolverFromTable, type GlobalImpl, type GlobalResolver } from './types';

function toBytes(x: unknown, encoding: unknown, fail: (m: string) => Error): Uint8Array | DiskBytes {
  if (x instanceof Uint8Array) return x;
  if (x instanceof DiskBytes) {
    if (x.encoding === 'utf8' && (encoding === 'latin1' || encoding === 'latin-1'))
      return new DiskBytes(x.path, x.offset, x.length, 'latin1-of-utf8');
    if (x.encoding === 'bytes') return x;
    throw fail(`cannot encode a large string with ${String(encoding)}`);
  }
  if (typeof x === 'string') {
    if (encoding === 'latin1' || encoding === 'latin-1' || encoding === undefined) {
      const out = new Uint8Array(x.length);
      for (let i = 0; i < x.length; i++) {
        const c = x.charCodeAt(i);
        if (c > 255) throw fail('string is not latin-1 encodable');
        out[i] = c;
      }
      return out;
    }
    if (encoding === 'utf8' || encoding === 'utf-8') return Buffer.from(x, 'utf8');
    throw fail(`unsupported encoding ${String(encoding)}`);
  }
  if (Array.isArray(x)) return Uint8Array.from(x as number[]);
  if (x === undefined) return new Uint8Array(0);
  throw fail('cannot make bytes from this value');
}

function pairsToMap(src: unknown): Map<unknown, unknown> {
  const m = new Map();
  if (src instanceof Map) for (const [k, v] of src) m.set(k, v);
  else if (Array.isArray(src)) for (const p of src) if (Array.isArray(p) && p.length === 2) m.set(p[0], p[1]);
  return m;
}

const table: Record<string, GlobalImpl> = {
  '_codecs.encode': { call: (a, ctx) => toBytes(a[0], a[1], (m) => ctx.fail(`_codecs.encode: ${m}`)) },
  'builtins.bytes': { call: (a, ctx) => toBytes(a[0], a[1], (m) => ctx.fail(`bytes(): ${m}`)) },
  'builtins.bytearray': { call: (a, ctx) => toBytes(a[0], a[1], (m) => ctx.fail(`bytearray(): ${m}`)) },
  'builtins.set': { call: (a) => new Set((a[0] as unknown[] | undefined) ?? []) },
  'builtins.frozenset': { call: (a) => new Set((a[0] as unknown[] | undefined) ?? []) },
  'builtins.list': { call: (a) => [...((a[0] as unknown[] | undefined) ?? [])] },
  'builtins.dict': { call: (a) => pairsToMap(a[0]) },
  'builtins.object': {},
  'collections.OrderedDict': { call: (a) => pairsToMap(a[0]), newObj: () => new Map() },
  // protocol 0/1 instances: _reconstructor(cls, object, None) -> cls.__new__(cls); cls itself must be allowed
  'copyreg._reconstructor': {
    call: (a, ctx) => {
      const cls = a[0];
      if (!(cls instanceof PyGlobal)) throw ctx.fail('copyreg._reconstructor needs an allowed class');
      if (cls.impl.newObj) return cls.impl.newObj([], undefined, ctx);
      if (cls.impl.plain) return new PyObject(cls, []);
      throw ctx.fail(`the allowed global '${cls.qualname}' cannot be instantiated`);
    },
  },
};

// Python 2 module names, as pickles written by Python 2 (or fix_imports) name them
const py2: Record<string, string> = {
  '__builtin__.bytes': 'builtins.bytes',
  '__builtin__.list': 'builtins.list',
  '__builtin__.dict': 'builtins.dict',
  '__builtin__.set': 'builtins.set',
  '__builtin__.frozenset': 'builtins.frozenset',
  '__builtin__.bytearray': 'builtins.bytearray',
  '__builtin__.object': 'builtins.object',
  'copy_reg._reconstructor': 'copyreg._reconstructor',
};
for (const [k, v] of Object.entries(py2)) table[k] = table[v];

export const safeBuiltins: GlobalResolver = resolverFromTable(table);

export { isTuple };
