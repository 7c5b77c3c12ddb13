/**
 * Choosing files: the desktop app's native dialog (injected as `ServiceContext.pickPath`, bound to
 * Electron's dialog in src/main/index.ts), and in web mode a folder browser confined to the roots
 * the user allowed at start (`ServiceContext.fileRoots`, `cider web --allow DIR`). Confinement is by
 * real path: a path with a ".." segment is refused outright, the folder asked for must resolve
 * (symlinks followed) inside a root, and entries that are symlinks leading out of the roots are not
 * listed.
 */
import { readdirSync, realpathSync, statSync } from 'node:fs';
import { extname, isAbsolute, join, sep } from 'node:path';
import type { Handlers } from '../../shared/api';
import type { FileEntry, FolderListing, PickKind } from '../../shared/contract/files';
import { AppError } from '../../shared/errors';

export interface PickRequest {
  kind: PickKind;
  title?: string;
  multiple: boolean;
  extensions?: string[];
  defaultPath?: string;
}

/** the native open/save dialog; resolves to the chosen paths, [] when cancelled */
export type PickPath = (request: PickRequest) => Promise<string[]>;

/** The allowed roots as real paths; a root that is missing or not a folder is an error at start. */
export function resolveRoots(roots: readonly string[]): string[] {
  return roots.map((r) => {
    let real: string;
    try {
      real = realpathSync(r);
    } catch {
      throw new AppError('INVALID_INPUT', `--allow ${r}: no such folder`);
    }
    if (!statSync(real).isDirectory()) throw new AppError('INVALID_INPUT', `--allow ${r}: not a folder`);
    return real;
  });
}

const inside = (root: string, p: string) => p === root || p.startsWith(root.endsWith(sep) ? root : root + sep);

/** The root that holds `real` (a real path), or null. */
export function rootOf(roots: readonly string[], real: string): string | null {
  // the deepest root wins, so "parent" never climbs out of a nested root into a shallower one wrongly
  return [...roots].sort((a, b) => b.length - a.length).find((r) => inside(r, real)) ?? null;
}

export function listFolder(roots: readonly string[], path: string | undefined, extensions?: string[]): FolderListing {
  if (!roots.length) throw new AppError('UNSUPPORTED', 'no folders are open to the file browser');
  const asked = path ?? roots[0];
  if (!isAbsolute(asked)) throw new AppError('BAD_REQUEST', `${asked}: give an absolute path`);
  if (asked.split(/[\\/]+/).includes('..'))
    throw new AppError('UNAUTHORIZED', `${asked}: paths with ".." are refused; choose folders from the list`);
  let real: string;
  try {
    real = realpathSync(asked);
  } catch {
    throw new AppError('NOT_FOUND', `${asked}: no such folder`);
  }
  const root = rootOf(roots, real);
  if (!root)
    throw new AppError(
      'UNAUTHORIZED',
      `${asked} is outside the folders this server may show (${roots.join(', ')}); start it with --allow to add one`,
    );
  if (!statSync(real).isDirectory()) throw new AppError('BAD_REQUEST', `${asked}: not a folder`);
  const wanted = extensions?.map((e) => `.${e.toLowerCase()}`);
  const entries: FileEntry[] = [];
  let names;
  try {
    names = readdirSync(real, { withFileTypes: true });
  } catch (e) {
    throw new AppError('INVALID_INPUT', `${real}: cannot read it (${(e as NodeJS.ErrnoException).code})`);
  }
  for (const d of names) {
    if (d.name.startsWith('.')) continue;
    const p = join(real, d.name);
    let kind: FileEntry['kind'];
    try {
      if (d.isSymbolicLink()) {
        const target = realpathSync(p);
        if (!rootOf(roots, target)) continue; // a link out of the roots is not shown
        kind = statSync(target).isDirectory() ? 'folder' : 'file';
      } else kind = d.isDirectory() ? 'folder' : 'file';
    } catch {
      continue; // a dangling link
    }
    if (kind === 'file' && wanted && !wanted.includes(extname(d.name).toLowerCase())) continue;
    entries.push({ name: d.name, path: p, kind });
  }
  entries.sort((a, b) => (a.kind === b.kind ? a.name.localeCompare(b.name) : a.kind === 'folder' ? -1 : 1));
  const up = join(real, '..');
  return { path: real, parent: real !== root && rootOf(roots, up) ? up : null, root, entries };
}

export function filesHandlers(opts: { pickPath?: PickPath; fileRoots?: string[] }): Handlers<void>['files'] {
  const roots = opts.fileRoots ?? [];
  return {
    chooser: () => ({ native: !!opts.pickPath, roots }),
    pick: async (req) => {
      if (!opts.pickPath)
        throw new AppError('UNSUPPORTED', 'no native file dialog here (web mode): use the file browser');
      return opts.pickPath(req);
    },
    list: ({ path, extensions }) => listFolder(roots, path, extensions),
  };
}
