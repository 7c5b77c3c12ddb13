/**
 * The 'analysis.robustness' and 'analysis.compareOod' jobs: whole test splits through a run's
 * model, so they run in a worker with progress and cancel. Each worker opens its own connection to
 * <dataDir>/cider.sqlite (WAL) and stores its result (AnalysisStore) before it reports success.
 */
import path from 'node:path';
import fs from 'node:fs';
import { AppError } from '../../../shared/errors';
import type { TauRule } from '../../../shared/contract/training';
import { openDatabase } from '../../store/db';
import { databaseFile, textCacheDir } from '../../store/paths';
import { RunStore } from '../../store/runs';
import { AnalysisStore } from '../../store/analysis';
import { BEST_CHECKPOINT, LAST_CHECKPOINT } from '../../ml/runs/train';
import { runRobustness } from '../../ml/analysis/robustness';
import { compareIidOod } from '../../ml/analysis/oodCompare';
import { comparisonResult } from '../executors/records';
import type { JobOutput, JobParams } from '../../../shared/jobs';
import type { TaskContext } from '../protocol';

function open(dataDir: string) {
  const db = openDatabase(databaseFile(dataDir));
  return { db, runs: new RunStore(db), analysis: new AnalysisStore(db) };
}

function checkpointOf(folder: string, runId: number, which: 'best' | 'last'): string {
  const file = path.join(folder, which === 'best' ? BEST_CHECKPOINT : LAST_CHECKPOINT);
  if (!fs.existsSync(file))
    throw new AppError('CONFLICT', `run ${runId} has no ${which} checkpoint yet (${file}); train at least one epoch`);
  return file;
}

const asCancel = (e: unknown, ctx: TaskContext): unknown =>
  ctx.signal.aborted ? new AppError('CANCELLED', 'cancelled by the user') : e;

export async function robustnessTask(
  { runId, checkpoint: which, seed, protocols, rates }: JobParams<'analysis.robustness'>,
  ctx: TaskContext<'analysis.robustness'>,
): Promise<JobOutput<'analysis.robustness'>> {
  const { db, runs, analysis } = open(ctx.dataDir);
  try {
    const run = runs.get(runId);
    let samples = 0;
    let engine = '';
    try {
      const r = await runRobustness({
        checkpointFile: checkpointOf(run.folder, runId, which),
        datasetDir: run.datasetFolder,
        protocols,
        rates,
        seed,
        cacheDir: textCacheDir(ctx.dataDir),
        signal: ctx.signal,
        onStart: (s) => {
          samples = s.count;
          engine = s.engine;
          ctx.log('info', `engine ${s.engine}; ${s.count} test samples; ${s.textNote}`);
        },
        onProgress: (done, total, message) => ctx.progress(done / total, message, { runId, done, total }),
      });
      for (const c of r.curves) if (c.skipped) ctx.log('warn', `${c.protocol} skipped: ${c.skipped}`);
      const sweepId = analysis.addSweep({
        runId,
        jobId: ctx.jobId,
        seed,
        checkpoint: which,
        curves: r.curves,
        engine: engine || r.engine,
        textNote: r.textNote,
      });
      return { sweepId, runId, curves: r.curves.length, samples };
    } catch (e) {
      throw asCancel(e, ctx);
    }
  } finally {
    db.close();
  }
}

export async function compareOodTask(
  { runId, checkpoint: which, iid, ood, withRunId: withRunParam, tauRule: rule }: JobParams<'analysis.compareOod'>,
  ctx: TaskContext<'analysis.compareOod'>,
): Promise<JobOutput<'analysis.compareOod'>> {
  const withRunId = withRunParam ?? null;
  const tauRule: TauRule = rule ?? 'validation';
  const { db, runs, analysis } = open(ctx.dataDir);
  try {
    const run = runs.get(runId);
    const withRun = withRunId === null ? null : runs.get(withRunId);
    try {
      const r = await compareIidOod({
        checkpointFile: checkpointOf(run.folder, runId, which),
        runDatasetDir: run.datasetFolder,
        iidDir: iid.dir,
        oodDir: ood.dir,
        ...(withRun
          ? {
              paired: {
                checkpointFile: checkpointOf(withRun.folder, withRun.id, which),
                runDatasetDir: withRun.datasetFolder,
              },
            }
          : {}),
        tauRule,
        cacheDir: textCacheDir(ctx.dataDir),
        signal: ctx.signal,
        onProgress: (done, total, message) => ctx.progress(done / total, message, { runId, done, total }),
      });
      for (const s of [r.iid, r.ood, ...(r.paired ? [r.paired.ood] : [])])
        if (s.overlap) ctx.log(s.overlap.removed ? 'warn' : 'info', s.overlap.note);
      const comparisonId = analysis.addComparison({
        runId,
        jobId: ctx.jobId,
        iidDatasetId: iid.id,
        oodDatasetId: ood.id,
        result: comparisonResult(r, iid, ood, withRun),
      });
      ctx.log(
        'info',
        `engine ${r.engine}; tau ${r.selectedTau ?? 'n/a'} (${r.tauRule === 'reference' ? 'reference protocol: best on each test split' : `${r.tauRule}, ${r.selectionMetric}`})${r.balanced ? `; ${r.balanced.description}` : ''}`,
      );
      return { comparisonId, runId };
    } catch (e) {
      throw asCancel(e, ctx);
    }
  } finally {
    db.close();
  }
}
