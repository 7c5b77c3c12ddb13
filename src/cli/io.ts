/** What every CLI command shares: output, calls through the contract, following a job. */
import { AppError } from '../shared/errors';
import { asKind, type JobKind, type JobRecordOf } from '../shared/jobs';
import type { AppServices } from '../main/services/app';
import type { ParsedArgs } from './args';

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

export function print(io: CliIo, args: ParsedArgs, value: unknown, text: () => string[]): void {
  if (args.flags.has('json')) io.out(JSON.stringify(value, null, 2));
  else for (const line of text()) io.out(line);
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
      if (line !== last) io.err((last = line));
    } else if (e.type === 'job.log' && e.entry.jobId === job.id) io.err(`  [${e.entry.level}] ${e.entry.message}`);
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
