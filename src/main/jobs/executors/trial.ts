/**
 * One trial of a multi-run job, run where SQLite is out of reach: on a SLURM compute node or a
 * queue worker. Three kinds share one folder format:
 * - 'search': train one run;
 * - 'ablation': train one variant's run, evaluate it under RMFM on the IID test split (AUILC) and
 *   compare IID vs OOD (plain and MACI-debiased);
 * - 'robustness': the missing-modality sweep of an existing run's checkpoint (no training).
 * The trial writes what the coordinator needs to store it:
 *
 *   <folder>/spec.json       what to do (written by the coordinator; `kind` says which)
 *   <folder>/run/            checkpoints (best.safetensors, last.safetensors) of a trained run
 *   <folder>/epochs.jsonl    one line per finished epoch, appended as training goes
 *   <folder>/progress.json   the trial's fraction done and what it is doing (rewritten as it goes)
 *   <folder>/outcome.json    written last, atomically (temp file + rename): the trial is over; holds
 *                            the records (evaluations, comparison, sweep) the coordinator imports
 *
 * A trial started again in the same folder (a requeued array task) resumes from the last finished
 * epoch. The coordinator imports a folder once: outcome.json is the only signal that it may.
 * Never opens the database.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { evaluationOptionsSchema, TAU_RULES, trainingOptionsSchema } from '../../../shared/contract/training';
import type { OodComparison } from '../../../shared/contract/analysis';
import { runTraining, BEST_CHECKPOINT, type EpochRecord } from '../../ml/runs/train';
import { evaluateRun } from '../../ml/runs/evaluate';
import { compareIidOod } from '../../ml/analysis/oodCompare';
import { runRobustness } from '../../ml/analysis/robustness';
import { initBackend } from '../../ml/backends/tf';
import type { NewEvaluation } from '../../store/runs';
import { comparisonResult } from './records';

export const TRIAL_SPEC = 'spec.json';
export const TRIAL_OUTCOME = 'outcome.json';
export const TRIAL_EPOCHS = 'epochs.jsonl';
export const TRIAL_PROGRESS = 'progress.json';
export const TRIAL_RUN = 'run';

export const TRIAL_KINDS = ['search', 'ablation', 'robustness'] as const;
export type TrialKind = (typeof TRIAL_KINDS)[number];

const common = {
  version: z.literal(1),
  /** the coordinator's job id and the trial's number (1-based) */
  jobId: z.number().int().positive(),
  trial: z.number().int().positive(),
  /** the run this trial trains (search, ablation) or sweeps (robustness) */
  runId: z.number().int().positive(),
  name: z.string(),
  /** must be readable at this path wherever the trial runs (shared filesystem) */
  datasetFolder: z.string().min(1),
};
const datasetRef = z.object({ id: z.number().int().positive(), dir: z.string().min(1), name: z.string() }).strict();

const searchTrialSchema = z.object({ ...common, kind: z.literal('search'), options: trainingOptionsSchema }).strict();
const ablationTrialSchema = z
  .object({
    ...common,
    kind: z.literal('ablation'),
    options: trainingOptionsSchema,
    iid: datasetRef,
    ood: datasetRef,
    tauRule: z.enum(TAU_RULES),
    rmfmRates: z.array(z.number().min(0).max(1)).min(2),
  })
  .strict();
const robustnessTrialSchema = z
  .object({
    ...common,
    kind: z.literal('robustness'),
    /** the run's checkpoint, on the shared filesystem */
    checkpointFile: z.string().min(1),
    checkpoint: z.enum(['best', 'last']),
    protocols: z.array(z.string().min(1)).min(1),
    rates: z.array(z.number().min(0).max(1)).min(1),
    seed: z.number().int().min(0),
  })
  .strict();

export const trialSpecSchema = z.preprocess(
  // folders written before trials had kinds are search trials
  (raw) => (raw && typeof raw === 'object' && !('kind' in raw) ? { ...raw, kind: 'search' } : raw),
  z.discriminatedUnion('kind', [searchTrialSchema, ablationTrialSchema, robustnessTrialSchema]),
);
export type TrialSpec = z.output<typeof trialSpecSchema>;
export type TrialSpecOf<K extends TrialKind> = Extract<TrialSpec, { kind: K }>;
/** the kinds that train a run of their own (created by the coordinator for this trial) */
export const trainsRun = (s: { kind: TrialKind }): boolean => s.kind !== 'robustness';

