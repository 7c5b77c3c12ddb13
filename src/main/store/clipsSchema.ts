/**
 * The clips tables (imported videos, transcripts, annotators, annotations, feature records), as
 * one migration step. Kept beside migrations.ts so the shared list only gains one entry.
 */
import type Database from 'better-sqlite3';

export function createClipsTables(db: Database.Database): void {
  db.exec(`
    CREATE TABLE clips (
      id INTEGER PRIMARY KEY,
      project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
      name TEXT NOT NULL,
      source_path TEXT NOT NULL,
      container TEXT NOT NULL,
      duration_sec REAL NOT NULL CHECK (duration_sec > 0),
      width INTEGER,
      height INTEGER,
      fps REAL,
      video_codec TEXT,
      audio_codec TEXT,
      audio_rate INTEGER,
      has_video INTEGER NOT NULL CHECK (has_video IN (0,1)),
      has_audio INTEGER NOT NULL CHECK (has_audio IN (0,1)),
      file_size INTEGER NOT NULL,
      created_at TEXT NOT NULL,
      UNIQUE (project_id, source_path)
    );
    CREATE INDEX clips_by_project ON clips(project_id, id);
    CREATE TABLE transcripts (
      clip_id INTEGER PRIMARY KEY REFERENCES clips(id) ON DELETE CASCADE,
      format TEXT NOT NULL CHECK (format IN ('srt','vtt','txt','eaf')),
      source_path TEXT,
      timed INTEGER NOT NULL CHECK (timed IN (0,1)),
      updated_at TEXT NOT NULL
    );
    CREATE TABLE transcript_segments (
      clip_id INTEGER NOT NULL REFERENCES transcripts(clip_id) ON DELETE CASCADE,
      idx INTEGER NOT NULL CHECK (idx >= 0),
      start_sec REAL,
      end_sec REAL,
      text TEXT NOT NULL,
      correction TEXT,
      PRIMARY KEY (clip_id, idx),
      CHECK ((start_sec IS NULL) = (end_sec IS NULL)),
      CHECK (start_sec IS NULL OR end_sec >= start_sec)
    );
    CREATE TABLE annotators (
      id INTEGER PRIMARY KEY,
      project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
      name TEXT NOT NULL COLLATE NOCASE,
      created_at TEXT NOT NULL,
      UNIQUE (project_id, name)
    );
    CREATE TABLE annotations (
      clip_id INTEGER NOT NULL REFERENCES clips(id) ON DELETE CASCADE,
      annotator_id INTEGER NOT NULL REFERENCES annotators(id) ON DELETE CASCADE,
      segment INTEGER NOT NULL DEFAULT -1 CHECK (segment >= -1),
      score REAL CHECK (score IS NULL OR (score >= -3 AND score <= 3)),
      note TEXT NOT NULL DEFAULT '',
      correction TEXT,
      updated_at TEXT NOT NULL,
      PRIMARY KEY (clip_id, annotator_id, segment)
    );
    CREATE INDEX annotations_by_annotator ON annotations(annotator_id);
    CREATE TABLE clip_features (
      clip_id INTEGER NOT NULL REFERENCES clips(id) ON DELETE CASCADE,
      modality TEXT NOT NULL CHECK (modality IN ('text','audio','vision')),
      version TEXT NOT NULL,
      fingerprint TEXT NOT NULL,
      available INTEGER NOT NULL CHECK (available IN (0,1)),
      reason TEXT,
      rate REAL,
      frames INTEGER NOT NULL,
      dims INTEGER NOT NULL,
      present_fraction REAL,
      aligned INTEGER NOT NULL DEFAULT 0 CHECK (aligned IN (0,1)),
      created_at TEXT NOT NULL,
      PRIMARY KEY (clip_id, modality)
    );
  `);
}

