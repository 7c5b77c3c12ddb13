/**
 * Entry point of a job's worker thread. Receives one `start`, runs the task, reports progress,
 * logs and the outcome, and honours `cancel` through an AbortSignal.
 *
 * The thread chooses its TensorFlow.js backend at start-up (ml/backends/tf.ts), before any task
 * runs: a worker that skipped it would run BERT on the pure-JS cpu backend (the guard there makes
 * that an error instead). The job log says which backend was chosen, and an object result gets
 * `tfjs: { backend, used }`: the choice and the backends TF.js work actually ran on.
 */
import { parentPort } from 'node:worker_threads';
import { AppError, toErrorInfo } from '../../shared/errors';
import type { FromWorker, TaskContext, ToWorker } from './protocol';
import { isJobKind, parseJobParams, type JobKind, type JobOutput } from '../../shared/jobs';
import { TASKS } from './tasks';
import { backendsUsed, initBackend } from '../ml/backends/tf';

if (!parentPort) throw new Error('jobs/worker.ts must run in a worker thread');
const port = parentPort;
let seq = 0;
type Unsequenced<T> = T extends unknown ? Omit<T, 'seq'> : never;
const send = (msg: Unsequenced<FromWorker>): void => port.postMessage({ ...msg, seq: ++seq } as FromWorker);
const abort = new AbortController();
// started at once, in parallel with the start message; awaited before the task runs
const backend = initBackend();
backend.catch(() => undefined);

port.on('message', (msg: ToWorker) => {
  if (msg.type === 'cancel') abort.abort();
  else if (msg.type === 'start') void run(msg);
});

async function run(msg: Extract<ToWorker, { type: 'start' }>): Promise<void> {
  try {
    if (!isJobKind(msg.kind)) throw new AppError('BAD_REQUEST', `unknown job kind "${String(msg.kind)}"`);
    const { result, choice, used } = await runTask(msg.kind, msg);
    if (used.some((b) => b !== choice.name))
      send({
        type: 'log',
        level: 'warn',
        message: `TF.js work ran on ${used.join(', ')}, not on the chosen ${choice.name}`,
      });
    if (abort.signal.aborted) send({ type: 'cancelled' });
    else send({ type: 'done', result: withBackend(result ?? null, choice.name, used) });
  } catch (e) {
    const info = toErrorInfo(e);
    if (abort.signal.aborted || info.code === 'CANCELLED') send({ type: 'cancelled' });
    else send({ type: 'error', error: info });
  }
}

async function runTask<K extends JobKind>(
  kind: K,
  msg: Extract<ToWorker, { type: 'start' }>,
): Promise<{ result: JobOutput<K>; choice: Awaited<typeof backend>; used: string[] }> {
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
  const choice = await backend;
  send({ type: 'log', level: 'info', message: `TF.js backend ${choice.name} (${choice.reason})` });
  const result = await task(params, ctx);
  return { result, choice, used: backendsUsed() };
}

/** An object result records the TF.js backend chosen and the ones the work ran on. */
function withBackend(result: unknown, backendName: string, used: string[]): unknown {
  if (result === null || typeof result !== 'object' || Array.isArray(result)) return result;
  return { ...result, tfjs: { backend: backendName, used } };
}