/** What a trial produced besides its run's checkpoints and epochs: the records the coordinator stores. */
export interface TrialRecords {
  /** ablation: the RMFM evaluation(s) of the IID test split */
  evaluations?: Omit<NewEvaluation, 'runId' | 'jobId'>[];
  /** ablation: the IID vs OOD comparison */
  comparison?: {
    iidDatasetId: number | null;
    oodDatasetId: number | null;
    result: Omit<OodComparison, 'id' | 'runId' | 'jobId' | 'createdAt'>;
  };
  /** robustness: the sweep of the run's checkpoint */
  sweep?: {
    seed: number;
    checkpoint: 'best' | 'last';
    curves: Awaited<ReturnType<typeof runRobustness>>['curves'];
    engine: string;
    textNote: string;
  };
}

const epochSchema = z
  .object({ epoch: z.number().int().positive(), losses: z.record(z.string(), z.number()) })
  .passthrough();
const outcomeSchema = z
  .object({
    version: z.literal(1),
    kind: z.enum(TRIAL_KINDS).default('search'),
    jobId: z.number().int().positive(),
    trial: z.number().int().positive(),
    runId: z.number().int().positive(),
    status: z.enum(['completed', 'failed']),
    engine: z.string().nullable(),
    host: z.string(),
    attempt: z.number().int().min(0),
    epochs: z.array(epochSchema),
    bestEpoch: z.number().nullable(),
    bestMetric: z.number().nullable(),
    stopped: z.string().nullable(),
    error: z.object({ code: z.string(), message: z.string() }).nullable(),
    records: z
      .object({
        evaluations: z
          .array(
            z
              .object({
                protocol: z.string(),
                seed: z.number(),
                checkpoint: z.enum(['best', 'last']),
                points: z.array(z.object({ rate: z.number() }).passthrough()),
                engine: z.string(),
                textNote: z.string(),
              })
              .passthrough(),
          )
          .optional(),
        comparison: z
          .object({
            iidDatasetId: z.number().int().nullable(),
            oodDatasetId: z.number().int().nullable(),
            result: z.object({ iid: z.object({}).passthrough(), ood: z.object({}).passthrough() }).passthrough(),
          })
          .optional(),
        sweep: z
          .object({
            seed: z.number(),
            checkpoint: z.enum(['best', 'last']),
            curves: z.array(z.object({ protocol: z.string() }).passthrough()),
            engine: z.string(),
            textNote: z.string(),
          })
          .optional(),
      })
      .default({}),
    finishedAt: z.string(),
  })
  .passthrough();

export interface TrialOutcome {
  version: 1;
  kind: TrialKind;
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
  records: TrialRecords;
  finishedAt: string;
}

export function writeTrialSpec(folder: string, spec: TrialSpec): void {
  fs.mkdirSync(folder, { recursive: true });
  writeAtomically(path.join(folder, TRIAL_SPEC), JSON.stringify(trialSpecSchema.parse(spec), null, 1));
}

function readJson(file: string, what: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: cannot read the trial's ${what} (${(e as Error).message})`);
  }
}

const firstIssue = (e: z.ZodError) => {
  const i = e.issues[0];
  return i ? `${i.path.length ? `${i.path.join('.')}: ` : ''}${i.message}` : 'invalid';
};

export function readTrialSpec(folder: string): TrialSpec {
  const file = path.join(folder, TRIAL_SPEC);
  const parsed = trialSpecSchema.safeParse(readJson(file, 'spec'));
  if (!parsed.success) throw new Error(`${file}: not a trial spec (${firstIssue(parsed.error)})`);
  return parsed.data;
}

/**
 * The outcome, or null while the trial has not finished (no outcome.json yet). An outcome that
 * cannot be read or is not one throws, naming the file.
 */
export function readTrialOutcome(folder: string): TrialOutcome | null {
  const file = path.join(folder, TRIAL_OUTCOME);
  if (!fs.existsSync(file)) return null;
  return parseTrialOutcome(readJson(file, 'outcome'), file);
}

/** An outcome (from a file or through the queue) checked before anything of it is stored. */
export function parseTrialOutcome(raw: unknown, source: string): TrialOutcome {
  const parsed = outcomeSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`${source}: not a trial outcome (${firstIssue(parsed.error)})`);
  return parsed.data as unknown as TrialOutcome;
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

/** How far the trial is (0..1), from its progress file (0 before it wrote one). */
export function readTrialFraction(folder: string): number {
  try {
    const p = JSON.parse(fs.readFileSync(path.join(folder, TRIAL_PROGRESS), 'utf8')) as { fraction?: unknown };
    return typeof p.fraction === 'number' && p.fraction >= 0 && p.fraction <= 1 ? p.fraction : 0;
  } catch {
    return 0;
  }
}

