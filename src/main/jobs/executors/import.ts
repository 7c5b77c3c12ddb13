/**
 * Storing a finished trial: the coordinator (the only process that opens SQLite) copies the
 * trial's checkpoints into the run's folder and records, in ONE transaction, what the trial
 * produced: the run's epochs and status (search, ablation), the RMFM evaluation and the IID/OOD
 * comparison (ablation), the robustness sweep (robustness). A trial is imported once: a run already
 * completed or failed, or a sweep this job already stored for the run, is left as it is, so a trial
 * reported twice (a requeued task that finished after all, a queue job retried) is stored once.
 * An outcome that is not one, or a completed training trial without its checkpoint, is refused
 * with the file named, before anything is written.
 */
import fs from 'node:fs';
import path from 'node:path';
import { BEST_CHECKPOINT, LAST_CHECKPOINT } from '../../ml/runs/train';
import type { Db } from '../../store/db';
import { RunStore } from '../../store/runs';
import { AnalysisStore } from '../../store/analysis';
import { TRIAL_OUTCOME, TRIAL_RUN, readTrialOutcome, type TrialOutcome } from './trial';

/** What the store holds for one trial once imported. */
export interface ImportedTrial {
  trial: number;
  runId: number;
  status: 'completed' | 'failed';
  error: string | null;
  evaluationIds: number[];
  comparisonId: number | null;
  sweepId: number | null;
}

function checkFiles(outcome: TrialOutcome, trialFolder: string): void {
  if (outcome.status !== 'completed') return;
  if (outcome.kind === 'robustness') {
    if (!outcome.records.sweep)
      throw new Error(`${path.join(trialFolder, TRIAL_OUTCOME)}: a completed robustness trial without its sweep`);
    return;
  }
  const best = path.join(trialFolder, TRIAL_RUN, BEST_CHECKPOINT);
  const last = path.join(trialFolder, TRIAL_RUN, LAST_CHECKPOINT);
  if (!fs.existsSync(best) && !fs.existsSync(last))
    throw new Error(`${path.join(trialFolder, TRIAL_RUN)}: the trial says it completed but left no checkpoint`);
  if (outcome.kind === 'ablation') {
    const r = outcome.records;
    if (!r.evaluations || !r.comparison)
      throw new Error(
        `${path.join(trialFolder, TRIAL_OUTCOME)}: a completed ablation trial without its ${!r.evaluations ? 'RMFM evaluation' : 'IID/OOD comparison'}`,
      );
  }
}

/**
 * Store one trial's outcome (already parsed: readTrialOutcome / parseTrialOutcome). Returns null
 * when it was stored before. Throws (nothing stored) when the outcome or its files are not usable.
 */
export function importTrial(db: Db, outcome: TrialOutcome, trialFolder: string): ImportedTrial | null {
  const runs = new RunStore(db);
  const analysis = new AnalysisStore(db);
  const run = runs.get(outcome.runId);
  const result: ImportedTrial = {
    trial: outcome.trial,
    runId: run.id,
    status: outcome.status,
    error: outcome.error ? `${outcome.error.message} (on ${outcome.host})` : null,
    evaluationIds: [],
    comparisonId: null,
    sweepId: null,
  };
  if (outcome.kind === 'robustness') {
    checkFiles(outcome, trialFolder);
    if (analysis.sweeps([run.id]).some((s) => s.jobId === outcome.jobId)) return null;
    if (outcome.status !== 'completed') return result;
    const s = outcome.records.sweep!;
    result.sweepId = analysis.addSweep({ runId: run.id, jobId: outcome.jobId, ...s });
    return result;
  }
  if (run.status === 'completed' || run.status === 'failed') return null;
  checkFiles(outcome, trialFolder);
  // copy then rename, so the run's folder never holds half a checkpoint
  const copied: Record<string, string> = {};
  const src = path.join(trialFolder, TRIAL_RUN);
  fs.mkdirSync(run.folder, { recursive: true });
  for (const name of [BEST_CHECKPOINT, LAST_CHECKPOINT]) {
    const from = path.join(src, name);
    if (!fs.existsSync(from)) continue;
    const to = path.join(run.folder, name);
    fs.copyFileSync(from, `${to}.importing`);
    fs.renameSync(`${to}.importing`, to);
    copied[name] = to;
  }
  try {
    db.transaction(() => {
      runs.markRunning(run.id, outcome.engine ?? 'unknown');
      for (const e of outcome.epochs) runs.recordEpoch(run.id, e);
      runs.setCheckpoints(run.id, copied[BEST_CHECKPOINT] ?? null, copied[LAST_CHECKPOINT] ?? null);
      const r = outcome.records;
      for (const e of r.evaluations ?? [])
        result.evaluationIds.push(runs.addEvaluation({ ...e, runId: run.id, jobId: outcome.jobId }).id);
      if (r.comparison)
        result.comparisonId = analysis.addComparison({ ...r.comparison, runId: run.id, jobId: outcome.jobId });
      runs.finish(run.id, outcome.status, outcome.error ? { code: outcome.error.code, message: result.error! } : null);
    })();
  } catch (e) {
    // the store refused it (rolled back): the run's folder goes back to holding nothing of it either
    for (const file of Object.values(copied)) fs.rmSync(file, { force: true });
    throw e;
  }
  return result;
}

/** Read a finished trial folder's outcome and store it (null: not finished yet, or stored before). */
export function importTrialFolder(db: Db, trialFolder: string): ImportedTrial | null {
  const outcome = readTrialOutcome(trialFolder);
  return outcome ? importTrial(db, outcome, trialFolder) : null;
}
