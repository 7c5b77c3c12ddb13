/**
 * A Python pickle virtual machine (protocols 0..5) that builds plain JS values and never executes
 * anything: every global a pickle names is looked up through the caller's allow-list resolver,
 * and a global that is not allowed raises PickleSecurityError when its GLOBAL / STACK_GLOBAL /
 * INST opcode is read, i.e. before any REDUCE could use it.
 *
 * Streaming: input comes through a ByteReader (chunked file reads), and any bytes/str payload at
 * or above `spill.threshold` is piped to a spill file and appears as DiskBytes, so peak memory
 * does not grow with the size of the arrays in the pickle.
 */
import { DataImportError, ImportCancelledError, PickleSecurityError } from '../errors';
import {
  ByteReader,
  DiskBytes,
  TruncatedError,
  type ReaderOptions,
  type SpillWriter,
  type Compression,
} from '../stream';
import { PyGlobal, PyObject, isStateful, isTuple, tuple, type GlobalResolver, type UnpickleContext } from './types';
import { safeBuiltins } from './builtins';

export interface SpillOptions {
  /** payloads of at least this many bytes go to disk */
  threshold: number;
  open(length: number, encoding: 'bytes' | 'utf8'): Promise<SpillWriter>;
}

export interface UnpickleOptions {
  /** named in every error */
  file?: string;
  /** the allow-list; defaults to `safeBuiltins` (pure data types only). Compose with composeResolvers. */
  resolveGlobal?: GlobalResolver;
  /** PERSID / BINPERSID (PyTorch storages); without it such pickles are refused */
  persistentLoad?: (pid: unknown) => unknown | Promise<unknown>;
  spill?: SpillOptions;
  /** refuse in-memory payloads larger than this when no spill is configured (default 1 GiB) */
  maxInMemory?: number;
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

function decodeLong(b: Uint8Array): number | bigint {
  if (b.length === 0) return 0;
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
  if (b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
  return v <= MAX_SAFE && v >= -MAX_SAFE ? Number(v) : v;
}

/** Python's repr-quoted string literal (protocol 0 STRING) */
function unquote(s: string): string {
  s = s.trim();
  const q = s[0];
  if ((q !== "'" && q !== '"') || s[s.length - 1] !== q) throw new Error('STRING argument is not quoted');
  s = s.slice(1, -1);
  return s.replace(/\\(x[0-9a-fA-F]{2}|[0-7]{1,3}|.)/g, (_m, e: string) => {
    if (e[0] === 'x') return String.fromCharCode(parseInt(e.slice(1), 16));
    if (/^[0-7]/.test(e)) return String.fromCharCode(parseInt(e, 8));
    const map: Record<string, string> = {
      n: '\n',
      r: '\r',
      t: '\t',
      '\\': '\\',
      "'": "'",
      '"': '"',
      a: '\x07',
      b: '\b',
      f: '\f',
      v: '\v',
    };
    return map[e] ?? '\\' + e;
  });
}

/** protocol-0 UNICODE uses raw-unicode-escape */
function rawUnicodeEscape(s: string): string {
  return s.replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_m, a?: string, b?: string) =>
    String.fromCodePoint(parseInt(a ?? b!, 16)),
  );
}

export class PickleVM implements UnpickleContext {
  readonly file: string;
  private readonly resolve: GlobalResolver;
  private opStart = 0;
  private op = 0;

  constructor(
    private readonly r: ByteReader,
    private readonly opts: UnpickleOptions,
  ) {
    this.file = opts.file ?? r.file;
    this.resolve = opts.resolveGlobal ?? safeBuiltins;
  }

  fail(problem: string): Error {
    return new DataImportError(
      { file: this.file },
      `${problem} (pickle opcode 0x${this.op.toString(16).padStart(2, '0')} at byte ${this.opStart})`,
    );
  }

  private global(module: string, name: string): PyGlobal {
    const g = this.resolve(module, name);
    if (!g) throw new PickleSecurityError(this.file, module, name);
    return g;
  }