function writeAtomically(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

/** share of a trial's work per stage (ablation: training, RMFM evaluation, IID/OOD comparison) */
const ABLATION_STAGES = [0.6, 0.2, 0.2];

type Log = (level: 'info' | 'warn', message: string) => void;
interface Stage {
  folder: string;
  cacheDir: string;
  signal?: AbortSignal;
  log: Log;
  progress: (fraction: number, message: string) => void;
}

async function trainInFolder(
  spec: TrialSpecOf<'search' | 'ablation'>,
  attempt: number,
  s: Stage,
  share: number,
): Promise<{ engine: string | null; bestEpoch: number | null; bestMetric: number | null; stopped: string }> {
  let engine: string | null = null;
  const r = await runTraining({
    datasetDir: spec.datasetFolder,
    runDir: path.join(s.folder, TRIAL_RUN),
    options: spec.options,
    cacheDir: s.cacheDir,
    resume: attempt > 1,
    signal: s.signal,
    log: s.log,
    onStart: (st) => {
      engine = st.engine;
      if (st.startEpoch > 1) s.log('info', `resumed at epoch ${st.startEpoch}`);
    },
    onEpoch: (e) => {
      fs.appendFileSync(path.join(s.folder, TRIAL_EPOCHS), JSON.stringify(e) + '\n');
      s.log('info', `epoch ${e.epoch}: validation ${e.selectionValue ?? 'n/a'}${e.improved ? ' (best)' : ''}`);
      s.progress((share * e.epoch) / spec.options.maxEpochs, `epoch ${e.epoch}/${spec.options.maxEpochs}`);
    },
  });
  return { engine, bestEpoch: r.bestEpoch, bestMetric: r.bestMetric, stopped: r.stopped };
}

/** ablation, after training: RMFM on the IID test split and the IID vs OOD comparison */
async function ablationRecords(spec: TrialSpecOf<'ablation'>, s: Stage): Promise<TrialRecords> {
  const checkpointFile = path.join(s.folder, TRIAL_RUN, BEST_CHECKPOINT);
  if (!fs.existsSync(checkpointFile))
    throw new Error(`${checkpointFile}: training left no best checkpoint to evaluate`);
  const [train, evalShare] = ABLATION_STAGES;
  const options = evaluationOptionsSchema.parse({
    protocols: ['RMFM'],
    rates: spec.rmfmRates,
    checkpoint: 'best',
    predictions: false,
  });
  const evaluations: NonNullable<TrialRecords['evaluations']> = [];
  let engine = '';
  let textNote = '';
  await evaluateRun({
    checkpointFile,
    datasetDir: spec.datasetFolder,
    options,
    cacheDir: s.cacheDir,
    signal: s.signal,
    onStart: (st) => {
      engine = st.engine;
      textNote = st.textNote;
    },
    onProgress: (done, total, message) => s.progress(train + (evalShare * done) / total, message),
    onOutcome: (o) => {
      if (o.skipped) s.log('warn', `${o.protocol} skipped: ${o.skipped}`);
      else
        evaluations.push({
          protocol: o.protocol,
          seed: options.seed,
          checkpoint: 'best',
          points: o.points,
          auilc: o.auilc,
          engine,
          textNote,
        });
    },
  });
  s.log('info', `RMFM evaluated (engine ${engine})`);
  const r = await compareIidOod({
    checkpointFile,
    runDatasetDir: spec.datasetFolder,
    iidDir: spec.iid.dir,
    oodDir: spec.ood.dir,
    tauRule: spec.tauRule,
    cacheDir: s.cacheDir,
    signal: s.signal,
    onProgress: (done, total, message) =>
      s.progress(train + evalShare + ((1 - train - evalShare) * done) / total, message),
  });
  s.log('info', `IID vs OOD compared; tau ${r.selectedTau ?? 'n/a'} (${r.tauRule})`);
  return {
    evaluations,
    comparison: {
      iidDatasetId: spec.iid.id,
      oodDatasetId: spec.ood.id,
      result: comparisonResult(r, spec.iid, spec.ood),
    },
  };
}

async function sweepRecords(
  spec: TrialSpecOf<'robustness'>,
  s: Stage,
): Promise<{ records: TrialRecords; engine: string }> {
  if (!fs.existsSync(spec.checkpointFile))
    throw new Error(`${spec.checkpointFile}: the run's checkpoint is not readable here (is the data folder shared?)`);
  let engine = '';
  const r = await runRobustness({
    checkpointFile: spec.checkpointFile,
    datasetDir: spec.datasetFolder,
    protocols: spec.protocols,
    rates: spec.rates,
    seed: spec.seed,
    cacheDir: s.cacheDir,
    signal: s.signal,
    onStart: (st) => {
      engine = st.engine;
      s.log('info', `engine ${st.engine}; ${st.count} test samples`);
    },
    onProgress: (done, total, message) => s.progress(done / total, message),
  });
  for (const c of r.curves) if (c.skipped) s.log('warn', `${c.protocol} skipped: ${c.skipped}`);
  return {
    engine: engine || r.engine,
    records: {
      sweep: {
        seed: spec.seed,
        checkpoint: spec.checkpoint,
        curves: r.curves,
        engine: engine || r.engine,
        textNote: r.textNote,
      },
    },
  };
}

/**
 * Do the trial in `folder` (spec.json must be there). A training trial resumes from the folder's
 * last checkpoint when an earlier attempt left one. Writes outcome.json last; a failure is an
 * outcome too ('failed', with the message), so the coordinator stores it instead of waiting.
 */
export async function runTrialFolder(
  folder: string,
  o: { signal?: AbortSignal; log?: Log; cacheDir?: string } = {},
): Promise<TrialOutcome> {
  const spec = readTrialSpec(folder);
  const log = o.log ?? (() => undefined);
  const attemptFile = path.join(folder, 'attempts');
  const attempt = (fs.existsSync(attemptFile) ? Number(fs.readFileSync(attemptFile, 'utf8')) || 0 : 0) + 1;
  fs.writeFileSync(attemptFile, String(attempt));
  let lastWrite = 0;
  const stage: Stage = {
    folder,
    cacheDir: o.cacheDir ?? path.join(folder, 'text-cache'),
    signal: o.signal,
    log,
    progress: (fraction, message) => {
      // at most twice a second: the coordinator polls, it does not need every batch
      const now = Date.now();
      if (now - lastWrite < 500 && fraction < 1) return;
      lastWrite = now;
      writeAtomically(path.join(folder, TRIAL_PROGRESS), JSON.stringify({ fraction: Math.min(1, fraction), message }));
    },
  };
  const base = {
    version: 1 as const,
    kind: spec.kind,
    jobId: spec.jobId,
    trial: spec.trial,
    runId: spec.runId,
    host: os.hostname(),
    attempt,
  };
  log('info', `${spec.kind} trial ${spec.trial} (run ${spec.runId}) attempt ${attempt} on ${os.hostname()}`);
  let outcome: TrialOutcome;
  let engine: string | null = null;
  try {
    // a trial process is not a job worker, which chooses the TF.js backend as it starts: the sweep
    // and the evaluation use TF.js without choosing one themselves
    await initBackend();
    if (spec.kind === 'robustness') {
      const r = await sweepRecords(spec, stage);
      engine = r.engine;
      outcome = {
        ...base,
        status: 'completed',
        engine,
        epochs: [],
        bestEpoch: null,
        bestMetric: null,
        stopped: null,
        error: null,
        records: r.records,
        finishedAt: new Date().toISOString(),
      };
    } else {
      const t = await trainInFolder(spec, attempt, stage, spec.kind === 'ablation' ? ABLATION_STAGES[0] : 1);
      engine = t.engine;
      const records = spec.kind === 'ablation' ? await ablationRecords(spec, stage) : {};
      outcome = {
        ...base,
        status: 'completed',
        engine,
        epochs: readTrialEpochs(folder),
        bestEpoch: t.bestEpoch,
        bestMetric: t.bestMetric,
        stopped: t.stopped,
        error: null,
        records,
        finishedAt: new Date().toISOString(),
      };
    }
  } catch (e) {
    // a cancel is not an outcome: the coordinator cancelled the whole job
    if (o.signal?.aborted) throw e;
    outcome = {
      ...base,
      status: 'failed',
      engine,
      epochs: readTrialEpochs(folder),
      bestEpoch: null,
      bestMetric: null,
      stopped: null,
      error: { code: (e as { code?: string }).code ?? 'INTERNAL', message: (e as Error).message },
      records: {},
      finishedAt: new Date().toISOString(),
    };
  }
  stage.progress(1, outcome.status);
  writeAtomically(path.join(folder, TRIAL_OUTCOME), JSON.stringify(outcome, null, 1));
  return outcome;
}
