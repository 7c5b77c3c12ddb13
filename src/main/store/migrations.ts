/**
 * Numbered schema migrations. Append only: never edit a migration that has shipped; add a new one
 * and a test for it (test/unit/store/migration-NNN.test.ts).
 */
import type Database from 'better-sqlite3';
import { createRunsTables } from './runsSchema';
import { allowClipsDatasetFormat, createClipsTables } from './clipsSchema';
import { createAnalysisTables } from './analysisSchema';
import { createTiersTables } from './tiersSchema';

export interface Migration {
  version: number;
  name: string;
  up(db: Database.Database): void;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'projects, jobs, job logs, settings',
    up(db) {
      db.exec(`
        CREATE TABLE projects (
          id INTEGER PRIMARY KEY,
          name TEXT NOT NULL UNIQUE COLLATE NOCASE,
          description TEXT NOT NULL DEFAULT '',
          created_at TEXT NOT NULL,
          updated_at TEXT NOT NULL
        );
        CREATE TABLE jobs (
          id INTEGER PRIMARY KEY,
          kind TEXT NOT NULL,
          status TEXT NOT NULL CHECK (status IN ('queued','running','succeeded','failed','cancelled','interrupted')),
          project_id INTEGER REFERENCES projects(id) ON DELETE CASCADE,
          params_json TEXT NOT NULL DEFAULT '{}',
          progress_json TEXT NOT NULL DEFAULT '{"fraction":null,"message":""}',
          result_json TEXT,
          error_json TEXT,
          created_at TEXT NOT NULL,
          started_at TEXT,
          finished_at TEXT
        );
        CREATE INDEX jobs_by_status ON jobs(status);
        CREATE INDEX jobs_by_project ON jobs(project_id, id);
        CREATE TABLE job_logs (
          id INTEGER PRIMARY KEY,
          job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
          time TEXT NOT NULL,
          level TEXT NOT NULL CHECK (level IN ('info','warn','error')),
          message TEXT NOT NULL
        );
        CREATE INDEX job_logs_by_job ON job_logs(job_id, id);
        CREATE TABLE settings (
          key TEXT PRIMARY KEY,
          value_json TEXT NOT NULL
        );
      `);
    },
  },
  {
    version: 2,
    name: 'datasets (benchmark data in the on-disk feature store, indexed here)',
    up(db) {
      db.exec(`
        CREATE TABLE datasets (
          id INTEGER PRIMARY KEY,
          name TEXT NOT NULL UNIQUE COLLATE NOCASE,
          kind TEXT NOT NULL CHECK (kind IN ('iid','ood')),
          parent_id INTEGER REFERENCES datasets(id),
          format TEXT NOT NULL CHECK (format IN ('mmsa-pickle','joblib','csd','ood-split')),
          source_files_json TEXT NOT NULL DEFAULT '[]',
          folder TEXT NOT NULL UNIQUE,
          aligned INTEGER NOT NULL CHECK (aligned IN (0,1)),
          dims_json TEXT NOT NULL,
          train_count INTEGER NOT NULL,
          valid_count INTEGER NOT NULL,
          test_count INTEGER NOT NULL,
          label_counts_json TEXT NOT NULL,
          ood_record_json TEXT,
          extras_json TEXT NOT NULL DEFAULT '[]',
          warnings_json TEXT NOT NULL DEFAULT '[]',
          created_at TEXT NOT NULL,
          CHECK (parent_id IS NULL OR kind = 'ood')
        );
        CREATE INDEX datasets_by_parent ON datasets(parent_id);
      `);
    },
  },
  {
    version: 3,
    name: 'training runs, their epochs, evaluations and per-sample predictions',
    up: createRunsTables,
  },
  {
    version: 4,
    name: "clips: videos, transcripts, annotators, annotations, feature records; datasets may have format 'clips'",
    up(db) {
      createClipsTables(db);
      allowClipsDatasetFormat(db);
    },
  },
  {
    version: 5,
    name: 'jobs record the process that runs them (so a second process on the same data folder does not mark live jobs interrupted)',
    up(db) {
      db.exec(`
        ALTER TABLE jobs ADD COLUMN owner_pid INTEGER;
        ALTER TABLE jobs ADD COLUMN owner_host TEXT;
      `);
    },
  },
  {
    version: 6,
    name: 'analysis: saved counterfactual text edits, robustness sweeps, IID/OOD comparisons',
    up: createAnalysisTables,
  },
  {
    // issue 19 (numbered 8 on the lead's plan; renumbered at merge, the lists must stay contiguous)
    version: 7,
    name: "annotation tiers: a project's tiers (default 'sentiment' score tier) and annotators' time-aligned segments on them",
    up: createTiersTables,
  },
];
