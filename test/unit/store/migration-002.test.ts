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

const row = (name: string, kind: string, parent: number | null, folder: string) =>
  [name, kind, parent, 'mmsa-pickle', folder, 1, '{}', 3, 1, 2, '{}', 'now'] as const;
const INSERT = `INSERT INTO datasets (name, kind, parent_id, format, folder, aligned, dims_json, train_count, valid_count, test_count, label_counts_json, created_at)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

test('migration 2 adds datasets and keeps what version 1 held', () => {
  const file = join(tempDir(), 'm2.sqlite');
  const db = openDatabase(file, { targetVersion: 1 });
  assert.equal(db.pragma('user_version', { simple: true }), 1);
  db.prepare("INSERT INTO projects (name, created_at, updated_at) VALUES ('p', 'now', 'now')").run();
  db.prepare(
    "INSERT INTO jobs (kind, status, project_id, created_at) VALUES ('backend.selftest', 'succeeded', 1, 'now')",
  ).run();
  const before = {
    projects: db.prepare('SELECT * FROM projects').all(),
    jobs: db.prepare('SELECT * FROM jobs').all(),
    tables: tables(db),
  };
  assert.ok(!before.tables.includes('datasets'));

  migrate(db, file, MIGRATIONS, 2);
  assert.equal(db.pragma('user_version', { simple: true }), 2);
  assert.deepEqual(db.prepare('SELECT * FROM projects').all(), before.projects);
  assert.deepEqual(db.prepare('SELECT * FROM jobs').all(), before.jobs);
  assert.deepEqual(tables(db), [...before.tables, 'datasets'].sort());

  db.prepare(INSERT).run(...row('MOSI aligned', 'iid', null, 'd1-mosi'));
  db.prepare(INSERT).run(...row('MOSI OOD', 'ood', 1, 'd2-mosi-ood'));
  // names are unique regardless of case, folders unique, kinds checked, an IID dataset has no parent
  assert.throws(() => db.prepare(INSERT).run(...row('mosi ALIGNED', 'iid', null, 'd3')), /UNIQUE/);
  assert.throws(() => db.prepare(INSERT).run(...row('other', 'iid', null, 'd1-mosi')), /UNIQUE/);
  assert.throws(() => db.prepare(INSERT).run(...row('x', 'weird', null, 'd4')), /CHECK/);
  assert.throws(() => db.prepare(INSERT).run(...row('y', 'iid', 1, 'd5')), /CHECK/);
  // the parent must exist and cannot be deleted under its OOD version
  assert.throws(() => db.prepare(INSERT).run(...row('z', 'ood', 99, 'd6')), /FOREIGN KEY/);
  assert.throws(() => db.prepare('DELETE FROM datasets WHERE id = 1').run(), /FOREIGN KEY/);
  const r = db
    .prepare('SELECT source_files_json, extras_json, warnings_json, ood_record_json FROM datasets WHERE id = 2')
    .get();
  assert.deepEqual(r, { source_files_json: '[]', extras_json: '[]', warnings_json: '[]', ood_record_json: null });
  db.close();
});
