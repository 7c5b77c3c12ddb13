/**
 * One instance: a second launch hands its command line to the first (Electron's `second-instance`),
 * which brings its window forward and imports the file or folder given, if any. The same path
 * handling serves a path on the first launch's own command line and macOS's `open-file`.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import type { Envelope } from '../../shared/errors';
import type { WindowLike } from './types';

/** Options that take a value as the next argument (the value is not a path to open). */
const FLAGS_WITH_VALUE = new Set(['--data-dir']);
/** Files the dataset importer reads (it detects the exact format from the contents). */
export const IMPORTABLE_EXTENSIONS = ['.pkl', '.pickle', '.joblib', '.csd'];

/**
 * The file or folder named on a command line: the last argument that is not an option, not the
 * executable or the app folder (development launches pass it), and exists. Relative paths are
 * resolved against the launching process's working directory.
 */
export function pathFromArgv(
  argv: readonly string[],
  cwd: string,
  notPaths: readonly string[] = [],
): string | undefined {
  const skip = new Set(notPaths.map((p) => resolve(p)));
  let found: string | undefined;
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('-')) {
      if (FLAGS_WITH_VALUE.has(a)) i++;
      continue;
    }
    const p = resolve(cwd, a);
    if (skip.has(p) || !existsSync(p)) continue;
    found = p;
  }
  return found;
}

export type ImportRequest =
  { ok: true; method: 'datasets.import'; args: { files: string[] } } | { ok: false; message: string };

/** What opening `path` means: a dataset file, or a folder holding a .csd set, starts a dataset import. */
export function importRequestFor(path: string): ImportRequest {
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch (e) {
    return { ok: false, message: `${path}: cannot be read (${(e as Error).message})` };
  }
  if (!isDir) {
    if (IMPORTABLE_EXTENSIONS.includes(extname(path).toLowerCase()))
      return { ok: true, method: 'datasets.import', args: { files: [path] } };
    return {
      ok: false,
      message: `${path}: CIDer Studio opens dataset files (${IMPORTABLE_EXTENSIONS.join(', ')}) or a folder of .csd files; this is neither.`,
    };
  }
  const csd = readdirSync(path)
    .filter((n) => extname(n).toLowerCase() === '.csd')
    .sort()
    .map((n) => join(path, n));
  if (csd.length === 0)
    return { ok: false, message: `${path}: this folder holds no .csd files, so there is nothing to import.` };
  if (csd.length > 8)
    return {
      ok: false,
      message: `${path}: this folder holds ${csd.length} .csd files; choose the set (at most 8) in Datasets > Import.`,
    };
  return { ok: true, method: 'datasets.import', args: { files: csd } };
}

/** Brings the window to the front (restored if minimized). */
export function focusWindow(window: WindowLike | undefined): void {
  if (!window || window.isDestroyed()) return;
  if (window.isMinimized()) window.restore();
  window.show();
  window.focus();
}

export interface OpenPathDeps {
  dispatch: (method: string, args: unknown) => Promise<Envelope<unknown>>;
  /** tells the user why nothing was imported */
  notify: (message: string) => void;
  log: (message: string) => void;
}

/** Starts the import `path` asks for (the job shows in the app like any other), or says why not. */
export async function openPath(path: string, deps: OpenPathDeps): Promise<Envelope<unknown> | undefined> {
  const request = importRequestFor(path);
  if (!request.ok) {
    deps.log(`open ${path}: ${request.message}`);
    deps.notify(request.message);
    return undefined;
  }
  const result = await deps.dispatch(request.method, request.args);
  if (!result.ok) {
    deps.log(`open ${path}: ${result.error.message}`);
    deps.notify(`${path}: ${result.error.message}`);
  } else deps.log(`open ${path}: started ${request.method}`);
  return result;
}
