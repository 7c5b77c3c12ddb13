/**
 * The database has one owner: this module opens it, applies the numbered migrations in one
 * transaction recorded in `user_version`, and refuses a database written by a newer app.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { AppError } from '../../shared/errors';
import { MIGRATIONS, type Migration } from './migrations';
import { loadSqliteAddon } from './native';

export type Db = Database.Database;

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Apply migrations up to `target` (default: all) in one transaction. */
export function migrate(
  db: Db,
  file: string,
  migrations: readonly Migration[] = MIGRATIONS,
  target = migrations.length,
): number {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > migrations.length) {
    throw new AppError(
      'UNSUPPORTED',
      `${file}: this database has schema version ${current}, written by a newer CIDer Studio (this one knows up to ${migrations.length}). Update the app, or choose another data folder with --data-dir.`,
    );
  }
  if (current >= target) return current;
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration list out of order: entry ${i} has version ${m.version}`);
  });
  const run = db.transaction(() => {
    for (const m of migrations.slice(current, target)) {
      m.up(db);
      // pragma cannot take bound parameters; version is a number from our own list
      db.pragma(`user_version = ${m.version}`);
    }
  });
  run.immediate();
  return target;
}

export interface OpenOptions {
  readonly?: boolean;
  /** stop at this schema version (migration tests) */
  targetVersion?: number;
}

export function openDatabase(file: string, opts: OpenOptions = {}): Db {
  // the binary for this runtime (Node's or Electron's); a wrong one throws one message naming the fix
  const nativeBinding = loadSqliteAddon();
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  let db: Db;
  try {
    // @types/better-sqlite3 lists only the path form of nativeBinding; the library also takes the loaded addon
    db = new Database(file, { readonly: opts.readonly ?? false, nativeBinding: nativeBinding as unknown as string });
  } catch (e) {
    throw new AppError('INVALID_INPUT', `${file}: cannot open the database (${(e as Error).message})`);
  }
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    db.pragma('synchronous = NORMAL');
    const check = db.pragma('quick_check', { simple: true });
    if (check !== 'ok') throw new AppError('INVALID_INPUT', `${file}: the database is damaged (${String(check)})`);
    if (!opts.readonly) migrate(db, file, MIGRATIONS, opts.targetVersion ?? MIGRATIONS.length);
  } catch (e) {
    db.close();
    if (e instanceof AppError) throw e;
    throw new AppError('INVALID_INPUT', `${file}: not a CIDer Studio database (${(e as Error).message})`);
  }
  return db;
}

export { nowIso } from './time';
