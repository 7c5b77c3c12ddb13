/**
 * What the numbers were computed from, as hashes a reader can check with `sha256sum`: the dataset's
 * manifest.json and every file it lists (feature arrays, samples.json, extras), and the checkpoint
 * the evaluations read. The dataset hash is sha256 over sha256sum's own output for those files
 * (lines "<hex>  <file>\n", sorted by file), so `sha256sum FILES | sha256sum` in the dataset folder
 * reproduces it.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { DataTrace, HashedFile } from '../../shared/contract/reports';
import type { DatasetManifest } from '../data/featureStore';

export async function sha256File(file: string): Promise<{ sha256: string; bytes: number }> {
  const h = createHash('sha256');
  let bytes = 0;
  for await (const chunk of fs.createReadStream(file, {
    highWaterMark: 1 << 20,
  })) {
    h.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: h.digest('hex'), bytes };
}

/** the files a dataset's numbers depend on, relative to its folder, sorted */
export function datasetFiles(manifest: DatasetManifest): string[] {
  const files = new Set<string>(['manifest.json']);
  for (const split of Object.values(manifest.splits)) {
    files.add(split.samplesFile);
    for (const a of Object.values(split.arrays)) if (a) files.add(a.file);
  }
  for (const e of Object.values(manifest.extras ?? {})) files.add(e.file);
  return [...files].map((f) => f.split(path.sep).join('/')).sort();
}

export function listingHash(files: HashedFile[]): string {
  return createHash('sha256')
    .update(files.map((f) => `${f.sha256}  ${f.file}\n`).join(''))
    .digest('hex');
}

export async function hashDataset(folder: string, manifest: DatasetManifest): Promise<DataTrace> {
  const files: HashedFile[] = [];
  for (const file of datasetFiles(manifest)) {
    const abs = path.join(folder, file);
    if (!fs.existsSync(abs)) continue;
    files.push({ file, ...(await sha256File(abs)) });
  }
  return { sha256: listingHash(files), folder, files };
}

/** A fingerprint of the files' sizes and modification times: a memo key that changes when any file does. */
export function statFingerprint(folder: string, files: string[]): string {
  return files
    .map((f) => {
      const st = fs.statSync(path.join(folder, f), { throwIfNoEntry: false });
      return st ? `${f}:${st.size}:${st.mtimeMs}` : `${f}:-`;
    })
    .join('|');
}
