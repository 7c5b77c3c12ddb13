/**
 * Building blocks for the contract. Each service's methods live in src/shared/contract/<service>.ts
 * (or in api.ts for the core ones) and are assembled in src/shared/api.ts.
 */
import { z } from 'zod';

export interface MethodSpec<A extends z.ZodType, R> {
  args: A;
  /** phantom: carries the result type */
  readonly result?: R;
}

/** `method<Result>()(argsSchema)`: a method whose arguments are validated by `argsSchema`. */
export const method =
  <R>() =>
  <A extends z.ZodType>(args: A): MethodSpec<A, R> => ({ args });

/** a database row id */
export const id = z.number().int().positive();
/** a method without arguments */
export const none = z.object({}).strict();
