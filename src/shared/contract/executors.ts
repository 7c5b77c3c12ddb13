/**
 * Where the trials of a multi-run job (a search, an ablation) run: here (local), as a SLURM job
 * array, or on `cider worker` processes sharing a Redis queue (BullMQ). SQLite is only ever opened
 * by the coordinator (this app): remote trials write folders or queue results that it imports.
 */
import { z } from 'zod';

export const EXECUTOR_KINDS = ['local', 'slurm', 'queue'] as const;
export type ExecutorKind = (typeof EXECUTOR_KINDS)[number];

const slurmWord = (what: string) =>
  z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9_.,:-]+$/, `${what}: letters, digits and _ . , : - only`)
    .max(200);

export const slurmExecutorSchema = z
  .object({
    kind: z.literal('slurm'),
    /** sbatch --partition; the cluster's default partition when absent */
    partition: slurmWord('partition').optional(),
    /** sbatch --time, e.g. 02:00:00 or 1-00:00:00 */
    time: z
      .string()
      .trim()
      .regex(/^(\d+-)?\d{1,3}(:\d{2}){0,2}$/, 'time: minutes, HH:MM:SS or D-HH:MM:SS')
      .optional(),
    cpusPerTask: z.number().int().min(1).max(1024).default(2),
    /** sbatch --mem, e.g. 8G */
    mem: z
      .string()
      .trim()
      .regex(/^\d+[KMGT]?$/, 'mem: a number with an optional K, M, G or T')
      .optional(),
    /** GPUs per task (0: none) */
    gpus: z.number().int().min(0).max(64).default(0),
    /**
     * a folder every compute node sees at the same path (the trial folders go here); default
     * <data folder>/cluster, which then must be on the shared filesystem
     */
    sharedDir: z.string().trim().min(1).max(4096).optional(),
    /** a trial that dies without an outcome is requeued until it has been started this often */
    maxAttempts: z.number().int().min(1).max(20).default(3),
  })
  .strict();
export type SlurmExecutorOptions = z.output<typeof slurmExecutorSchema>;

export const queueExecutorSchema = z
  .object({
    kind: z.literal('queue'),
    /** redis://HOST:PORT (or rediss:// for TLS) */
    url: z
      .string()
      .trim()
      .regex(/^rediss?:\/\/[^\s/]+(:\d+)?(\/\d+)?$/, 'url: redis://HOST:PORT'),
    /** a trial is tried at most this often (a worker that dies mid-trial uses up one attempt) */
    maxAttempts: z.number().int().min(1).max(20).default(3),
  })
  .strict();
export type QueueExecutorOptions = z.output<typeof queueExecutorSchema>;

export const executorSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('local') }).strict(),
  slurmExecutorSchema,
  queueExecutorSchema,
]);
export type ExecutorSpec = z.output<typeof executorSchema>;
export type ExecutorSpecInput = z.input<typeof executorSchema>;

/** The BullMQ queue every coordinator and worker of this app version uses. */
export const TRIAL_QUEUE = 'cider-trials';
