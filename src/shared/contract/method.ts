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

/**
 * Characters a name must not hold: control characters (C0, DEL, C1: newlines, tabs, terminal escape
 * codes) and the Unicode line separators and bidirectional overrides, which would fake lines or
 * reorder text in listings.
 */
// eslint-disable-next-line no-control-regex
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;

export const NAME_MAX = 200;

/**
 * A user-given name (dataset, run, project, annotator, model, search, saved edit...): trimmed, one
 * printable line of 1 to `max` characters. `what` says whose name it is in the error message.
 */
export const nameSchema = (what: string, max = NAME_MAX) =>
  z
    .string()
    .trim()
    .min(1, `${what} needs a name`)
    .max(max, `${what}'s name is longer than ${max} characters`)
    .refine((s) => !UNPRINTABLE.test(s), {
      error: (iss) => {
        const s = String(iss.input);
        const at = s.search(UNPRINTABLE);
        const code = s.codePointAt(at)!.toString(16).padStart(4, '0');
        return `${what}'s name holds a control character (U+${code.toUpperCase()} at position ${at + 1}); names must be one line of printable text`;
      },
    });