  private async payload(n: number, encoding: 'bytes' | 'utf8'): Promise<Uint8Array | DiskBytes> {
    const sp = this.opts.spill;
    if (sp && n >= sp.threshold) {
      const w = await sp.open(n, encoding);
      try {
        await this.r.pipe(n, (c) => w.write(c));
      } catch (e) {
        await w.abort();
        throw e;
      }
      return w.close();
    }
    const max = this.opts.maxInMemory ?? 1 << 30;
    if (n > max) throw this.fail(`a ${n}-byte payload exceeds the in-memory limit of ${max} bytes`);
    return this.r.bytes(n);
  }

  private async str(n: number): Promise<string | DiskBytes> {
    const p = await this.payload(n, 'utf8');
    return p instanceof DiskBytes ? p : Buffer.from(p.buffer, p.byteOffset, p.byteLength).toString('utf8');
  }

  /** py2 str (STRING/BINSTRING): latin1, which is byte-exact, so numpy data in it survives */
  private async binstr(n: number): Promise<string | DiskBytes> {
    const p = await this.payload(n, 'bytes');
    return p instanceof DiskBytes ? p : Buffer.from(p.buffer, p.byteOffset, p.byteLength).toString('latin1');
  }

  readRaw(n: number): Promise<Uint8Array | DiskBytes> {
    return this.payload(n, 'bytes');
  }
  skipRaw(n: number): Promise<void> {
    return this.r.skip(n);
  }
  unpickleNested(): Promise<unknown> {
    return new PickleVM(this.r, this.opts).run();
  }

  private async call(callable: unknown, args: readonly unknown[]): Promise<unknown> {
    if (!(callable instanceof PyGlobal)) throw this.fail('REDUCE on something that is not an allowed global');
    if (callable.impl.call) return callable.impl.call(args, this);
    if (callable.impl.plain) return new PyObject(callable, args);
    throw this.fail(`the allowed global '${callable.qualname}' cannot be called`);
  }

  private async newObj(cls: unknown, args: readonly unknown[], kwargs?: Map<unknown, unknown>): Promise<unknown> {
    if (!(cls instanceof PyGlobal)) throw this.fail('NEWOBJ on something that is not an allowed class');
    if (cls.impl.newObj) return cls.impl.newObj(args, kwargs, this);
    if (cls.impl.plain) return new PyObject(cls, args);
    throw this.fail(`the allowed global '${cls.qualname}' cannot be instantiated`);
  }

  private async build(inst: unknown, state: unknown): Promise<unknown> {
    if (isStateful(inst)) return inst.__setstate__(state, this);
    if (inst instanceof PyObject) {
      let dict = state;
      let slots: unknown = null;
      if (isTuple(state) && state.length === 2) [dict, slots] = state;
      for (const d of [dict, slots]) {
        if (d === null || d === undefined) continue;
        if (!(d instanceof Map)) throw this.fail(`BUILD state for '${inst.cls.qualname}' is not a dict`);
        for (const [k, v] of d) inst.attrs.set(String(k), v);
      }
      return undefined;
    }
    if (inst instanceof Map && state instanceof Map) {
      for (const [k, v] of state) inst.set(k, v);
      return undefined;
    }
    throw this.fail('BUILD on an object that cannot take state');
  }

