import { AppError } from '../../../shared/errors';

/**
 * Every evaluation function validates its arguments at the boundary and names the function and
 * the argument at fault, because these errors reach the CLI and the UI as plain messages (a user
 * asking for TMFM on unaligned data must read why, not a stack trace about an index).
 */
export function badArgument(fn: string, argument: string, problem: string): AppError {
  return new AppError('BAD_REQUEST', `${fn}: ${argument} ${problem}`);
}

export function requireInteger(fn: string, argument: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min)
    throw badArgument(fn, argument, `must be an integer >= ${min}, got ${value}`);
}

export function requireLength(fn: string, argument: string, actual: number, expected: number, shape: string): void {
  if (actual !== expected)
    throw badArgument(fn, argument, `has ${actual} entries, expected ${expected} for shape ${shape}`);
}

export function requireRate(fn: string, argument: string, value: number): void {
  if (!(value >= 0 && value <= 1)) throw badArgument(fn, argument, `must be a rate in [0, 1], got ${value}`);
}
