/**
 * SLURM: a multi-run job's trials as one job array. Each array task runs the installed `cider trial
 * run <folder>` on a compute node; the folders live under a shared directory; the coordinator
 * watches squeue (and sacct, or scontrol where accounting is off), imports finished folders,
 * requeues tasks that died without an outcome, and cancels the array with scancel.
 *
 * The commands are run through an injected `exec`, so the same code drives a real cluster, the
 * single-node cluster of the tests, or a login node reached some other way.
 */
import { execFile } from 'node:child_process';
import type { SlurmExecutorOptions } from '../../../shared/contract/executors';

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}
export type Exec = (cmd: string, args: string[]) => Promise<ExecResult>;

export const execCommand: Exec = (cmd, args) =>
  new Promise((resolve) => {
    execFile(cmd, args, { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 127) : 0;
      resolve({ code, stdout, stderr: stderr || (err && code === 127 ? err.message : '') });
    });
  });

/** POSIX single quotes: the script passes paths with spaces ("CIDer Studio") through unchanged. */
export const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * The sbatch script of a job array: one task per trial, each running `cider trial run` in
 * <root>/trial-<index>. Shown to the user before submission.
 */
export function sbatchScript(o: {
  jobName: string;
  trials: number;
  root: string;
  cider: string[];
  env?: Record<string, string>;
  options: SlurmExecutorOptions;
}): string {
  const s = o.options;
  const lines = [
    '#!/bin/bash',
    `#SBATCH --job-name=${o.jobName.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 64)}`,
    `#SBATCH --array=1-${o.trials}`,
    `#SBATCH --output=${o.root}/trial-%a/slurm-%A_%a.out`,
    // a task that dies with its node is put back in the queue by SLURM itself; the coordinator
    // requeues the ones that fail without an outcome (killed, out of memory)
    '#SBATCH --requeue',
    '#SBATCH --ntasks=1',
    `#SBATCH --cpus-per-task=${s.cpusPerTask}`,
  ];
  if (s.partition) lines.push(`#SBATCH --partition=${s.partition}`);
  if (s.time) lines.push(`#SBATCH --time=${s.time}`);
  if (s.mem) lines.push(`#SBATCH --mem=${s.mem}`);
  if (s.gpus > 0) lines.push(`#SBATCH --gpus-per-task=${s.gpus}`);
  lines.push('set -euo pipefail');
  for (const [k, v] of Object.entries(o.env ?? {})) lines.push(`export ${k}=${shellQuote(v)}`);
  lines.push(
    `exec ${o.cider.map(shellQuote).join(' ')} trial run ${shellQuote(o.root)}/trial-"$SLURM_ARRAY_TASK_ID"`,
    '',
  );
  return lines.join('\n');
}

/** SLURM job states after which a task will not run again by itself. */
const FINISHED = new Set([
  'COMPLETED',
  'FAILED',
  'CANCELLED',
  'TIMEOUT',
  'NODE_FAIL',
  'OUT_OF_MEMORY',
  'BOOT_FAIL',
  'DEADLINE',
  'PREEMPTED',
]);

export interface TaskState {
  /** SLURM's state word (PENDING, RUNNING, COMPLETED, FAILED, CANCELLED, ...) */
  state: string;
  finished: boolean;
  restarts: number;
}

export class SlurmClient {
  constructor(private readonly exec: Exec = execCommand) {}

  private async run(cmd: string, args: string[]): Promise<string> {
    const r = await this.exec(cmd, args);
    if (r.code !== 0)
      throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.code}): ${(r.stderr || r.stdout).trim()}`);
    return r.stdout;
  }

  /** Is SLURM reachable from here? Returns the reason when not. */
  async check(): Promise<string | null> {
    const r = await this.exec('sinfo', ['-h', '-o', '%P %a']);
    if (r.code === 0) return null;
    return r.code === 127
      ? 'sbatch/sinfo are not installed on this machine: run the coordinator on a login node of the cluster'
      : `sinfo failed (exit ${r.code}): ${(r.stderr || r.stdout).trim()}`;
  }

  /** Submit a script file; returns the array's job id. */
  async submit(scriptFile: string): Promise<number> {
    const out = await this.run('sbatch', ['--parsable', scriptFile]);
    const id = Number(out.trim().split(';')[0]);
    if (!Number.isInteger(id) || id <= 0) throw new Error(`sbatch printed no job id: ${out.trim()}`);
    return id;
  }

  /**
   * Per array index, the latest state SLURM knows: squeue for pending and running tasks, then
   * sacct (when accounting is on) or scontrol for finished ones. An index SLURM no longer knows
   * is absent.
   */
  async states(arrayJobId: number): Promise<Map<number, TaskState>> {
    const out = new Map<number, TaskState>();
    const set = (index: number, state: string, restarts = 0) => {
      const word = state.split(/\s+/)[0].replace(/\+$/, '');
      out.set(index, { state: word, finished: FINISHED.has(word), restarts });
    };
    // scontrol lists every task it still holds (finished ones for MinJobAge), with restarts
    const sc = await this.exec('scontrol', ['show', 'job', '-o', String(arrayJobId)]);
    if (sc.code === 0) {
      for (const line of sc.stdout.split('\n')) {
        const f = fields(line);
        const index = Number(f.ArrayTaskId);
        if (f.ArrayJobId === String(arrayJobId) && Number.isInteger(index))
          set(index, f.JobState ?? 'UNKNOWN', Number(f.Restarts ?? 0));
      }
    }
    const sa = await this.exec('sacct', ['-n', '-P', '-X', '-j', String(arrayJobId), '-o', 'JobID,State']);
    if (sa.code === 0) {
      for (const line of sa.stdout.split('\n')) {
        const m = /^(\d+)_(\d+)\|(.+)$/.exec(line.trim());
        if (m && Number(m[1]) === arrayJobId && !out.has(Number(m[2]))) set(Number(m[2]), m[3]);
      }
    }
    const sq = await this.exec('squeue', ['-h', '-r', '-j', String(arrayJobId), '-o', '%i %T']);
    if (sq.code === 0) {
      for (const line of sq.stdout.split('\n')) {
        const m = /^(\d+)_(\d+)\s+(\S+)/.exec(line.trim());
        if (m && Number(m[1]) === arrayJobId) set(Number(m[2]), m[3], out.get(Number(m[2]))?.restarts ?? 0);
      }
    }
    return out;
  }

  /** Put a task that died back in the queue, to start at once. */
  async requeue(arrayJobId: number, index: number): Promise<void> {
    const id = `${arrayJobId}_${index}`;
    await this.run('scontrol', ['requeue', id]);
    // a requeued job waits out a begin-time delay; the trial is ready now
    await this.exec('scontrol', ['update', `JobId=${id}`, 'StartTime=now']);
  }

  async cancel(arrayJobId: number): Promise<void> {
    await this.run('scancel', [String(arrayJobId)]);
  }
}

function fields(line: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of line.matchAll(/(\w+)=(\S*)/g)) if (!(m[1] in out)) out[m[1]] = m[2];
  return out;
}
