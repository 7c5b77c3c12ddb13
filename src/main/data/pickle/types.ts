/**
 * How Python values appear after unpickling. Nothing from the pickle is ever executed: every
 * callable a pickle may name is a JS handler from an explicit allow-list (see PyGlobal).
 *
 *   None -> null, bool -> boolean, int -> number (bigint beyond 2^53), float -> number,
 *   str -> string, bytes/bytearray -> Uint8Array (DiskBytes when spilled to disk),
 *   list -> unknown[], tuple -> PyTuple (a frozen array), dict -> Map, set/frozenset -> Set,
 *   instances of allowed plain classes -> PyObject, numpy arrays -> NdArray (see numpy.ts).
 */
import type { DiskBytes } from '../stream';

export type PyTuple = readonly unknown[] & { readonly __tuple: true };
export function tuple(items: unknown[]): PyTuple {
  Object.defineProperty(items, '__tuple', { value: true });
  return Object.freeze(items) as unknown as PyTuple;
}
export function isTuple(x: unknown): x is PyTuple {
  return Array.isArray(x) && (x as { __tuple?: boolean }).__tuple === true;
}

/** What a handler may use while the VM runs: the file name and raw access to the stream after the current opcode. */
export interface UnpickleContext {
  readonly file: string;
  /** read n raw bytes that follow in the stream (joblib writes arrays there); large ones are spilled to disk */
  readRaw(n: number): Promise<Uint8Array | DiskBytes>;
  skipRaw(n: number): Promise<void>;
  /** unpickle a complete nested pickle that follows in the stream (joblib does this for object arrays) */
  unpickleNested(): Promise<unknown>;
  /** build an error that names the file (and the opcode offset) */
  fail(problem: string): Error;
}

export interface GlobalImpl {
  /** REDUCE: callable(*args) */
  call?(args: readonly unknown[], ctx: UnpickleContext): unknown | Promise<unknown>;
  /** NEWOBJ / NEWOBJ_EX: cls.__new__(cls, *args, **kwargs) */
  newObj?(
    args: readonly unknown[],
    kwargs: Map<unknown, unknown> | undefined,
    ctx: UnpickleContext,
  ): unknown | Promise<unknown>;
  /** a plain data class: calling or NEWOBJ-ing it makes a PyObject whose attributes BUILD fills */
  plain?: boolean;
}

/** An allowed Python global (a class or function), resolved from "module.name" by the caller's resolver. */
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
    readonly impl: GlobalImpl = {},
  ) {}
  get qualname(): string {
    return `${this.module}.${this.name}`;
  }
}

/**
 * Objects that handle BUILD themselves (numpy arrays, dtypes, joblib wrappers). A non-undefined
 * return value replaces the object on the stack (joblib's unpickler does exactly that).
 */
export interface PyStateful {
  __setstate__(state: unknown, ctx: UnpickleContext): unknown | Promise<unknown>;
}
export function isStateful(x: unknown): x is PyStateful {
  return typeof x === 'object' && x !== null && typeof (x as PyStateful).__setstate__ === 'function';
}

/** An instance of an allowed plain class: its constructor args and the attributes BUILD gave it. */
export class PyObject {
  readonly attrs = new Map<string, unknown>();
  constructor(
    readonly cls: PyGlobal,
    readonly args: readonly unknown[] = [],
  ) {}
  get(name: string): unknown {
    return this.attrs.get(name);
  }
}

/** A resolver: return the handler for an allowed global, or undefined to refuse it. */
export type GlobalResolver = (module: string, name: string) => PyGlobal | undefined;

/** Try resolvers in order; the first that allows the global wins. */
export function composeResolvers(...rs: GlobalResolver[]): GlobalResolver {
  return (m, n) => {
    for (const r of rs) {
      const g = r(m, n);
      if (g) return g;
    }
    return undefined;
  };
}

/** A resolver from a table of "module.name" -> impl. */
export function resolverFromTable(table: Record<string, GlobalImpl>): GlobalResolver {
  const cache = new Map<string, PyGlobal>();
  return (m, n) => {
    const key = `${m}.${n}`;
    if (!Object.hasOwn(table, key)) return undefined;
    let g = cache.get(key);
    if (!g) cache.set(key, (g = new PyGlobal(m, n, table[key])));
    return g;
  };
}
