/**
 * One trial of a multi-run job (a search or an ablation), run where SQLite is out of reach: on a
 * SLURM compute node or a queue worker. The trial trains its run into its own folder and writes
 * what the coordinator needs to store it:
 *
 *   <folder>/spec.json       what to train (written by the coordinator)
 *   <folder>/run/            checkpoints (best.safetensors, last.safetensors)
 *   <folder>/epochs.jsonl    one line per finished epoch, appended as training goes (progress)
 *   <folder>/outcome.json    written last, atomically (temp file + rename): the trial is over
 *
 * A trial started again in the same folder (a requeued array task) resumes from the last finished
 * epoch. The coordinator imports a folder once: outcome.json is the only signal that it may.
 * Never opens the database.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { trainingOptionsSchema } from '../../../shared/contract/training';
import { runTraining, type EpochRecord } from '../../ml/runs/train';

export const TRIAL_SPEC = 'spec.json';
export const TRIAL_OUTCOME = 'outcome.json';
export const TRIAL_EPOCHS = 'epochs.jsonl';
export const TRIAL_RUN = 'run';

export const trialSpecSchema = z
  .object({
    version: z.literal(1),
    /** the coordinator's job id and the trial's number (1-based) */
    jobId: z.number().int().positive(),
    trial: z.number().int().positive(),
    /** the run the coordinator created for this trial */
    runId: z.number().int().positive(),
    name: z.string(),
    /** must be readable at this path wherever the trial runs (shared filesystem) */
    datasetFolder: z.string().min(1),
    options: trainingOptionsSchema,
  })
  .strict();
export type TrialSpec = z.output<typeof trialSpecSchema>;

export interface TrialOutcome {
  version: 1;
  jobId: number;
  trial: number;
  runId: number;
  status: 'completed' | 'failed';
  engine: string | null;
  host: string;
  /** how many times the trial was started in this folder */
  attempt: number;
  epochs: EpochRecord[];
  bestEpoch: number | null;
  bestMetric: number | null;
  stopped: string | null;
  error: { code: string; message: string } | null;
  finishedAt: string;
}

export function writeTrialSpec(folder: string, spec: TrialSpec): void {
  fs.mkdirSync(folder, { recursive: true });
  writeAtomically(path.join(folder, TRIAL_SPEC), JSON.stringify(trialSpecSchema.parse(spec), null, 1));
}

export function readTrialSpec(folder: string): TrialSpec {
  const file = path.join(folder, TRIAL_SPEC);
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: cannot read the trial's spec (${(e as Error).message})`);
  }
  const parsed = trialSpecSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`${file}: not a trial spec (${parsed.error.issues[0]?.message})`);
  return parsed.data;
}

/** The outcome, or null while the trial has not finished (no outcome.json yet). */
export function readTrialOutcome(folder: string): TrialOutcome | null {
  const file = path.join(folder, TRIAL_OUTCOME);
  if (!fs.existsSync(file)) return null;
  return JSON.parse(fs.readFileSync(file, 'utf8')) as TrialOutcome;
}

/** Epochs finished so far (the last record per epoch: a resumed attempt replays the epoch it was in). */
export function readTrialEpochs(folder: string): EpochRecord[] {
  const file = path.join(folder, TRIAL_EPOCHS);
  if (!fs.existsSync(file)) return [];
  const byEpoch = new Map<number, EpochRecord>();
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      const e = JSON.parse(line) as EpochRecord;
      byEpoch.set(e.epoch, e);
      // epochs after a replayed one belong to the abandoned attempt
      for (const k of [...byEpoch.keys()]) if (k > e.epoch) byEpoch.delete(k);
    } catch {
      // a line cut by a killed process: the epoch is replayed by the next attempt
    }
  }
  return [...byEpoch.values()].sort((a, b) => a.epoch - b.epoch);
}

function writeAtomically(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

/**
 * Train the trial in `folder` (spec.json must be there). Resumes from the folder's last checkpoint
 * when an earlier attempt left one. Writes outcome.json last; a failure is an outcome too
 * ('failed', with the message), so the coordinator stores it instead of waiting.
 */
export async function runTrialFolder(
  folder: string,
  o: { signal?: AbortSignal; log?: (level: 'info' | 'warn', message: string) => void; cacheDir?: string } = {},
): Promise<TrialOutcome> {
  const spec = readTrialSpec(folder);
  const log = o.log ?? (() => undefined);
  const attemptFile = path.join(folder, 'attempts');
  const attempt = (fs.existsSync(attemptFile) ? Number(fs.readFileSync(attemptFile, 'utf8')) || 0 : 0) + 1;
  fs.writeFileSync(attemptFile, String(attempt));
  const runDir = path.join(folder, TRIAL_RUN);
  const epochsFile = path.join(folder, TRIAL_EPOCHS);
  let engine: string | null = null;
  const base = { version: 1 as const, jobId: spec.jobId, trial: spec.trial, runId: spec.runId, host: os.hostname() };
  log('info', `trial ${spec.trial} (run ${spec.runId}) attempt ${attempt} on ${os.hostname()}`);
  let outcome: TrialOutcome;
  try {
    const r = await runTraining({
      datasetDir: spec.datasetFolder,
      runDir,
      options: spec.options,
      cacheDir: o.cacheDir ?? path.join(folder, 'text-cache'),
      resume: attempt > 1,
      signal: o.signal,
      log,
      onStart: (s) => {
        engine = s.engine;
        if (s.startEpoch > 1) log('info', `resumed at epoch ${s.startEpoch}`);
      },
      onEpoch: (e) => {
        fs.appendFileSync(epochsFile, JSON.stringify(e) + '\n');
        log('info', `epoch ${e.epoch}: validation ${e.selectionValue ?? 'n/a'}${e.improved ? ' (best)' : ''}`);
      },
    });
    outcome = {
      ...base,
      status: 'completed',
      engine,
      attempt,
      epochs: readTrialEpochs(folder),
      bestEpoch: r.bestEpoch,
      bestMetric: r.bestMetric,
      stopped: r.stopped,
      error: null,
      finishedAt: new Date().toISOString(),
    };
  } catch (e) {
    // a cancel is not an outcome: the coordinator cancelled the whole job
    if (o.signal?.aborted) throw e;
    outcome = {
      ...base,
      status: 'failed',
      engine,
      attempt,
      epochs: readTrialEpochs(folder),
      bestEpoch: null,
      bestMetric: null,
      stopped: null,
      error: { code: (e as { code?: string }).code ?? 'INTERNAL', message: (e as Error).message },
      finishedAt: new Date().toISOString(),
    };
  }
  writeAtomically(path.join(folder, TRIAL_OUTCOME), JSON.stringify(outcome, null, 1));
  return outcome;
}
