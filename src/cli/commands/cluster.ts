/**
 * The commands that run on other machines and never open the data folder's database:
 * `cider trial run FOLDER` (what a SLURM array task and a queue worker's child run) and
 * `cider worker --queue redis://HOST:PORT`. Also the executor flags of the multi-run commands.
 */
import { slurmExecutorSchema, type ExecutorSpecInput } from '../../shared/contract/executors';
import type { AppServices } from '../../main/services/app';
import { flagNumber, flagString, UsageError, type CommandSpec, type ParsedArgs } from '../args';
import { call, type CliIo } from '../io';

export const CLUSTER_SPECS: Record<string, CommandSpec> = {
  worker: {
    usage: ['worker --queue redis://HOST:PORT [--concurrency N]'],
    summary:
      'take trials of searches, ablations and robustness sweeps started with --executor queue (any\nnumber of machines; the data, dataset and BERT folders must be at the same paths there)',
    options: {
      queue: { type: 'string', value: 'redis://HOST:PORT', help: 'the Redis the coordinator queued the trials on' },
      concurrency: { type: 'integer', value: 'N', help: 'trials at once on this machine (default 1)' },
      'lock-ms': { type: 'integer', value: 'MS', help: "how long a trial's lock lasts unrenewed (default 30000)" },
      'stalled-ms': { type: 'integer', value: 'MS', help: 'how often to look for stalled trials (default 30000)' },
    },
  },
  trial: {
    usage: ['trial run FOLDER'],
    summary: 'run one trial folder (what SLURM array tasks and queue workers run; never opens the database)',
    subcommands: ['run'],
    options: {},
  },
};

/** Executor options of the multi-run commands (search, ablate, robustness --runs), declared once. */
export const EXECUTOR_OPTIONS: CommandSpec['options'] = {
  executor: {
    type: 'string',
    choices: ['local', 'slurm', 'queue'],
    help: 'where the trials run (default local)',
  },
  partition: { type: 'string', value: 'P', help: 'slurm: the partition' },
  time: { type: 'string', value: 'HH:MM:SS', help: 'slurm: time limit per trial' },
  cpus: { type: 'integer', value: 'N', help: 'slurm: CPUs per task (default 2)' },
  mem: { type: 'string', value: '8G', help: 'slurm: memory per task' },
  gpus: { type: 'integer', value: 'N', help: 'slurm: GPUs per task (default 0)' },
  'shared-dir': { type: 'string', value: 'DIR', help: 'slurm: a folder every node sees (default <data>/cluster)' },
  'dry-run': { type: 'boolean', help: 'slurm: print the sbatch script and submit nothing' },
  queue: { type: 'string', value: 'redis://HOST:PORT', help: 'queue: the Redis the workers take trials from' },
};

/** The executor a multi-run command was asked for. */
/**
 * `--dry-run` of a multi-run command: prints the sbatch script `--executor slurm` would submit
 * (the service's `method`, e.g. 'search.sbatchPreview', given the executor and `params`) and starts nothing.
 */
export async function printSbatchPreview(
  app: AppServices,
  io: CliIo,
  executor: ExecutorSpecInput,
  method: string,
  params: Record<string, unknown>,
): Promise<number> {
  if (executor.kind !== 'slurm') throw new UsageError('--dry-run shows the sbatch script of --executor slurm');
  const parsed = slurmExecutorSchema.safeParse(executor);
  if (!parsed.success) throw new UsageError(parsed.error.issues.map((i) => i.message).join('; '));
  const { script } = await call<{ script: string }>(app, method, { executor: parsed.data, ...params });
  io.out(script);
  return 0;
}

export function executorFromFlags(args: ParsedArgs): ExecutorSpecInput {
  const kind = flagString(args, 'executor') ?? 'local';
  if (kind === 'local') return { kind };
  if (kind === 'slurm')
    return {
      kind,
      partition: flagString(args, 'partition'),
      time: flagString(args, 'time'),
      cpusPerTask: flagNumber(args, 'cpus'),
      mem: flagString(args, 'mem'),
      gpus: flagNumber(args, 'gpus'),
      sharedDir: flagString(args, 'shared-dir'),
    };
  if (kind === 'queue') {
    const url = flagString(args, 'queue');
    if (!url) throw new UsageError('--executor queue needs --queue redis://HOST:PORT');
    return { kind, url };
  }
  throw new UsageError(`--executor must be local, slurm or queue, got "${kind}"`);
}

/** Stop on SIGINT/SIGTERM, and (as a queue worker's child) when the parent worker is gone. */
function stopSignal(): AbortController {
  const abort = new AbortController();
  const stop = () => abort.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  if (process.send) process.once('disconnect', stop);
  return abort;
}

export async function runClusterCommand(args: ParsedArgs, io: CliIo): Promise<number> {
  const cmd = args.positionals[0];
  if (cmd === 'trial') {
    const sub = args.positionals[1];
    const folder = args.positionals[2];
    if (sub !== 'run' || !folder) throw new UsageError('usage: cider trial run FOLDER');
    const abort = stopSignal();
    try {
      // loaded here, not at the top: trials load TF.js, onnxruntime and bullmq, which `cider help` must not
      const { runTrialFolder } = await import('../../main/jobs/executors/trial');
      const o = await runTrialFolder(folder, { signal: abort.signal, log: (_l, m) => io.err(m) });
      io.out(`trial ${o.trial} (run ${o.runId}) ${o.status}${o.error ? `: ${o.error.message}` : ''}`);
      // a failed trial is an outcome the coordinator stores; the task itself did its job
      return 0;
    } catch (e) {
      if (abort.signal.aborted) {
        io.err('trial stopped');
        return 130;
      }
      throw e;
    }
  }
  if (cmd === 'worker') {
    const url = flagString(args, 'queue');
    if (!url) throw new UsageError('usage: cider worker --queue redis://HOST:PORT [--concurrency N]');
    const abort = stopSignal();
    const { runQueueWorker } = await import('../../main/jobs/executors/queue');
    await runQueueWorker({
      url,
      concurrency: flagNumber(args, 'concurrency'),
      lockMs: flagNumber(args, 'lock-ms'),
      stalledMs: flagNumber(args, 'stalled-ms'),
      log: (m) => io.out(m),
      signal: abort.signal,
    });
    return 0;
  }
  throw new UsageError(`unknown command "${cmd}"`);
}
