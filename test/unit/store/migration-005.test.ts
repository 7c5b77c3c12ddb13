import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { migrate, openDatabase } from '../../../src/main/store/db';
import { JobStore } from '../../../src/main/store/jobs';
import { MIGRATIONS } from '../../../src/main/store/migrations';
import { tempDir } from '../../helpers/tmp';

test('migration 5 adds job ownership and keeps existing jobs (owner unknown)', () => {
  const file = join(tempDir(), 'm5.sqlite');
  const db = openDatabase(file, { targetVersion: 4 });
  db.prepare("INSERT INTO jobs (kind, status, created_at) VALUES ('backend.selftest', 'running', 'then')").run();
  migrate(db, file, MIGRATIONS, 5);
  const row = db.prepare('SELECT kind, status, owner_pid, owner_host FROM jobs').get();
  assert.deepEqual(row, { kind: 'backend.selftest', status: 'running', owner_pid: null, owner_host: null });
  // a job of unknown ownership cannot be running any more: interrupted at start
  assert.deepEqual(
    new JobStore(db).markInterrupted().map((j) => j.status),
    ['interrupted'],
  );
  db.close();
});

test('start-up marks only jobs whose owning process is gone as interrupted', async () => {
  const db = openDatabase(join(tempDir(), 'owners.sqlite'));
  const jobs = new JobStore(db);
  const live = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
  const dead = spawnSync(process.execPath, ['-e', 'process.pid']).pid;
  try {
    const mk = (pid: number, host: string) => {
      const j = jobs.create('backend.selftest', { size: 8, iterations: 1 }, null);
      jobs.markRunning(j.id);
      db.prepare('UPDATE jobs SET owner_pid = ?, owner_host = ? WHERE id = ?').run(pid, host, j.id);
      return j.id;
    };
    const ofLive = mk(live.pid!, hostname());
    const ofDead = mk(dead, hostname());
    const ofOtherHost = mk(live.pid!, `${hostname()}-elsewhere`);
    const marked = jobs
      .markInterrupted()
      .map((j) => j.id)
      .sort();
    assert.deepEqual(marked, [ofDead, ofOtherHost].sort());
    assert.equal(jobs.get(ofLive).status, 'running');
  } finally {
    live.kill();
    db.close();
  }
});
