import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { AppError } from '../../../src/shared/errors';
import { migrate, openDatabase, SCHEMA_VERSION } from '../../../src/main/store/db';
import { MIGRATIONS } from '../../../src/main/store/migrations';
import { tempDir } from '../../helpers/tmp';

const tables = (db: Database.Database) =>
  (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map(
    (r) => r.name,
  );

test('migration 1 creates projects, jobs, job_logs and settings from an empty database', () => {
  const file = join(tempDir(), 'm1.sqlite');
  const db = openDatabase(file, { targetVersion: 0 });
  assert.equal(db.pragma('user_version', { simple: true }), 0);
  assert.deepEqual(tables(db), []);
  migrate(db, file, MIGRATIONS, 1);
  assert.equal(db.pragma('user_version', { simple: true }), 1);
  assert.deepEqual(tables(db), ['job_logs', 'jobs', 'projects', 'settings']);
  db.prepare("INSERT INTO projects (name, created_at, updated_at) VALUES ('p', 'now', 'now')").run();
  db.prepare("INSERT INTO jobs (kind, status, project_id, created_at) VALUES ('k', 'queued', 1, 'now')").run();
  assert.throws(
    () => db.prepare("INSERT INTO jobs (kind, status, created_at) VALUES ('k', 'exploded', 'now')").run(),
    /CHECK constraint/,
  );
  // foreign keys are on: deleting the project deletes its jobs
  db.prepare('DELETE FROM projects WHERE id = 1').run();
  assert.equal((db.prepare('SELECT count(*) n FROM jobs').get() as { n: number }).n, 0);
  db.close();
});

test('openDatabase turns on WAL and foreign keys and migrates to the latest version', () => {
  const file = join(tempDir(), 'open.sqlite');
  const db = openDatabase(file);
  assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  assert.equal(db.pragma('foreign_keys', { simple: true }), 1);
  assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
  db.close();
});

test('a database from a newer version is refused with a message naming the file, and left untouched', () => {
  const file = join(tempDir(), 'newer.sqlite');
  const raw = new Database(file);
  raw.pragma(`user_version = ${SCHEMA_VERSION + 5}`);
  raw.exec('CREATE TABLE future (x)');
  raw.close();
  assert.throws(
    () => openDatabase(file),
    (e: unknown) =>
      e instanceof AppError &&
      e.code === 'UNSUPPORTED' &&
      e.message.includes(file) &&
      /newer CIDer Studio/.test(e.message),
  );
  const again = new Database(file);
  assert.equal(again.pragma('user_version', { simple: true }), SCHEMA_VERSION + 5);
  assert.deepEqual(tables(again), ['future']);
  again.close();
});

test('a failing migration rolls back as a whole', () => {
  const file = join(tempDir(), 'rollback.sqlite');
  const db = openDatabase(file, { targetVersion: 0 });
  const broken = [
    ...MIGRATIONS,
    {
      version: MIGRATIONS.length + 1,
      name: 'broken',
      up: (d: Database.Database) => d.exec('CREATE TABLE half (x); SELECT * FROM no_such_table;'),
    },
  ];
  assert.throws(() => migrate(db, file, broken), /no such table/);
  assert.equal(db.pragma('user_version', { simple: true }), 0);
  assert.deepEqual(tables(db), []);
  db.close();
});

test('a file that is not a database is reported by name', () => {
  const dir = tempDir();
  const file = join(dir, 'not-a-db.sqlite');
  writeFileSync(file, 'this is plain text, not SQLite '.repeat(50));
  assert.throws(
    () => openDatabase(file),
    (e: unknown) => e instanceof AppError && e.message.startsWith(file),
  );
});
