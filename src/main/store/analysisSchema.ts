/**
 * The analysis tables, as one migration step (kept beside migrations.ts so the shared list only
 * gains one entry):
 * - text_edits: a user's counterfactual text for a dataset sample or a clip, with the run that
 *   scored it and the predictions it gave (counterfactual, factual, debiased over tau);
 * - robustness_sweeps: one 'analysis.robustness' job's curves (metric vs missing rate per
 *   protocol, AUILC) for a run;
 * - ood_comparisons: one 'analysis.compareOod' job's IID vs OOD comparison for a run.
 */
import type Database from 'better-sqlite3';

export function createAnalysisTables(db: Database.Database): void {
  db.exec(`
    CREATE TABLE text_edits (
      id INTEGER PRIMARY KEY,
      run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
      target_kind TEXT NOT NULL CHECK (target_kind IN ('sample','clip')),
      dataset_id INTEGER REFERENCES datasets(id) ON DELETE CASCADE,
      split TEXT CHECK (split IS NULL OR split IN ('train','valid','test')),
      sample_index INTEGER,
      clip_id INTEGER REFERENCES clips(id) ON DELETE CASCADE,
      name TEXT NOT NULL,
      token_ids_json TEXT NOT NULL,
      missing_json TEXT NOT NULL,
      prediction_json TEXT NOT NULL,
      created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL,
      CHECK ((target_kind = 'sample' AND split IS NOT NULL AND sample_index IS NOT NULL AND clip_id IS NULL)
          OR (target_kind = 'clip' AND clip_id IS NOT NULL AND split IS NULL AND sample_index IS NULL))
    );
    CREATE INDEX text_edits_by_sample ON text_edits(dataset_id, split, sample_index);
    CREATE INDEX text_edits_by_clip ON text_edits(clip_id);
    CREATE INDEX text_edits_by_run ON text_edits(run_id);
    CREATE TABLE robustness_sweeps (
      id INTEGER PRIMARY KEY,
      run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
      job_id INTEGER REFERENCES jobs(id) ON DELETE SET NULL,
      seed INTEGER NOT NULL,
      checkpoint TEXT NOT NULL CHECK (checkpoint IN ('best','last')),
      curves_json TEXT NOT NULL,
      engine TEXT NOT NULL,
      text_note TEXT NOT NULL DEFAULT '',
      created_at TEXT NOT NULL
    );
    CREATE INDEX robustness_sweeps_by_run ON robustness_sweeps(run_id, id);
    CREATE TABLE ood_comparisons (
      id INTEGER PRIMARY KEY,
      run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
      job_id INTEGER REFERENCES jobs(id) ON DELETE SET NULL,
      iid_dataset_id INTEGER REFERENCES datasets(id) ON DELETE SET NULL,
      ood_dataset_id INTEGER REFERENCES datasets(id) ON DELETE SET NULL,
      result_json TEXT NOT NULL,
      created_at TEXT NOT NULL
    );
    CREATE INDEX ood_comparisons_by_run ON ood_comparisons(run_id, id);
  `);
}
