import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { AppError } from '../../../src/shared/errors';
import { openDatabase } from '../../../src/main/store/db';
import { JobStore } from '../../../src/main/store/jobs';
import { ProjectStore, SettingsStore } from '../../../src/main/store/projects';
import { tempDir } from '../../helpers/tmp';

test('projects: create, list, rename, remove, and names are unique regardless of case', () => {
  const db = openDatabase(join(tempDir(), 'p.sqlite'));
  const store = new ProjectStore(db);
  const a = store.create('Mosi study', 'first');
  store.create('Second');
  assert.deepEqual(
    store
      .list()
      .map((p) => p.name)
      .sort(),
    ['Mosi study', 'Second'],
  );
  assert.throws(
    () => store.create('MOSI STUDY'),
    (e: unknown) => e instanceof AppError && e.code === 'CONFLICT',
  );
  const renamed = store.update(a.id, { name: 'Renamed' });
  assert.equal(renamed.name, 'Renamed');
  assert.equal(renamed.description, 'first');
  store.remove(a.id);
  assert.throws(
    () => store.get(a.id),
    (e: unknown) => e instanceof AppError && e.code === 'NOT_FOUND',
  );
  db.close();
});

test('jobs: running jobs of a dead process are marked interrupted at the next start', () => {
  const file = join(tempDir(), 'j.sqlite');
  let db = openDatabase(file);
  let jobs = new JobStore(db);
  const a = jobs.create('backend.selftest', { size: 8, iterations: 1 }, null);
  jobs.markRunning(a.id);
  const b = jobs.create('backend.selftest', { size: 8, iterations: 1 }, null);
  const c = jobs.create('backend.selftest', { size: 8, iterations: 1 }, null);
  jobs.markRunning(c.id);
  jobs.finish(c.id, 'succeeded', { x: 1 }, null);
  db.close(); // the process "dies"
  db = openDatabase(file);
  jobs = new JobStore(db);
  const stale = jobs.markInterrupted();
  assert.deepEqual(stale.map((j) => j.id).sort(), [a.id, b.id]);
  assert.equal(jobs.get(a.id).status, 'interrupted');
  assert.equal(jobs.get(b.id).status, 'interrupted');
  assert.equal(jobs.get(c.id).status, 'succeeded');
  assert.deepEqual(jobs.get(c.id).result, { x: 1 });
  db.close();
});

test('settings round-trip JSON values', () => {
  const db = openDatabase(join(tempDir(), 's.sqlite'));
  const s = new SettingsStore(db);
  assert.equal(s.get('x'), undefined);
  s.set('x', { a: [1, 2] });
  s.set('x', { a: [3] });
  assert.deepEqual(s.get('x'), { a: [3] });
  db.close();
});
