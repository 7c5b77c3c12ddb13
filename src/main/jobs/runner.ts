/**
 * Runs long work outside the main event loop. Each job gets its own worker (worker_threads by
 * default; Electron may pass a utilityProcess-backed spawner with the same shape), reports
 * progress and logs, can be cancelled, and is recorded in SQLite from queued to finished.
 */
import { Worker } from 'node:worker_threads';
import { AppError, toErrorInfo } from '../../shared/errors';
import {
  asJobRecord,
  isJobKind,
  parseJobParams,
  type JobKind,
  type JobOutput,
  type JobParamsInput,
  type JobProgress,
  type JobRecord,
  type JobRecordOf,
  type JobResult,
} from '../../shared/jobs';
import type { AppEvent } from '../../shared/types';
import type { JobStore } from '../store/jobs';
import type { FromWorker, ToWorker } from './protocol';

export interface WorkerHandle {
  post(msg: ToWorker): void;
  onMessage(cb: (msg: FromWorker) => void): void;
  /** called once when the worker is gone, for whatever reason */
  onExit(cb: (code: number, error?: Error) => void): void;
  terminate(): Promise<void>;
}

export type SpawnWorker = () => WorkerHandle;

/** The default: a worker thread running src/main/jobs/worker.ts (through tsx) or its bundle. */
export function workerThreadSpawner(entry: URL | string): SpawnWorker {
  return () => {
    const w = new Worker(entry);
    let exited = false;
    const exitCbs: ((code: number, error?: Error) => void)[] = [];
    let lastError: Error | undefined;
    w.on('error', (e) => (lastError = e));
    w.on('exit', (code) => {
      exited = true;
      for (const cb of exitCbs) cb(code, lastError);
    });
    return {
      post: (msg) => {
        if (!exited) w.postMessage(msg);
      },
      onMessage: (cb) => w.on('message', cb),
      onExit: (cb) => exitCbs.push(cb),
      terminate: async () => {
        await w.terminate();
      },
    };
  };
}

/** The error message of a job stopped because the app quit while it ran. */
export const STOPPED_BY_QUIT = 'stopped because the app was quit while the job ran; run it again to finish';

export interface JobRunnerOptions {
  store: JobStore;
  emit: (event: AppEvent) => void;
  spawn: SpawnWorker;
  dataDir: string;
  maxConcurrent?: number;
  /** how long a cancelled job may take to stop before its worker is terminated */
  cancelGraceMs?: number;
  /** progress is written to SQLite at most this often per job (every message still reaches the UI at most as often) */
  progressIntervalMs?: number;
}

/**
 * What main does around a job of one kind. `commit` runs on the main thread when the worker
 * reports success and before the job is recorded as succeeded: its return value becomes the job's
 * result, and a throw fails the job (e.g. recording an imported dataset in SQLite, which only
 * main may write). It is synchronous so nothing else can settle the job meanwhile. `cleanup`
 * runs once after the job ended, however it ended.
 */
export interface JobKindHooks<K extends JobKind> {
  commit?(job: JobRecordOf<K>, output: JobOutput<K>): JobResult<K>;
  cleanup?(job: JobRecordOf<K>): void;
}

interface Running {
  handle: WorkerHandle;
  seq: number;
  cancelRequested: boolean;
  /** recorded as the cancelled job's error message */
  cancelMessage?: string;
  killTimer?: NodeJS.Timeout;
  lastFlush: number;
  pending?: JobProgress;
  flushTimer?: NodeJS.Timeout;
  done: Promise<JobRecord>;
  resolve: (j: JobRecord) => void;
}

export class JobRunner {
  private readonly queue: number[] = [];
  private readonly running = new Map<number, Running>();
  private closed = false;
  private readonly hooks: { [K in JobKind]?: JobKindHooks<K> } = {};

  constructor(private readonly opts: JobRunnerOptions) {}

  /** Register what main does when a job of `kind` ends (see JobKindHooks). */
  setKindHooks<K extends JobKind>(kind: K, hooks: JobKindHooks<K>): void {
    (this.hooks as Record<K, JobKindHooks<K>>)[kind] = hooks;
  }

