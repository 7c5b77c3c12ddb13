/**
 * The training tables, as one migration step (kept beside migrations.ts so the shared list only
 * gains one entry):
 * - runs: one training run (dataset, options, status, best epoch/metric, checkpoint paths);
 * - run_epochs: every finished epoch's losses by component and validation metrics;
 * - evaluations: one protocol evaluated on a run (points per rate, AUILC, engine 'tfjs-<backend>');
 * - evaluation_predictions: per-sample predictions of the complete-view evaluation.
 */
import type Database from 'better-sqlite3';

export function createRunsTables(db: Database.Database): void {
  db.exec(`
    CREATE TABLE runs (
      id INTEGER PRIMARY KEY,
      project_id INTEGER REFERENCES projects(id) ON DELETE SET NULL,
      dataset_id INTEGER REFERENCES datasets(id) ON DELETE SET NULL,
      dataset_folder TEXT NOT NULL,
      name TEXT NOT NULL DEFAULT '',
      config_json TEXT NOT NULL,
      status TEXT NOT NULL CHECK (status IN ('queued','running','completed','stopped','failed','interrupted')),
      job_id INTEGER REFERENCES jobs(id) ON DELETE SET NULL,
      folder TEXT NOT NULL,
      epochs_done INTEGER NOT NULL DEFAULT 0,
      selection_metric TEXT NOT NULL,
      best_epoch INTEGER,
      best_metric REAL,
      best_checkpoint TEXT,
      last_checkpoint TEXT,
      engine TEXT,
      error_json TEXT,
      created_at TEXT NOT NULL,
      started_at TEXT,
      finished_at TEXT
    );
    CREATE INDEX runs_by_project ON runs(project_id, id);
    CREATE INDEX runs_by_dataset ON runs(dataset_id, id);
    CREATE TABLE run_epochs (
      run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
      epoch INTEGER NOT NULL CHECK (epoch >= 1),
      losses_json TEXT NOT NULL,
      validation_json TEXT NOT NULL,
      selection_value REAL,
      improved INTEGER NOT NULL CHECK (improved IN (0,1)),
      duration_ms REAL NOT NULL,
      created_at TEXT NOT NULL,
      PRIMARY KEY (run_id, epoch)
    );
    CREATE TABLE evaluations (
      id INTEGER PRIMARY KEY,
      run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
      job_id INTEGER REFERENCES jobs(id) ON DELETE SET NULL,
      split TEXT NOT NULL CHECK (split IN ('train','valid','test')),
      protocol TEXT NOT NULL,
      seed INTEGER NOT NULL,
      checkpoint TEXT NOT NULL CHECK (checkpoint IN ('best','last')),
      rates_json TEXT NOT NULL,
      points_json TEXT NOT NULL,
      auilc_json TEXT,
      engine TEXT NOT NULL,
      text_note TEXT NOT NULL DEFAULT '',
      created_at TEXT NOT NULL
    );
    CREATE INDEX evaluations_by_run ON evaluations(run_id, id);
    CREATE TABLE evaluation_predictions (
      evaluation_id INTEGER NOT NULL REFERENCES evaluations(id) ON DELETE CASCADE,
      sample_index INTEGER NOT NULL,
      truth INTEGER NOT NULL,
      prediction INTEGER NOT NULL,
      log_probs_json TEXT NOT NULL,
      PRIMARY KEY (evaluation_id, sample_index)
    ) WITHOUT ROWID;
  `);
}
