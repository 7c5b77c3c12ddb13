/**
 * The small, typed, sequence-numbered protocol between the job runner (main thread) and a job's
 * worker. Every message carries `seq` so a log reads in order and a stale message is detectable.
 */
import type { ErrorInfo } from '../../shared/errors';
import type { JobProgress } from '../../shared/types';

export type ToWorker =
  | { seq: number; type: 'start'; jobId: number; kind: string; params: Record<string, unknown>; dataDir: string }
  | { seq: number; type: 'cancel' };

export type FromWorker =
  | { seq: number; type: 'progress'; progress: JobProgress }
  | { seq: number; type: 'log'; level: 'info' | 'warn' | 'error'; message: string }
  | { seq: number; type: 'done'; result: unknown }
  | { seq: number; type: 'error'; error: ErrorInfo }
  | { seq: number; type: 'cancelled' };

/** What a task sees while it runs, wherever it runs. */
export interface TaskContext {
  jobId: number;
  dataDir: string;
  /** aborted when the user cancels; long loops check it (or call throwIfCancelled) between steps */
  signal: AbortSignal;
  progress(fraction: number | null, message: string, data?: Record<string, unknown>): void;
  log(level: 'info' | 'warn' | 'error', message: string): void;
  throwIfCancelled(): void;
}

export type Task = (params: Record<string, unknown>, ctx: TaskContext) => Promise<unknown>;
