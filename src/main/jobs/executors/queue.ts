/**
 * The job queue: BullMQ on Redis. The coordinator adds one job per trial with an idempotent id
 * (coordinator key, job id, trial): adding it again is a no-op. `cider worker` processes on any
 * number of machines take trials; each trial runs as a child process (`cider trial run`), so the
 * worker's event loop stays free to renew its lock; a worker that dies stops renewing it, and
 * BullMQ's stalled-job check hands the trial to another worker. The result (the outcome and the
 * checkpoints) goes back through the queue; only the coordinator stores it.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Job, Queue, Worker } from 'bullmq';
import { TRIAL_QUEUE } from '../../../shared/contract/executors';
import { ciderInvocation } from './command';
import {
  TRIAL_RUN,
  readTrialEpochs,
  readTrialFraction,
  readTrialOutcome,
  writeTrialSpec,
  type TrialOutcome,
  type TrialSpec,
} from './trial';

export interface QueueTrialResult {
  outcome: TrialOutcome;
  /** checkpoint file name -> base64 */
  files: Record<string, string>;
}

/** `redis://host:port/db` as ioredis options (BullMQ needs maxRetriesPerRequest: null for workers). */
export function redisConnection(url: string): {
  host: string;
  port: number;
  db: number;
  tls?: object;
  maxRetriesPerRequest: null;
} {
  const u = new URL(url);
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new Error(`${url}: not a redis:// URL`);
  return {
    host: u.hostname,
    port: Number(u.port || 6379),
    db: Number(u.pathname.slice(1) || 0),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
    maxRetriesPerRequest: null,
  };
}

const cancelKey = (prefix: string) => `${TRIAL_QUEUE}:cancel:${prefix}`;

export async function openQueue(url: string) {
  const queue = new Queue(TRIAL_QUEUE, { connection: redisConnection(url) });
  await queue.waitUntilReady();
  return {
    async add(jobId: string, spec: TrialSpec, attempts: number): Promise<void> {
      await queue.add(
        'trial',
        { spec, prefix: jobId.slice(0, jobId.lastIndexOf('-')) },
        {
          jobId,
          attempts,
          removeOnComplete: false,
          removeOnFail: false,
        },
      );
    },
    async state(jobId: string): Promise<{
      state: string;
      epochs: number;
      /** how far the trial under way is (0..1) */
      fraction: number;
      attemptsMade: number;
      failedReason: string;
      result: unknown;
    }> {
      // the state first, then the job: a job read before it completed carries no result yet
      const state = await queue.getJobState(jobId);
      const job = await Job.fromId(queue, jobId);
      if (!job || state === 'unknown')
        return {
          state: 'missing',
          epochs: 0,
          fraction: 0,
          attemptsMade: 0,
          failedReason: 'the job is gone from the queue',
          result: null,
        };

      const progress =
        typeof job.progress === 'object' && job.progress
          ? (job.progress as { epochs?: number; fraction?: number })
          : {};
      return {
        state,
        epochs: progress.epochs ?? 0,
        fraction: state === 'active' ? (progress.fraction ?? 0) : 0,
        attemptsMade: job.attemptsMade,
        failedReason: job.failedReason ?? '',
        result: job.returnvalue,
      };
    },
    /** Remove what has not started and tell workers to stop the rest. */
    async cancel(prefix: string, jobIds: string[]): Promise<void> {
      const client = await queue.client;
      // one small key per cancelled job, read by the workers running its trials
      await client.set(cancelKey(prefix), '1');
      for (const id of jobIds) {
        const job = await Job.fromId(queue, id);
        const state = job ? await job.getState() : 'missing';
        if (job && (state === 'waiting' || state === 'delayed' || state === 'prioritized')) await job.remove();
      }
    },
    close: () => queue.close(),
  };
}

export interface WorkerOptions {
  url: string;
  concurrency?: number;
  /** how long a trial's lock lasts without renewal (ms); a dead worker's trial is retried after it */
  lockMs?: number;
  /** how often workers look for stalled trials (ms) */
  stalledMs?: number;
  log?: (message: string) => void;
  signal?: AbortSignal;
}

/** `cider worker`: take trials from the queue until the signal aborts. */
export async function runQueueWorker(o: WorkerOptions): Promise<void> {
  const log = o.log ?? (() => undefined);
  const connection = redisConnection(o.url);
  const worker = new Worker(
    TRIAL_QUEUE,
    async (job: Job<{ spec: TrialSpec; prefix: string }>) => {
      const { spec, prefix } = job.data;
      const folder = fs.mkdtempSync(path.join(os.tmpdir(), `cider-trial-${spec.jobId}-${spec.trial}-`));
      try {
        writeTrialSpec(folder, spec);
        log(
          `${spec.kind} trial ${spec.trial} of job ${spec.jobId} started (queue job ${job.id}, attempt ${job.attemptsMade + 1})`,
        );
        const client = await worker.client;
        const exit = await runChild(folder, async () => {
          await job.updateProgress({ epochs: readTrialEpochs(folder).length, fraction: readTrialFraction(folder) });
          return (await client.get(cancelKey(prefix))) === '1';
        });
        const outcome = readTrialOutcome(folder);
        if (!outcome) throw new Error(`the trial process ended (${exit}) without an outcome`);
        const files: Record<string, string> = {};
        const runDir = path.join(folder, TRIAL_RUN);
        for (const name of fs.existsSync(runDir) ? fs.readdirSync(runDir) : [])
          if (name.endsWith('.safetensors'))
            files[name] = fs.readFileSync(path.join(folder, TRIAL_RUN, name)).toString('base64');
        log(`${spec.kind} trial ${spec.trial} of job ${spec.jobId} ${outcome.status}`);
        return { outcome, files } satisfies QueueTrialResult;
      } finally {
        fs.rmSync(folder, { recursive: true, force: true });
      }
    },
    {
      connection,
      concurrency: o.concurrency ?? 1,
      lockDuration: o.lockMs ?? 30_000,
      stalledInterval: o.stalledMs ?? 30_000,
      // a trial whose worker died is handed out again; attempts on the job bound the retries
      maxStalledCount: 5,
    },
  );
  worker.on('error', (e) => log(`queue error: ${e.message}`));
  await worker.waitUntilReady();
  log(`worker ready on ${o.url}, queue "${TRIAL_QUEUE}", concurrency ${o.concurrency ?? 1}`);
  await new Promise<void>((resolve) => {
    if (o.signal?.aborted) resolve();
    o.signal?.addEventListener('abort', () => resolve(), { once: true });
  });
  await worker.close();
}

/** Run `cider trial run FOLDER` as a child process; `tick` every second (true = cancel it). */
function runChild(folder: string, tick: () => Promise<boolean>): Promise<string> {
  const inv = ciderInvocation();
  return new Promise((resolve, reject) => {
    const child = spawn(inv.argv[0], [...inv.argv.slice(1), 'trial', 'run', folder], {
      env: { ...process.env, ...inv.env },
      // the IPC channel closes when this worker dies, and the child then stops (see `cider trial run`)
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let cancelled = false;
    const timer = setInterval(() => {
      tick()
        .then((stop) => {
          if (stop && !cancelled) {
            cancelled = true;
            child.kill('SIGTERM');
          }
        })
        .catch(() => undefined);
    }, 1000);
    child.on('error', (e) => {
      clearInterval(timer);
      reject(e);
    });
    child.on('exit', (code, signal) => {
      clearInterval(timer);
      if (cancelled) reject(new Error('cancelled by the coordinator'));
      else resolve(signal ? `signal ${signal}` : `exit ${code}`);
    });
  });
}
