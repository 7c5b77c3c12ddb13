import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { migrate, openDatabase } from '../../../src/main/store/db';
import { MIGRATIONS } from '../../../src/main/store/migrations';
import { tempDir } from '../../helpers/tmp';

const N = MIGRATIONS.findIndex((m) => m.name.startsWith('clips:')) + 1;

test('migration 4 adds the clips tables and lets datasets have format clips, keeping datasets and the runs that use them', () => {
  assert.equal(N, 4);
  const file = join(tempDir(), 'm4.sqlite');
  const db = openDatabase(file, { targetVersion: N - 1 });
  const now = 'now';
  db.prepare("INSERT INTO projects (name, created_at, updated_at) VALUES ('p', ?, ?)").run(now, now);
  const ds = `INSERT INTO datasets (name, kind, parent_id, format, folder, aligned, dims_json, train_count, valid_count, test_count, label_counts_json, created_at)
    VALUES (?, ?, ?, ?, ?, 0, '{}', 1, 1, 1, '{}', 'now')`;
  db.prepare(ds).run('mosi', 'iid', null, 'mmsa-pickle', 'd1');
  db.prepare(ds).run('mosi ood', 'ood', 1, 'ood-split', 'd2');
  assert.throws(() => db.prepare(ds).run('clips', 'iid', null, 'clips', 'd3'), /CHECK constraint/);
  // a run that uses dataset 2 (schema 3's runs table): the rebuild must not null its reference
  // (runs.dataset_id is ON DELETE SET NULL)
  db.prepare(
    "INSERT INTO runs (project_id, dataset_id, dataset_folder, config_json, status, folder, selection_metric, created_at) VALUES (1, 2, 'd2', '{}', 'completed', 'r1', 'acc', 'now')",
  ).run();

  migrate(db, file, MIGRATIONS, N);
  assert.equal(db.pragma('user_version', { simple: true }), N);
  const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map(
    (r) => r.name,
  );
  for (const t of ['clips', 'transcripts', 'transcript_segments', 'annotators', 'annotations', 'clip_features'])
    assert.ok(tables.includes(t), t);
  assert.ok(!tables.includes('datasets_widened'));
  // datasets kept, with their index, and now also format 'clips'
  assert.deepEqual(db.prepare('SELECT id, name, parent_id FROM datasets ORDER BY id').all(), [
    { id: 1, name: 'mosi', parent_id: null },
    { id: 2, name: 'mosi ood', parent_id: 1 },
  ]);
  assert.ok(
    (
      db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'datasets'").all() as {
        name: string;
      }[]
    ).some((r) => r.name === 'datasets_by_parent'),
  );
  db.prepare(ds).run('clips', 'iid', null, 'clips', 'd3');
  assert.equal((db.prepare('SELECT dataset_id FROM runs').get() as { dataset_id: number }).dataset_id, 2);
  assert.deepEqual(db.pragma('foreign_key_check'), []);

  // the clips tables' rules
  db.prepare(
    "INSERT INTO clips (project_id, name, source_path, container, duration_sec, has_video, has_audio, file_size, created_at) VALUES (1, 'a', '/a.mp4', 'mp4', 2, 1, 0, 10, 'now')",
  ).run();
  assert.throws(
    () =>
      db
        .prepare(
          "INSERT INTO clips (project_id, name, source_path, container, duration_sec, has_video, has_audio, file_size, created_at) VALUES (1, 'a', '/a.mp4', 'mp4', 2, 1, 0, 10, 'now')",
        )
        .run(),
    /UNIQUE/,
  );
  db.prepare("INSERT INTO annotators (project_id, name, created_at) VALUES (1, 'Ann', 'now')").run();
  assert.throws(
    () => db.prepare("INSERT INTO annotators (project_id, name, created_at) VALUES (1, 'ann', 'now')").run(),
    /UNIQUE/,
    'annotator names are case-insensitive',
  );
  db.prepare(
    "INSERT INTO annotations (clip_id, annotator_id, segment, score, updated_at) VALUES (1, 1, -1, 2.5, 'now')",
  ).run();
  assert.throws(
    () =>
      db
        .prepare(
          "INSERT INTO annotations (clip_id, annotator_id, segment, score, updated_at) VALUES (1, 1, 0, 3.5, 'now')",
        )
        .run(),
    /CHECK/,
  );
  db.prepare(
    "INSERT INTO clip_features (clip_id, modality, version, fingerprint, available, frames, dims, created_at) VALUES (1, 'audio', 'v1', 'f', 0, 0, 21, 'now')",
  ).run();
  // deleting the project deletes its clips and everything hanging off them
  db.prepare('DELETE FROM projects WHERE id = 1').run();
  for (const t of ['clips', 'annotators', 'annotations', 'clip_features'])
    assert.equal((db.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n, 0, t);
  db.close();
});
