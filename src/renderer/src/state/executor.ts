/**
 * Where a multi-run job's trials run, as a form (the Search tab, the Ablation panel, the
 * robustness sweep of several runs share it): pure helpers, tested in
 * test/unit/renderer/search-reducer.test.ts and executor-form.test.ts.
 */
import type { ExecutorKind, ExecutorSpecInput } from '../../../shared/contract/executors';

export interface ExecutorForm {
  /** where the trials run */
  executor: ExecutorKind;
  /** SLURM: empty = the cluster's default / sbatch's default */
  partition: string;
  time: string;
  cpusPerTask: number;
  mem: string;
  gpus: number;
  sharedDir: string;
  /** queue: redis://HOST:PORT */
  queueUrl: string;
}

/** local by default */
export const initialExecutorForm: ExecutorForm = {
  executor: 'local',
  partition: '',
  time: '',
  cpusPerTask: 2,
  mem: '',
  gpus: 0,
  sharedDir: '',
  queueUrl: '',
};

export function executorFormErrors(f: ExecutorForm): string[] {
  const out: string[] = [];
  if (f.executor === 'slurm') {
    if (!Number.isInteger(f.cpusPerTask) || f.cpusPerTask < 1) out.push('CPUs per task: a positive whole number');
    if (!Number.isInteger(f.gpus) || f.gpus < 0) out.push('GPUs per task: a whole number >= 0');
    if (f.time && !/^(\d+-)?\d{1,3}(:\d{2}){0,2}$/.test(f.time)) out.push('time limit: HH:MM:SS or D-HH:MM:SS');
    if (f.mem && !/^\d+[KMGT]?$/.test(f.mem)) out.push('memory: e.g. 8G');
  }
  if (f.executor === 'queue' && !/^rediss?:\/\/[^\s/]+(:\d+)?(\/\d+)?$/.test(f.queueUrl))
    out.push('queue: redis://HOST:PORT');
  return out;
}

/** The executor the form describes, as search.start, ablation.start and analysis.robustnessRuns take it. */
export function executorOf(f: ExecutorForm): ExecutorSpecInput {
  if (f.executor === 'queue') return { kind: 'queue', url: f.queueUrl.trim() };
  if (f.executor === 'local') return { kind: 'local' };
  const opt = (v: string) => (v.trim() ? v.trim() : undefined);
  return {
    kind: 'slurm',
    partition: opt(f.partition),
    time: opt(f.time),
    cpusPerTask: f.cpusPerTask,
    mem: opt(f.mem),
    gpus: f.gpus,
    sharedDir: opt(f.sharedDir),
  };
}

/** What the executor choice says in a job's description. */
export const executorPlace = (kind: ExecutorKind): string =>
  kind === 'local' ? 'this machine' : kind === 'slurm' ? 'SLURM' : 'the job queue';
