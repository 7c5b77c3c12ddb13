/**
 * The small, typed, sequence-numbered protocol between the job runner (main thread) and a job's
 * worker. Every message carries `seq` so a log reads in order and a stale message is detectable.
 */
import type { ErrorInfo } from '../../shared/errors';
import type { JobKind, JobOutput, JobParams, JobProgress, JobProgressData } from '../../shared/jobs';

export type ToWorker =
  | { seq: number; type: 'start'; jobId: number; kind: JobKind; params: unknown; dataDir: string }
  | { seq: number; type: 'cancel' };

export type FromWorker =
  | { seq: number; type: 'progress'; progress: JobProgress }
  | { seq: number; type: 'log'; level: 'info' | 'warn' | 'error'; message: string }
  | { seq: number; type: 'done'; result: unknown }
  | { seq: number; type: 'error'; error: ErrorInfo }
  | { seq: number; type: 'cancelled' };

/** What a task sees while it runs, wherever it runs. */
export interface TaskContext<K extends JobKind = JobKind> {
  jobId: number;
  dataDir: string;
  /** aborted when the user cancels; long loops check it (or call throwIfCancelled) between steps */
  signal: AbortSignal;
  progress(fraction: number | null, message: string, data?: JobProgressData<K>): void;
  log(level: 'info' | 'warn' | 'error', message: string): void;
  throwIfCancelled(): void;
}

export type Task<K extends JobKind> = (params: JobParams<K>, ctx: TaskContext<K>) => Promise<JobOutput<K>>;
