import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { migrate, openDatabase } from '../../../src/main/store/db';
import { MIGRATIONS } from '../../../src/main/store/migrations';
import { TierStore } from '../../../src/main/store/tiers';
import { tempDir } from '../../helpers/tmp';

// the lead's number for this migration is 8; the list is contiguous, so it is found by name
const N = MIGRATIONS.findIndex((m) => m.name.startsWith('annotation tiers:')) + 1;

test("the tiers migration gives every project its sentiment tier and turns transcript-segment scores into that tier's segments", () => {
  assert.ok(N > 4, 'after the clips migration');
  assert.equal(MIGRATIONS[N - 1].version, N, 'versions are contiguous');
  const file = join(tempDir(), 'm.sqlite');
  const db = openDatabase(file, { targetVersion: N - 1 });
  const now = 'now';
  db.prepare("INSERT INTO projects (name, created_at, updated_at) VALUES ('p', ?, ?), ('q', ?, ?)").run(
    now,
    now,
    now,
    now,
  );
  db.prepare(
    "INSERT INTO clips (project_id, name, source_path, container, duration_sec, has_video, has_audio, file_size, created_at) VALUES (1, 'a', '/a', 'webm', 3, 1, 1, 1, ?)",
  ).run(now);
  db.prepare("INSERT INTO transcripts (clip_id, format, timed, updated_at) VALUES (1, 'srt', 1, ?)").run(now);
  db.prepare(
    "INSERT INTO transcript_segments (clip_id, idx, start_sec, end_sec, text) VALUES (1, 0, 0.1, 0.8, 'one'), (1, 1, 0.8, 1.6, 'two')",
  ).run();
  db.prepare("INSERT INTO annotators (project_id, name, created_at) VALUES (1, 'Ann', ?)").run(now);
  db.prepare(
    "INSERT INTO annotations (clip_id, annotator_id, segment, score, note, updated_at) VALUES (1, 1, -1, 2, '', ?), (1, 1, 1, -1.5, 'x', ?), (1, 1, 0, NULL, 'only a note', ?)",
  ).run(now, now, now);

  migrate(db, file, MIGRATIONS, N);
  assert.equal(db.pragma('user_version', { simple: true }), N);
  const store = new TierStore(db);
  const tiers = store.list(1);
  assert.deepEqual(
    tiers.map((t) => [t.name, t.kind, t.isDefault]),
    [['sentiment', 'score', true]],
  );
  assert.deepEqual(
    store.list(2).map((t) => t.name),
    ['sentiment'],
  );
  assert.deepEqual(
    store.segments({ clipId: 1 }).map((s) => [s.tierId, s.annotatorId, s.start, s.end, s.value]),
    [[tiers[0].id, 1, 0.8, 1.6, -1.5]],
    'the scored transcript segment; the clip score and the note-only row stay annotations',
  );
  assert.equal((db.prepare('SELECT count(*) AS n FROM annotations').get() as { n: number }).n, 3, 'annotations kept');
  // the schema refuses what the store refuses too
  assert.throws(() =>
    db
      .prepare(
        "INSERT INTO tier_segments (tier_id, clip_id, annotator_id, start_sec, end_sec, score, updated_at) VALUES (?, 1, 1, 0, 1, 5, 'now')",
      )
      .run(tiers[0].id),
  );
  assert.throws(() =>
    db
      .prepare(
        "INSERT INTO tiers (project_id, name, kind, is_default, created_at) VALUES (1, 'other', 'score', 1, 'now')",
      )
      .run(),
  );
  // removing the clip removes its segments
  db.prepare('DELETE FROM clips WHERE id = 1').run();
  assert.equal(store.segments({ projectId: 1 }).length, 0);
  db.close();
});
