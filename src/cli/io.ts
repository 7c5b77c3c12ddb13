/** What every CLI command shares: output, calls through the contract, following a job. */
import { AppError } from '../shared/errors';
import { asKind, type JobKind, type JobRecordOf } from '../shared/jobs';
import type { AppServices } from '../main/services/app';
import type { Dataset } from '../shared/contract/datasets';
import { UsageError, type ParsedArgs } from './args';

export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
}

export type Command = (app: AppServices, args: ParsedArgs, io: CliIo) => Promise<number>;

export async function call<T>(app: AppServices, method: string, args: unknown): Promise<T> {
  const env = await app.dispatch(method, args);
  if (!env.ok) throw AppError.from(env.error);
  return env.value as T;
}

// eslint-disable-next-line no-control-regex
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;

/**
 * A line as the terminal should show it: control characters (newlines, escape codes, bidi overrides)
 * from stored text (names made before names were checked, file names, messages) become visible
 * escapes, so they can neither fake lines nor drive the terminal.
 */
export function printable(line: string): string {
  return line.replace(UNPRINTABLE, (c) => {
    const n = c.codePointAt(0)!;
    return n < 0x100 ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`;
  });
}

export function print(io: CliIo, args: ParsedArgs, value: unknown, text: () => string[]): void {
  if (args.flags.has('json')) io.out(JSON.stringify(value, null, 2));
  else for (const line of text()) io.out(printable(line));
}

/**
 * A contract call's list printed a line per item, or `empty` (what to do to get one) when there is
 * none; with --json, the list itself.
 */
export async function printList<T>(
  app: AppServices,
  args: ParsedArgs,
  io: CliIo,
  list: { method: string; args?: unknown },
  line: (item: T) => string,
  empty: string,
): Promise<void> {
  const items = await call<T[]>(app, list.method, list.args ?? {});
  print(io, args, items, () => (items.length ? items.map(line) : [empty]));
}

/** one line about any job (whatever its kind) */
export function jobLine(j: JobRecordOf<JobKind>): string {
  const pct = j.progress.fraction === null ? '' : ` ${(j.progress.fraction * 100).toFixed(0)}%`;
  return `${String(j.id).padStart(5)}  ${j.kind.padEnd(20)} ${j.status.padEnd(11)}${pct}  ${j.progress.message}${j.error ? `  (${j.error.message})` : ''}`;
}

/** Wait for a job, printing progress to stderr; Ctrl-C cancels it. */
export async function follow<K extends JobKind>(
  app: AppServices,
  job: { id: number; kind: K },
  io: CliIo,
): Promise<JobRecordOf<K>> {
  let last = '';
  const unsubscribe = app.events.subscribe((e) => {
    if (e.type === 'job.updated' && e.job.id === job.id) {
      const line = jobLine(e.job);
      if (line !== last) io.err(printable((last = line)));
    } else if (e.type === 'job.log' && e.entry.jobId === job.id)
      io.err(printable(`  [${e.entry.level}] ${e.entry.message}`));
  });
  const onSigint = () => {
    io.err('cancelling...');
    app.runner.cancel(job.id);
  };
  process.once('SIGINT', onSigint);
  try {
    const done = await app.runner.wait(job.id);
    const same = asKind<K>(done, job.kind);
    if (!same) throw new AppError('INTERNAL', `job ${job.id} became a ${done.kind} job`);
    return same;
  } finally {
    process.off('SIGINT', onSigint);
    unsubscribe();
  }
}

/** A dataset named on the command line: by name (any case), else by id. */
export async function resolveDataset(app: AppServices, ref: string): Promise<Dataset> {
  const list = await call<Dataset[]>(app, 'datasets.list', {});
  const byName = list.find((d) => d.name.toLowerCase() === ref.toLowerCase());
  if (byName) return byName;
  if (/^\d+$/.test(ref)) return call<Dataset>(app, 'datasets.get', { id: Number(ref) });
  throw new UsageError(`no dataset named "${ref}" (see "cider datasets")`);
}