  /** Run until STOP; returns the unpickled value. */
  async run(): Promise<unknown> {
    const r = this.r;
    const stack: unknown[] = [];
    const marks: number[] = [];
    const memo = new Map<number, unknown>();
    const popMark = (): unknown[] => {
      const m = marks.pop();
      if (m === undefined) throw this.fail('MARK expected on the stack');
      return stack.splice(m);
    };
    const top = (): unknown => {
      if (stack.length === 0 || (marks.length && marks[marks.length - 1] >= stack.length))
        throw this.fail('stack underflow');
      return stack[stack.length - 1];
    };
    const pop = (): unknown => {
      top();
      return stack.pop();
    };
    const need = async (n: number) => {
      if (r.avail() < n) await r.fill(n);
    };
    const getMemo = (i: number) => {
      if (!memo.has(i)) throw this.fail(`memo key ${i} is not defined`);
      return memo.get(i);
    };
    const setItems = (d: unknown, items: unknown[]) => {
      if (!(d instanceof Map)) throw this.fail('SETITEM(S) on something that is not a dict');
      if (items.length % 2) throw this.fail('odd number of items for SETITEMS');
      for (let i = 0; i < items.length; i += 2) d.set(items[i], items[i + 1]);
    };
    const appendTo = (l: unknown, items: unknown[]) => {
      if (!Array.isArray(l) || isTuple(l)) throw this.fail('APPEND(S) on something that is not a list');
      for (const x of items) l.push(x);
    };

    try {
      for (;;) {
        this.opStart = r.offset;
        await need(1);
        const op = (this.op = r.u8());
        switch (op) {
          case 0x80: {
            // PROTO
            await need(1);
            const v = r.u8();
            if (v > 5) throw this.fail(`unsupported pickle protocol ${v}`);
            break;
          }
          case 0x95: // FRAME: a length hint only; the stream is read straight through
            await need(8);
            r.u64();
            break;
          case 0x2e: {
            // STOP
            if (stack.length !== 1 || marks.length) {
              if (stack.length === 0) throw this.fail('STOP with an empty stack');
            }
            return stack.pop();
          }
          case 0x28: // MARK
            marks.push(stack.length);
            break;
          case 0x30: // POP
            if (marks.length && marks[marks.length - 1] === stack.length) marks.pop();
            else pop();
            break;
          case 0x31: // POP_MARK
            popMark();
            break;
          case 0x32: // DUP
            stack.push(top());
            break;
          // ---- numbers
          case 0x4e: // NONE
            stack.push(null);
            break;
          case 0x88: // NEWTRUE
            stack.push(true);
            break;
          case 0x89: // NEWFALSE
            stack.push(false);
            break;
          case 0x4b: // BININT1
            await need(1);
            stack.push(r.u8());
            break;
          case 0x4d: // BININT2
            await need(2);
            stack.push(r.u16());
            break;
          case 0x4a: // BININT
            await need(4);
            stack.push(r.i32());
            break;
          case 0x8a: {
            // LONG1
            await need(1);
            const n = r.u8();
            await need(n);
            stack.push(decodeLong(r.view(n)));
            break;
          }
          case 0x8b: {
            // LONG4
            await need(4);
            const n = r.i32();
            if (n < 0) throw this.fail('negative LONG4 length');
            stack.push(decodeLong(await r.bytes(n)));
            break;
          }
          case 0x47: // BINFLOAT
            await need(8);
            stack.push(r.f64be());
            break;
          case 0x49: {
            // INT (protocol 0); "00"/"01" are False/True
            const s = (await r.line()).trim();
            if (s === '00') stack.push(false);
            else if (s === '01') stack.push(true);
            else {
              const b = BigInt(s);
              stack.push(b <= MAX_SAFE && b >= -MAX_SAFE ? Number(b) : b);
            }
            break;
          }
          case 0x4c: {
            // LONG (protocol 0)
            const s = (await r.line()).trim().replace(/L$/, '');
            const b = BigInt(s);
            stack.push(b <= MAX_SAFE && b >= -MAX_SAFE ? Number(b) : b);
            break;
          }
          case 0x46: {
            // FLOAT (protocol 0)
            const s = (await r.line()).trim();
            const v = s === 'nan' ? NaN : s === 'inf' ? Infinity : s === '-inf' ? -Infinity : Number(s);
            if (Number.isNaN(v) && s !== 'nan') throw this.fail(`bad FLOAT literal ${JSON.stringify(s)}`);
            stack.push(v);
            break;
          }
          // ---- strings and bytes
          case 0x8c: {
            // SHORT_BINUNICODE
            await need(1);
            const n = r.u8();
            await need(n);
            stack.push(r.view(n).toString('utf8'));
            break;
          }
          case 0x58: {
            // BINUNICODE
            await need(4);
            stack.push(await this.str(r.u32()));
            break;
          }
          case 0x8d: {
            // BINUNICODE8
            await need(8);
            stack.push(await this.str(r.u64()));
            break;
          }
          case 0x56: // UNICODE (protocol 0)
            stack.push(rawUnicodeEscape(await r.line()));
            break;
          case 0x43: {
            // SHORT_BINBYTES
            await need(1);
            const n = r.u8();
            await need(n);
            stack.push(Buffer.from(r.view(n)));
            break;
          }
          case 0x42: {
            // BINBYTES
            await need(4);
            stack.push(await this.payload(r.u32(), 'bytes'));
            break;
          }
          case 0x8e: // BINBYTES8
          case 0x96: {
            // BYTEARRAY8
            await need(8);
            stack.push(await this.payload(r.u64(), 'bytes'));
            break;
          }
          case 0x55: {
            // SHORT_BINSTRING
            await need(1);
            const n = r.u8();
            await need(n);
            stack.push(r.view(n).toString('latin1'));
            break;
          }
          case 0x54: {
            // BINSTRING
            await need(4);
            const n = r.i32();
            if (n < 0) throw this.fail('negative BINSTRING length');
            stack.push(await this.binstr(n));
            break;
          }
          case 0x53: // STRING (protocol 0)
            stack.push(unquote(await r.line()));
            break;
          case 0x97: // NEXT_BUFFER
            throw this.fail(
              'out-of-band buffers (pickle protocol 5 NEXT_BUFFER) are not supported; save the file with in-band data',
            );
          case 0x98: // READONLY_BUFFER: only marks a buffer read-only
            top();
            break;
          // ---- containers
          case 0x29: // EMPTY_TUPLE
            stack.push(tuple([]));
            break;
          case 0x85: // TUPLE1
            stack.push(tuple([pop()]));
            break;
          case 0x86: {
            // TUPLE2
            const b = pop();
            const a = pop();
            stack.push(tuple([a, b]));
            break;
          }
          case 0x87: {
            // TUPLE3
            const c = pop();
            const b = pop();
            const a = pop();
            stack.push(tuple([a, b, c]));
            break;
          }
          case 0x74: // TUPLE
            stack.push(tuple(popMark()));
            break;
          case 0x5d: // EMPTY_LIST
            stack.push([]);
            break;
          case 0x6c: // LIST
            stack.push(popMark());
            break;
          case 0x61: {
            // APPEND
            const v = pop();
            appendTo(top(), [v]);
            break;
          }
          case 0x65: {
            // APPENDS
            const items = popMark();
            appendTo(top(), items);
            break;
          }
          case 0x7d: // EMPTY_DICT
            stack.push(new Map());
            break;
          case 0x64: {
            // DICT
            const d = new Map();
            setItems(d, popMark());
            stack.push(d);
            break;
          }
          case 0x73: {
            // SETITEM
            const v = pop();
            const k = pop();
            setItems(top(), [k, v]);
            break;
          }
          case 0x75: {
            // SETITEMS
            const items = popMark();
            setItems(top(), items);
            break;
          }
          case 0x8f: // EMPTY_SET
            stack.push(new Set());
            break;
          case 0x90: {
            // ADDITEMS
            const items = popMark();
            const s = top();
            if (!(s instanceof Set)) throw this.fail('ADDITEMS on something that is not a set');
            for (const x of items) s.add(x);
            break;
          }
          case 0x91: // FROZENSET
            stack.push(new Set(popMark()));
            break;
          // ---- memo
          case 0x94: // MEMOIZE
            memo.set(memo.size, top());
            break;
          case 0x71: // BINPUT
            await need(1);
            memo.set(r.u8(), top());
            break;
          case 0x72: // LONG_BINPUT
            await need(4);
            memo.set(r.u32(), top());
            break;
          case 0x70: // PUT
            memo.set(Number((await r.line()).trim()), top());
            break;
          case 0x68: // BINGET
            await need(1);
            stack.push(getMemo(r.u8()));
            break;
          case 0x6a: // LONG_BINGET
            await need(4);
            stack.push(getMemo(r.u32()));
            break;
          case 0x67: // GET
            stack.push(getMemo(Number((await r.line()).trim())));
            break;
          // ---- globals and objects
          case 0x63: {
            // GLOBAL
            const module = await r.line();
            const name = await r.line();
            stack.push(this.global(module, name));
            break;
          }
          case 0x93: {
            // STACK_GLOBAL
            const name = pop();
            const module = pop();
            if (typeof module !== 'string' || typeof name !== 'string')
              throw this.fail('STACK_GLOBAL needs two strings');
            stack.push(this.global(module, name));
            break;
          }
          case 0x69: {
            // INST (protocol 0): resolve before touching the arguments
            const module = await r.line();
            const name = await r.line();
            const g = this.global(module, name);
            const args = popMark();
            stack.push(await this.call(g, args));
            break;
          }
          case 0x6f: {
            // OBJ (protocol 1)
            const items = popMark();
            if (!items.length) throw this.fail('OBJ without a class');
            const [cls, ...args] = items;
            stack.push(await this.call(cls, args));
            break;
          }
          case 0x52: {
            // REDUCE
            const args = pop();
            const callable = pop();
            if (!isTuple(args)) throw this.fail('REDUCE arguments are not a tuple');
            stack.push(await this.call(callable, args));
            break;
          }
          case 0x81: {
            // NEWOBJ
            const args = pop();
            const cls = pop();
            if (!isTuple(args)) throw this.fail('NEWOBJ arguments are not a tuple');
            stack.push(await this.newObj(cls, args));
            break;
          }
          case 0x92: {
            // NEWOBJ_EX
            const kwargs = pop();
            const args = pop();
            const cls = pop();
            if (!isTuple(args) || !(kwargs instanceof Map)) throw this.fail('NEWOBJ_EX needs a tuple and a dict');
            stack.push(await this.newObj(cls, args, kwargs));
            break;
          }
          case 0x62: {
            // BUILD
            const state = pop();
            const inst = top();
            const replaced = await this.build(inst, state);
            if (replaced !== undefined) stack[stack.length - 1] = replaced;
            break;
          }
          case 0x50: {
            // PERSID
            const pid = await r.line();
            if (!this.opts.persistentLoad)
              throw this.fail('the pickle uses persistent ids and no persistentLoad handler was given');
            stack.push(await this.opts.persistentLoad(pid));
            break;
          }
          case 0x51: {
            // BINPERSID
            const pid = pop();
            if (!this.opts.persistentLoad)
              throw this.fail('the pickle uses persistent ids and no persistentLoad handler was given');
            stack.push(await this.opts.persistentLoad(pid));
            break;
          }
          case 0x82:
          case 0x83:
          case 0x84:
            throw this.fail('copyreg extension codes (EXT1/2/4) are not supported');
          default:
            throw this.fail(
              `unknown pickle opcode 0x${op.toString(16).padStart(2, '0')}: the file is corrupt or not a pickle`,
            );
        }
      }
    } catch (e) {
      if (e instanceof TruncatedError)
        throw new DataImportError(
          { file: this.file },
          e.end === 0
            ? 'the file is empty (0 bytes)'
            : `${e.message} (inside the pickle opcode that starts at byte ${this.opStart})`,
        );
      if (e instanceof DataImportError || e instanceof ImportCancelledError) throw e;
      if (e instanceof RangeError) throw this.fail(`corrupt data (${e.message})`);
      throw e;
    }
  }
}

/** Unpickle an in-memory buffer. */
export async function unpickle(buf: Uint8Array, opts: UnpickleOptions = {}): Promise<unknown> {
  const r = ByteReader.fromBuffer(buf, opts.file ?? '<buffer>');
  return new PickleVM(r, opts).run();
}

/**
 * Unpickle a file, streaming it (and inflating zlib/gzip-compressed joblib dumps on the fly).
 * Progress reports bytes of the file read so far and its size.
 */
export async function unpickleFile(
  file: string,
  opts: UnpickleOptions & ReaderOptions & { compression?: Compression | 'auto' } = {},
): Promise<unknown> {
  const r = await ByteReader.fromFile(file, { ...opts, label: opts.file ?? file });
  try {
    const head = await r.more();
    if (!head) throw new DataImportError({ file: opts.file ?? file }, 'the file is empty');
    return await new PickleVM(r, { ...opts, file: opts.file ?? file }).run();
  } finally {
    await r.close();
  }
}
