/**
 * Choosing files and folders: the desktop app's native open dialog, or in web mode a browser of the
 * server's folders limited to the roots the user allowed at start (`cider web --allow DIR`).
 */
import { z } from 'zod';
import { method, none } from './method';

export const PICK_KINDS = ['file', 'folder', 'fileOrFolder', 'save'] as const;
export type PickKind = (typeof PICK_KINDS)[number];

export interface FileEntry {
  name: string;
  path: string;
  kind: 'file' | 'folder';
}

export interface FolderListing {
  /** the folder listed (real path, inside a root) */
  path: string;
  /** its parent when that is still inside the roots, else null */
  parent: string | null;
  root: string;
  entries: FileEntry[];
}

export interface FileChooserInfo {
  /** true in the desktop app: the native dialog is used */
  native: boolean;
  /** the folders the web-mode browser may show (empty in the desktop app) */
  roots: string[];
}

const path = z.string().min(1).max(4096);

export const filesContract = {
  chooser: method<FileChooserInfo>()(none),
  /** the native dialog (desktop only); [] when the user cancelled */
  pick: method<string[]>()(
    z
      .object({
        kind: z.enum(PICK_KINDS),
        title: z.string().max(200).optional(),
        multiple: z.boolean().default(false),
        /** extensions without the dot, e.g. ['eaf'] */
        extensions: z
          .array(z.string().regex(/^[A-Za-z0-9]{1,10}$/))
          .max(20)
          .optional(),
        defaultPath: path.optional(),
      })
      .strict(),
  ),
  /** one folder of the web-mode browser (default: the first root) */
  list: method<FolderListing>()(
    z
      .object({
        path: path.optional(),
        extensions: z
          .array(z.string().regex(/^[A-Za-z0-9]{1,10}$/))
          .max(20)
          .optional(),
      })
      .strict(),
  ),
} as const;
