/**
 * Annotation tiers and their time-aligned segments, as one migration step. Every existing project
 * gets its default 'sentiment' score tier, and the scores annotators gave transcript segments become
 * segments of that tier at the cue's times (the annotations rows stay as they were).
 */
import type Database from 'better-sqlite3';
import { nowIso } from './time';

export function createTiersTables(db: Database.Database): void {
  db.exec(`
    CREATE TABLE tiers (
      id INTEGER PRIMARY KEY,
      project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
      name TEXT NOT NULL COLLATE NOCASE,
      kind TEXT NOT NULL CHECK (kind IN ('score','category','text')),
      labels_json TEXT NOT NULL DEFAULT '[]',
      is_default INTEGER NOT NULL DEFAULT 0 CHECK (is_default IN (0,1)),
      created_at TEXT NOT NULL,
      UNIQUE (project_id, name)
    );
    CREATE UNIQUE INDEX tiers_one_default ON tiers(project_id) WHERE is_default = 1;
    CREATE TABLE tier_segments (
      id INTEGER PRIMARY KEY,
      tier_id INTEGER NOT NULL REFERENCES tiers(id) ON DELETE CASCADE,
      clip_id INTEGER NOT NULL REFERENCES clips(id) ON DELETE CASCADE,
      annotator_id INTEGER NOT NULL REFERENCES annotators(id) ON DELETE CASCADE,
      start_sec REAL NOT NULL CHECK (start_sec >= 0),
      end_sec REAL NOT NULL CHECK (end_sec > start_sec),
      score REAL CHECK (score IS NULL OR (score >= -3 AND score <= 3)),
      label TEXT,
      updated_at TEXT NOT NULL,
      CHECK (score IS NULL OR label IS NULL)
    );
    CREATE INDEX tier_segments_by_track ON tier_segments(clip_id, tier_id, annotator_id, start_sec);
  `);
  const now = nowIso();
  db.prepare(
    "INSERT INTO tiers (project_id, name, kind, is_default, created_at) SELECT id, 'sentiment', 'score', 1, ? FROM projects",
  ).run(now);
  db.exec(`
    INSERT INTO tier_segments (tier_id, clip_id, annotator_id, start_sec, end_sec, score, updated_at)
    SELECT t.id, a.clip_id, a.annotator_id, s.start_sec, s.end_sec, a.score, a.updated_at
    FROM annotations a
    JOIN clips c ON c.id = a.clip_id
    JOIN tiers t ON t.project_id = c.project_id AND t.is_default = 1
    JOIN transcript_segments s ON s.clip_id = a.clip_id AND s.idx = a.segment
    WHERE a.segment >= 0 AND a.score IS NOT NULL AND s.start_sec IS NOT NULL AND s.end_sec > s.start_sec
    ORDER BY a.clip_id, a.annotator_id, s.start_sec
  `);
}
