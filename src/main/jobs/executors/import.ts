/**
 * Storing a finished trial: the coordinator (the only process that opens SQLite) copies the
 * trial's checkpoints into the run's folder and records its epochs and status. A run is imported
 * once: a run already completed or failed is left as it is, so a trial reported twice (a requeued
 * task that finished after all, a queue job retried) is stored once.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { RunRecord } from '../../../shared/contract/training';
import { BEST_CHECKPOINT, LAST_CHECKPOINT } from '../../ml/runs/train';
import type { RunStore } from '../../store/runs';
import { TRIAL_RUN, type TrialOutcome } from './trial';

export function importTrial(runs: RunStore, outcome: TrialOutcome, trialFolder: string): RunRecord | null {
  const run = runs.get(outcome.runId);
  if (run.status === 'completed' || run.status === 'failed') return null;
  const src = path.join(trialFolder, TRIAL_RUN);
  fs.mkdirSync(run.folder, { recursive: true });
  let best: string | null = null;
  let last: string | null = null;
  for (const name of [BEST_CHECKPOINT, LAST_CHECKPOINT]) {
    const from = path.join(src, name);
    if (!fs.existsSync(from)) continue;
    const to = path.join(run.folder, name);
    // copy then rename, so the run's folder never holds half a checkpoint
    fs.copyFileSync(from, `${to}.importing`);
    fs.renameSync(`${to}.importing`, to);
    if (name === BEST_CHECKPOINT) best = to;
    else last = to;
  }
  runs.markRunning(run.id, outcome.engine ?? 'unknown');
  for (const e of outcome.epochs) runs.recordEpoch(run.id, e);
  runs.setCheckpoints(run.id, best, last);
  return runs.finish(
    run.id,
    outcome.status,
    outcome.error ? { code: outcome.error.code, message: `${outcome.error.message} (on ${outcome.host})` } : null,
  );
}
