import { AppError } from '../../shared/errors';

export interface DataImportErrorInfo {
  file: string;
  split?: string;
  field?: string;
}

/**
 * A file the user supplied is wrong. Carries the file, and where known the split and the field, so
 * the UI can point at the culprit; it is an AppError with code INVALID_INPUT so it crosses the
 * envelope as is. The message always starts with the location ("file: split 'x', field 'y': ...").
 */
export class DataImportError extends AppError {
  readonly file: string;
  readonly split?: string;
  readonly field?: string;
  /** the problem without the location prefix */
  readonly problem: string;
  constructor(where: DataImportErrorInfo, problem: string, code: 'INVALID_INPUT' | 'UNSUPPORTED' = 'INVALID_INPUT') {
    super(code, `${describeLocation(where)}: ${problem}`, { file: where.file, split: where.split, field: where.field });
    this.name = 'DataImportError';
    this.file = where.file;
    this.split = where.split;
    this.field = where.field;
    this.problem = problem;
  }
}

/** A pickle names a Python global outside the allow-list. Raised when the GLOBAL opcode is read, before any call. */
export class PickleSecurityError extends DataImportError {
  readonly global: string;
  constructor(file: string, module: string, name: string) {
    super(
      { file },
      `refused: the pickle references the Python global '${module}.${name}', which is not on the allow-list (nothing was executed)`,
    );
    this.name = 'PickleSecurityError';
    this.global = `${module}.${name}`;
  }
}

/** The import was cancelled through its AbortSignal; nothing it wrote is left behind. */
export class ImportCancelledError extends AppError {
  constructor(file: string) {
    super('CANCELLED', `${file}: import cancelled`, { file });
    this.name = 'ImportCancelledError';
  }
}

export function describeLocation(w: DataImportErrorInfo): string {
  let s = w.file;
  if (w.split !== undefined) s += `: split '${w.split}'`;
  if (w.field !== undefined) s += `${w.split !== undefined ? ',' : ':'} field '${w.field}'`;
  return s;
}