/**
 * Datasets exported from clips are recorded in the datasets table with format 'clips'; migration 2
 * allowed only the benchmark formats, and SQLite cannot alter a CHECK constraint (better-sqlite3's
 * defensive mode also forbids editing sqlite_master), so the table is rebuilt with SQLite's
 * documented procedure (create, copy, drop, rename) inside the migration's transaction, with the
 * same columns, rows and indexes and the one widened constraint.
 *
 * Foreign keys cannot be switched off inside a transaction: constraints are deferred to the commit
 * (defer_foreign_keys), and what the old table's implicit DELETE does to rows referencing it (at
 * schema 3, runs.dataset_id ON DELETE SET NULL) is undone by restoring the saved references.
 */
export function allowClipsDatasetFormat(db: Database.Database): void {
  const table = db.prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'datasets'").get() as
    { sql: string } | undefined;
  if (!table) return;
  const old = "format IN ('mmsa-pickle','joblib','csd','ood-split')";
  if (!table.sql.includes(old))
    throw new Error(
      "datasets table: the format CHECK constraint is not the one migration 2 wrote; cannot widen it to 'clips'",
    );
  const indexes = (
    db
      .prepare("SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'datasets' AND sql IS NOT NULL")
      .all() as { sql: string }[]
  ).map((r) => r.sql);
  // every (table, column) that references datasets(id), and the values it holds now
  const tables = (
    db
      .prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN ('datasets') AND name NOT LIKE 'sqlite_%'",
      )
      .all() as { name: string }[]
  ).map((r) => r.name);
  const saved: { table: string; column: string; rows: { rid: number; v: number }[] }[] = [];
  for (const t of tables) {
    for (const fk of db.pragma(`foreign_key_list("${t.replace(/"/g, '""')}")`) as {
      table: string;
      from: string;
      on_delete: string;
    }[]) {
      if (fk.table !== 'datasets') continue;
      if (fk.on_delete === 'CASCADE')
        throw new Error(
          `${t}.${fk.from} references datasets ON DELETE CASCADE; rebuilding datasets would delete its rows`,
        );
      const q = (x: string) => `"${x.replace(/"/g, '""')}"`;
      saved.push({
        table: t,
        column: fk.from,
        rows: db
          .prepare(`SELECT rowid AS rid, ${q(fk.from)} AS v FROM ${q(t)} WHERE ${q(fk.from)} IS NOT NULL`)
          .all() as { rid: number; v: number }[],
      });
    }
  }
  db.pragma('defer_foreign_keys = ON');
  const createNew = table.sql
    .replace(old, "format IN ('mmsa-pickle','joblib','csd','ood-split','clips')")
    .replace(/^CREATE TABLE\s+"?datasets"?/i, 'CREATE TABLE datasets_widened');
  db.exec(createNew);
  db.exec('INSERT INTO datasets_widened SELECT * FROM datasets');
  // the copy's own references (parent_id) point at the old table until it is renamed: cleared
  // before the old table goes (else they count as deferred violations) and restored after
  const selfRefs = (db.pragma('foreign_key_list(datasets)') as { table: string; from: string }[])
    .filter((fk) => fk.table === 'datasets')
    .map((fk) => fk.from);
  for (const col of selfRefs) {
    const q = `"${col.replace(/"/g, '""')}"`;
    saved.push({
      table: 'datasets',
      column: col,
      rows: db.prepare(`SELECT rowid AS rid, ${q} AS v FROM datasets WHERE ${q} IS NOT NULL`).all() as {
        rid: number;
        v: number;
      }[],
    });
    db.exec(`UPDATE datasets_widened SET ${q} = NULL`);
  }
  db.exec('DROP TABLE datasets');
  db.exec('ALTER TABLE datasets_widened RENAME TO datasets');
  for (const sql of indexes) db.exec(sql);
  for (const s of saved) {
    const q = (x: string) => `"${x.replace(/"/g, '""')}"`;
    const put = db.prepare(`UPDATE ${q(s.table)} SET ${q(s.column)} = ? WHERE rowid = ?`);
    for (const r of s.rows) put.run(r.v, r.rid);
  }
  const problems = db.pragma('foreign_key_check') as unknown[];
  if (problems.length) throw new Error(`datasets table rebuild left ${problems.length} broken foreign key(s)`);
}
