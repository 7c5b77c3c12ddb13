/**
 * The error envelope. Every call returns `{ ok: true, value } | { ok: false, error }`; errors that
 * cross a process boundary are plain data with a stable code the UI and the CLI can act on.
 */
export const ERROR_CODES = [
  'BAD_REQUEST', // arguments failed the schema
  'UNKNOWN_METHOD',
  'UNAUTHORIZED',
  'NOT_FOUND',
  'CONFLICT', // e.g. a name already taken, a job already finished
  'INVALID_INPUT', // a file or dataset the user supplied is wrong; the message names file and problem
  'CANCELLED',
  'UNSUPPORTED', // e.g. a database written by a newer version of the app
  'INTERNAL',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export interface ErrorInfo {
  code: ErrorCode;
  message: string;
  /** optional structured detail (schema issues, the file and field at fault) */
  details?: unknown;
}

export type Envelope<T> = { ok: true; value: T } | { ok: false; error: ErrorInfo };

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly details?: unknown;
  constructor(code: ErrorCode, message: string, details?: unknown) {
    super(message);
    this.name = 'AppError';
    this.code = code;
    this.details = details;
  }
  toInfo(): ErrorInfo {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
  static from(info: ErrorInfo): AppError {
    return new AppError(info.code, info.message, info.details);
  }
}

export function isErrorCode(x: unknown): x is ErrorCode {
  return typeof x === 'string' && (ERROR_CODES as readonly string[]).includes(x);
}

/** Turn anything thrown into envelope data; unknown errors become INTERNAL with their message. */
export function toErrorInfo(e: unknown): ErrorInfo {
  if (e instanceof AppError) return e.toInfo();
  if (e && typeof e === 'object' && 'code' in e && isErrorCode((e as { code: unknown }).code) && 'message' in e) {
    return { code: (e as ErrorInfo).code, message: String((e as ErrorInfo).message) };
  }
  return { code: 'INTERNAL', message: e instanceof Error ? e.message : String(e) };
}
