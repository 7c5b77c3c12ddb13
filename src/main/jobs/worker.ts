/**
 * Entry point of a job's worker thread. Receives one `start`, runs the task, reports progress,
 * logs and the outcome, and honours `cancel` through an AbortSignal.
 */
import { parentPort } from 'node:worker_threads';
import { AppError, toErrorInfo } from '../../shared/errors';
import type { FromWorker, TaskContext, ToWorker } from './protocol';
import { isJobKind, parseJobParams, type JobKind, type JobOutput } from '../../shared/jobs';
import { TASKS } from './tasks';

if (!parentPort) throw new Error('jobs/worker.ts must run in a worker thread');
const port = parentPort;
let seq = 0;
type Unsequenced<T> = T extends unknown ? Omit<T, 'seq'> : never;
const send = (msg: Unsequenced<FromWorker>): void => port.postMessage({ ...msg, seq: ++seq } as FromWorker);
const abort = new AbortController();

port.on('message', (msg: ToWorker) => {
  if (msg.type === 'cancel') abort.abort();
  else if (msg.type === 'start') void run(msg);
});

async function run(msg: Extract<ToWorker, { type: 'start' }>): Promise<void> {
  try {
    if (!isJobKind(msg.kind)) throw new AppError('BAD_REQUEST', `unknown job kind "${String(msg.kind)}"`);
    const result = await runTask(msg.kind, msg);
    if (abort.signal.aborted) send({ type: 'cancelled' });
    else send({ type: 'done', result: result ?? null });
  } catch (e) {
    const info = toErrorInfo(e);
    if (abort.signal.aborted || info.code === 'CANCELLED') send({ type: 'cancelled' });
    else send({ type: 'error', error: info });
  }
}

async function runTask<K extends JobKind>(kind: K, msg: Extract<ToWorker, { type: 'start' }>): Promise<JobOutput<K>> {
  const ctx: TaskContext<K> = {
    jobId: msg.jobId,
    dataDir: msg.dataDir,
    signal: abort.signal,
    progress: (fraction, message, data) =>
      send({ type: 'progress', progress: data ? { fraction, message, data } : { fraction, message } }),
    log: (level, message) => send({ type: 'log', level, message }),
    throwIfCancelled: () => {
      if (abort.signal.aborted) throw new AppError('CANCELLED', 'cancelled by the user');
    },
  };
  // the runner validated these when it recorded the job; parsing again types them here
  const params = parseJobParams(kind, msg.params);
  const task = await TASKS[kind]();
  return task(params, ctx);
}
