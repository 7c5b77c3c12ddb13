import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import type Database from 'better-sqlite3';
import { migrate, openDatabase } from '../../../src/main/store/db';
import { MIGRATIONS } from '../../../src/main/store/migrations';
import { tempDir } from '../../helpers/tmp';

const tables = (db: Database.Database) =>
  (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map(
    (r) => r.name,
  );
const count = (db: Database.Database, table: string) =>
  (db.prepare(`SELECT count(*) n FROM ${table}`).get() as { n: number }).n;

const RUN = `INSERT INTO runs (project_id, dataset_id, dataset_folder, config_json, status, folder, selection_metric, created_at)
  VALUES (?, ?, '/d', '{}', ?, '/r', 'Non0_acc_2', 'now')`;

test('migration 3 adds runs, run_epochs, evaluations and predictions, and keeps what version 2 held', () => {
  const file = join(tempDir(), 'm3.sqlite');
  const db = openDatabase(file, { targetVersion: 2 });
  db.prepare("INSERT INTO projects (name, created_at, updated_at) VALUES ('p', 'now', 'now')").run();
  db.prepare(
    `INSERT INTO datasets (name, kind, parent_id, format, folder, aligned, dims_json, train_count, valid_count, test_count, label_counts_json, created_at)
     VALUES ('MOSI', 'iid', NULL, 'mmsa-pickle', 'd1', 1, '{}', 3, 1, 2, '{}', 'now')`,
  ).run();
  db.prepare("INSERT INTO jobs (kind, status, project_id, created_at) VALUES ('train', 'succeeded', 1, 'now')").run();
  const before = {
    projects: db.prepare('SELECT * FROM projects').all(),
    datasets: db.prepare('SELECT * FROM datasets').all(),
    jobs: db.prepare('SELECT * FROM jobs').all(),
    tables: tables(db),
  };
  assert.ok(!before.tables.includes('runs'));

  migrate(db, file, MIGRATIONS, 3);
  assert.equal(db.pragma('user_version', { simple: true }), 3);
  assert.deepEqual(db.prepare('SELECT * FROM projects').all(), before.projects);
  assert.deepEqual(db.prepare('SELECT * FROM datasets').all(), before.datasets);
  assert.deepEqual(db.prepare('SELECT * FROM jobs').all(), before.jobs);
  assert.deepEqual(
    tables(db),
    [...before.tables, 'evaluation_predictions', 'evaluations', 'run_epochs', 'runs'].sort(),
  );

  db.prepare(RUN).run(1, 1, 'running');
  assert.throws(() => db.prepare(RUN).run(1, 1, 'exploded'), /CHECK/);
  assert.throws(() => db.prepare(RUN).run(1, 99, 'queued'), /FOREIGN KEY/);
  const epoch = db.prepare(
    "INSERT INTO run_epochs (run_id, epoch, losses_json, validation_json, improved, duration_ms, created_at) VALUES (1, ?, '{}', '{}', 1, 5, 'now')",
  );
  epoch.run(1);
  assert.throws(() => epoch.run(1), /UNIQUE|PRIMARY KEY/);
  assert.throws(() => epoch.run(0), /CHECK/);
  db.prepare(
    "INSERT INTO evaluations (run_id, split, protocol, seed, checkpoint, rates_json, points_json, engine, created_at) VALUES (1, 'test', 'RMFM', 1111, 'best', '[]', '[]', 'tfjs-wasm', 'now')",
  ).run();
  db.prepare("INSERT INTO evaluation_predictions VALUES (1, 0, 2, 2, '[-3,-2,-0.1]')").run();

  // deleting the dataset or the project keeps the run (its folder and checkpoints are still there)
  db.prepare('DELETE FROM datasets WHERE id = 1').run();
  db.prepare('DELETE FROM projects WHERE id = 1').run();
  assert.deepEqual(db.prepare('SELECT project_id, dataset_id FROM runs').get(), { project_id: null, dataset_id: null });
  // deleting the run deletes its epochs, evaluations and predictions
  db.prepare('DELETE FROM runs WHERE id = 1').run();
  for (const t of ['run_epochs', 'evaluations', 'evaluation_predictions']) assert.equal(count(db, t), 0, t);
  db.close();
});
