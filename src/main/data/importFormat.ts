/**
 * Which importer a set of files needs, from their first bytes, so a wrong path or file type is
 * reported when the import is asked for (by the datasets service, on the main thread), not after a
 * job started. No importer code is loaded here (the .csd reader pulls in h5wasm).
 */
import fs from 'node:fs';
import path from 'node:path';
import { DataImportError } from './errors';

export type ImportFormat = 'mmsa' | 'csd';

/**
 * The format of the files from their first bytes: an HDF5 signature is a .csd sequence; a pickle
 * opcode or a zlib/gzip header (joblib's compressed dumps) is an MMSA file. Called by the service
 * before the job starts, so a wrong path or file type is reported at once.
 */
export function detectImportFormat(files: string[]): ImportFormat {
  const kinds = files.map((f) => {
    const label = path.basename(f);
    let head: Buffer;
    try {
      const fd = fs.openSync(f, 'r');
      try {
        head = Buffer.alloc(8);
        head = head.subarray(0, fs.readSync(fd, head, 0, 8, 0));
      } finally {
        fs.closeSync(fd);
      }
    } catch (e) {
      const code = (e as { code?: string }).code;
      throw new DataImportError(
        { file: f },
        code === 'ENOENT'
          ? 'file not found'
          : code === 'EISDIR'
            ? 'is a folder, not a file'
            : `cannot be read (${(e as Error).message})`,
      );
    }
    if (head.length === 0) throw new DataImportError({ file: label }, 'the file is empty (0 bytes)');
    if (head.length >= 8 && head.subarray(0, 8).equals(Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a])))
      return 'csd' as const;
    if (
      head.length >= 2 &&
      (head[0] === 0x80 ||
        (head[0] === 0x1f && head[1] === 0x8b) ||
        (head[0] === 0x78 && ((head[0] << 8) | head[1]) % 31 === 0))
    )
      return 'mmsa' as const;
    if (head.length >= 2 && head[0] === 0x5a && head[1] === 0x46) return 'mmsa' as const; // old joblib: importMmsa explains
    throw new DataImportError(
      { file: label },
      'not an MMSA pickle, a joblib file or a CMU-MultimodalSDK .csd (HDF5) file (unknown header)',
    );
  });
  if (kinds.every((k) => k === 'mmsa')) {
    if (files.length > 1)
      throw new DataImportError(
        { file: path.basename(files[1]) },
        'an MMSA pickle or joblib file is imported on its own; give one file (add confounders and priors as extras)',
      );
    return 'mmsa';
  }
  if (kinds.every((k) => k === 'csd')) {
    if (files.length < 3)
      throw new DataImportError(
        { file: path.basename(files[0]) },
        `a .csd set needs audio, vision and label sequences (and optionally words); got ${files.length} file${files.length > 1 ? 's' : ''}`,
      );
    return 'csd';
  }
  throw new DataImportError(
    { file: path.basename(files[kinds.indexOf('csd')]) },
    'mixes .csd sequences with an MMSA pickle; import them separately',
  );
}
