/**
 * Which data folder the desktop app opens: the one definition in services/paths.ts (--data-dir,
 * CIDER_DATA_DIR, else "<appData>/CIDer Studio", shared with web mode and the CLI). Earlier desktop
 * builds kept the library in "<appData>/cider-studio" (Electron's default from package.json's
 * name); when that folder holds a library and the shared one does not, the user is offered to move it.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { databaseFile } from '../store/paths';
import { defaultDataDir, explicitDataDir, legacyDataDir } from '../services/paths';
import type { ShellDialog } from './types';

/** Chromium's per-profile lock files: they belong to whichever process holds the folder and are never moved. */
const PROCESS_LOCKS = new Set(['SingletonLock', 'SingletonSocket', 'SingletonCookie', 'lockfile']);

export class QuitRequested extends Error {
  constructor() {
    super('the user chose to quit');
  }
}

export interface MoveResult {
  moved: string[];
  /** entries left in the old folder because the new one already has something of that name */
  leftBehind: string[];
}

/**
 * Moves every entry of `from` into `to` (renames; a copy then delete across file systems). The
 * database and its -wal/-shm files must not collide with anything in `to`; on any failure every
 * entry already moved is moved back, so the library is whole in one place or the other.
 */
export function moveLibrary(
  from: string,
  to: string,
  move: (src: string, dst: string) => void = moveEntry,
): MoveResult {
  mkdirSync(to, { recursive: true });
  const entries = readdirSync(from).filter((n) => !PROCESS_LOCKS.has(n));
  // a database, or a stray -wal/-shm that SQLite would apply to the moved database, already in the new folder
  const dbName = basename(databaseFile(from));
  const dbClash = readdirSync(to).find((n) => n.startsWith(dbName));
  if (dbClash) throw new Error(`${join(to, dbClash)} already exists: the library in ${from} was not moved`);
  const clashes = entries.filter((n) => existsSync(join(to, n)));
  const moved: string[] = [];
  try {
    for (const name of entries) {
      if (clashes.includes(name)) continue;
      move(join(from, name), join(to, name));
      moved.push(name);
    }
  } catch (e) {
    for (const name of moved.reverse()) {
      try {
        move(join(to, name), join(from, name));
      } catch {
        // reported below with the original error
      }
    }
    // the errno code stays, so the start-up error box can say what to do (e.g. EACCES: permissions)
    throw Object.assign(
      new Error(`moving the library from ${from} to ${to} failed, nothing was moved: ${(e as Error).message}`),
      { code: (e as NodeJS.ErrnoException).code },
    );
  }
  try {
    if (readdirSync(from).every((n) => PROCESS_LOCKS.has(n))) rmSync(from, { recursive: true, force: true });
  } catch {
    // an empty old folder left behind is harmless
  }
  return { moved, leftBehind: clashes };
}

function moveEntry(src: string, dst: string): void {
  try {
    renameSync(src, dst);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
    cpSync(src, dst, { recursive: true, errorOnExist: true, force: false, preserveTimestamps: true });
    rmSync(src, { recursive: true, force: true });
  }
}

export interface DataFolderDeps {
  dialog: ShellDialog;
  log: (message: string) => void;
  flag?: string | null;
  env?: NodeJS.ProcessEnv;
  platform?: NodeJS.Platform;
}

/** The folder to open, after offering to move an old library. Throws QuitRequested when the user chose to quit. */
export async function chooseDataFolder(deps: DataFolderDeps): Promise<string> {
  const env = deps.env ?? process.env;
  const platform = deps.platform ?? process.platform;
  const explicit = explicitDataDir(deps.flag, env);
  if (explicit) return explicit;
  const target = defaultDataDir(platform, env);
  const legacy = legacyDataDir(platform, env);
  if (!existsSync(databaseFile(legacy)) || existsSync(databaseFile(target))) return target;
  const { response } = await deps.dialog.showMessageBox({
    type: 'question',
    title: 'CIDer Studio',
    message: 'Move your library to the shared data folder?',
    detail:
      `A library from an earlier version of CIDer Studio is in\n${legacy}\n\n` +
      `CIDer Studio now keeps its library in\n${target}\nwhich the command line and web mode use too.\n\n` +
      'Moving keeps everything (projects, datasets, runs, reports). Starting empty leaves the old folder untouched.',
    buttons: ['Move the library', 'Start with an empty library', 'Quit'],
    defaultId: 0,
    cancelId: 2,
    noLink: true,
  });
  if (response === 2) throw new QuitRequested();
  if (response === 1) {
    deps.log(`data folder: kept the old library in ${legacy} where it is and started empty in ${target}`);
    return target;
  }
  const result = moveLibrary(legacy, target);
  deps.log(
    `data folder: moved ${result.moved.length} entries from ${legacy} to ${target}` +
      (result.leftBehind.length
        ? `; left in the old folder (already present in the new one): ${result.leftBehind.join(', ')}`
        : ''),
  );
  return target;
}