  private hooksOf(job: JobRecord): JobKindHooks<JobKind> | undefined {
    return this.hooks[job.kind];
  }

  /** Record a new job (its params validated by the catalogue's schema) and run it when a slot is free. */
  submit<K extends JobKind>(kind: K, params: JobParamsInput<K>, projectId: number | null = null): JobRecordOf<K> {
    if (this.closed) throw new AppError('CONFLICT', 'the app is shutting down; no new jobs');
    if (!isJobKind(kind)) throw new AppError('BAD_REQUEST', `unknown job kind "${String(kind)}"`);
    const job = this.opts.store.create(kind, parseJobParams(kind, params), projectId);
    this.queue.push(job.id);
    this.opts.emit({ type: 'job.updated', job: asJobRecord(job) });
    this.pump();
    return job;
  }

  /** Resolves when the job reaches a final state (tests, CLI). */
  async wait(jobId: number): Promise<JobRecord> {
    const r = this.running.get(jobId);
    if (r) return r.done;
    const job = this.opts.store.get(jobId);
    if (job.status !== 'queued') return job;
    return new Promise((resolve) => {
      const check = setInterval(() => {
        const run = this.running.get(jobId);
        if (run) {
          clearInterval(check);
          void run.done.then(resolve);
        } else {
          const j = this.opts.store.get(jobId);
          if (j.status !== 'queued') {
            clearInterval(check);
            resolve(j);
          }
        }
      }, 20);
    });
  }

  /** Number of jobs running or waiting for a slot (the desktop shell asks before quitting over them). */
  activeCount(): number {
    return this.running.size + this.queue.length;
  }

  cancel(jobId: number, message = 'cancelled by the user'): JobRecord {
    const job = this.opts.store.get(jobId);
    const qi = this.queue.indexOf(jobId);
    if (qi >= 0) {
      this.queue.splice(qi, 1);
      return this.finish(jobId, 'cancelled', null, null);
    }
    const r = this.running.get(jobId);
    if (!r) {
      if (job.status === 'queued' || job.status === 'running')
        return this.finish(jobId, 'interrupted', null, {
          code: 'INTERRUPTED',
          message: 'no worker was running this job',
        });
      throw new AppError('CONFLICT', `job ${jobId} already ${job.status}`);
    }
    if (!r.cancelRequested) {
      r.cancelRequested = true;
      r.cancelMessage = message;
      r.handle.post({ seq: ++r.seq, type: 'cancel' });
      this.log(jobId, 'info', 'cancel requested');
      r.killTimer = setTimeout(() => {
        this.log(
          jobId,
          'warn',
          `the job did not stop within ${this.opts.cancelGraceMs ?? 5000} ms; its worker was terminated`,
        );
        void r.handle.terminate();
      }, this.opts.cancelGraceMs ?? 5000);
    }
    return this.opts.store.get(jobId);
  }

  /** Stop everything (app quit): running jobs are cancelled (recorded as stopped by the quit), then terminated. */
  async close(): Promise<void> {
    this.closed = true;
    for (const id of this.queue.splice(0))
      this.finish(id, 'cancelled', null, { code: 'CANCELLED', message: 'the app was closed before this job started' });
    const waits = [...this.running.keys()].map((id) => {
      this.cancel(id, STOPPED_BY_QUIT);
      return this.running.get(id)?.done;
    });
    await Promise.all(waits);
  }

  private pump(): void {
    const max = this.opts.maxConcurrent ?? 2;
    while (this.running.size < max && this.queue.length) {
      const id = this.queue.shift()!;
      this.startWorker(id);
    }
  }

