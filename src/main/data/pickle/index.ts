export { unpickle, unpickleFile, PickleVM, type UnpickleOptions, type SpillOptions } from './vm';
export {
  PyGlobal,
  PyObject,
  tuple,
  isTuple,
  composeResolvers,
  resolverFromTable,
  type GlobalImpl,
  type GlobalResolver,
  type PyStateful,
  type PyTuple,
  type UnpickleContext,
} from './types';
export { safeBuiltins } from './builtins';
export { NdArray, DType, numpyGlobals, joblibGlobals, decodeNumeric } from './numpy';