  private startWorker(jobId: number): void {
    const job = this.opts.store.markRunning(jobId);
    this.opts.emit({ type: 'job.updated', job });
    let resolve!: (j: JobRecord) => void;
    const done = new Promise<JobRecord>((r) => (resolve = r));
    const handle = this.opts.spawn();
    const run: Running = { handle, seq: 0, cancelRequested: false, lastFlush: 0, done, resolve };
    this.running.set(jobId, run);
    let settled = false;
    const settle = (status: 'succeeded' | 'failed' | 'cancelled', result: unknown, error: JobRecord['error']) => {
      if (settled) return;
      settled = true;
      this.flushProgress(jobId, run);
      clearTimeout(run.killTimer);
      const final = this.finish(jobId, status, result, error);
      try {
        this.hooksOf(final)?.cleanup?.(final);
      } catch (e) {
        this.log(jobId, 'warn', `cleanup after the job failed: ${(e as Error).message}`);
      }
      this.running.delete(jobId);
      run.resolve(final);
      void handle.terminate();
      this.pump();
    };
    handle.onMessage((msg) => {
      switch (msg.type) {
        case 'progress':
          this.onProgress(jobId, run, msg.progress);
          break;
        case 'log':
          this.log(jobId, msg.level, msg.message);
          break;
        case 'done': {
          const commit = this.hooksOf(job)?.commit;
          if (!commit) settle('succeeded', msg.result, null);
          else if (run.cancelRequested)
            settle('cancelled', null, { code: 'CANCELLED', message: run.cancelMessage ?? 'cancelled by the user' });
          else {
            let result: unknown;
            try {
              // the task's return value, structured-cloned across the thread boundary
              result = commit(this.opts.store.get(jobId), msg.result as JobOutput<JobKind>);
            } catch (e) {
              const info = toErrorInfo(e);
              this.log(jobId, 'error', info.message);
              settle('failed', null, { code: info.code, message: info.message });
              break;
            }
            settle('succeeded', result, null);
          }
          break;
        }
        case 'cancelled':
          settle('cancelled', null, { code: 'CANCELLED', message: run.cancelMessage ?? 'cancelled by the user' });
          break;
        case 'error':
          this.log(jobId, 'error', msg.error.message);
          settle('failed', null, { code: msg.error.code, message: msg.error.message });
          break;
      }
    });
    handle.onExit((code, error) => {
      if (run.cancelRequested)
        settle('cancelled', null, { code: 'CANCELLED', message: run.cancelMessage ?? 'cancelled by the user' });
      else
        settle('failed', null, {
          code: 'INTERNAL',
          message: `the job's worker stopped unexpectedly (exit code ${code}${error ? `: ${error.message}` : ''})`,
        });
    });
    handle.post({
      seq: ++run.seq,
      type: 'start',
      jobId,
      kind: job.kind,
      params: job.params,
      dataDir: this.opts.dataDir,
    });
  }

  private onProgress(jobId: number, run: Running, progress: JobProgress): void {
    run.pending = progress;
    const interval = this.opts.progressIntervalMs ?? 200;
    const now = Date.now();
    if (now - run.lastFlush >= interval) this.flushProgress(jobId, run);
    else if (!run.flushTimer)
      run.flushTimer = setTimeout(() => this.flushProgress(jobId, run), interval - (now - run.lastFlush));
  }

  private flushProgress(jobId: number, run: Running): void {
    clearTimeout(run.flushTimer);
    run.flushTimer = undefined;
    if (!run.pending) return;
    this.opts.store.setProgress(jobId, run.pending);
    run.pending = undefined;
    run.lastFlush = Date.now();
    this.opts.emit({ type: 'job.updated', job: this.opts.store.get(jobId) });
  }

  private finish(
    jobId: number,
    status: 'succeeded' | 'failed' | 'cancelled' | 'interrupted',
    result: unknown,
    error: JobRecord['error'],
  ): JobRecord {
    const job = this.opts.store.finish(jobId, status, result, error);
    this.opts.emit({ type: 'job.updated', job });
    return job;
  }

  private log(jobId: number, level: 'info' | 'warn' | 'error', message: string): void {
    const entry = this.opts.store.log(jobId, level, message);
    this.opts.emit({ type: 'job.log', entry });
  }
}
