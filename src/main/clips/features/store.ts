/**
 * The per-clip feature cache on disk:
 *
 *   <dataDir>/clips/<clipId>/features/<modality>.json   what was extracted, by which extractor
 *                                                       version, from which source (fingerprint)
 *   <dataDir>/clips/<clipId>/features/<modality>.bin    frames x dims float32, little-endian
 *   <dataDir>/clips/<clipId>/features/<modality>.aligned.bin   L x dims, aligned to the text tokens
 *
 * A record is reused only when both the extractor version and the source fingerprint match, so a
 * new extractor or a changed file / transcript re-extracts that clip and nothing else. Files are
 * written under a temporary name and renamed, so a cancelled job leaves no half-written record.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Modality } from '../../../shared/clips';
import { clipDir } from '../../store/paths';
import type { FeatureRow } from '../../store/clips';

/** a stream's feature.json: the row the clips store indexes (store/clips.ts FeatureRow), and more */
export interface FeatureRecord extends Omit<FeatureRow, 'presentFraction' | 'aligned'> {
  names: string[];
  /** vision: share of frames with a face */
  presentFraction?: number;
  aligned?: { L: number; dims: number } | null;
  /** text: the tokens and their timings (TextFeatures) */
  text?: unknown;
  createdAt: string;
}

export { clipDir };
export function featureDir(dataDir: string, clipId: number): string {
  return join(clipDir(dataDir, clipId), 'features');
}

export function fileFingerprint(file: string, extra = ''): string {
  const st = statSync(file);
  return createHash('sha256').update(`${file}\0${st.size}\0${st.mtimeMs}\0${extra}`).digest('hex').slice(0, 24);
}

export function readFeatureRecord(dataDir: string, clipId: number, modality: Modality): FeatureRecord | null {
  const f = join(featureDir(dataDir, clipId), `${modality}.json`);
  if (!existsSync(f)) return null;
  try {
    return JSON.parse(readFileSync(f, 'utf8')) as FeatureRecord;
  } catch {
    return null;
  }
}

export function readFeatureFrames(dataDir: string, clipId: number, modality: Modality, aligned = false): Float32Array {
  const buf = readFileSync(join(featureDir(dataDir, clipId), `${modality}${aligned ? '.aligned' : ''}.bin`));
  const out = new Float32Array(buf.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = buf.readFloatLE(i * 4);
  return out;
}

function writeAtomic(file: string, data: string | Uint8Array): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
}

function le(data: Float32Array): Uint8Array {
  const buf = Buffer.alloc(data.length * 4);
  for (let i = 0; i < data.length; i++) buf.writeFloatLE(data[i], i * 4);
  return buf;
}

/** Write the arrays first and the record last: a record on disk means its arrays are complete. */
export function writeFeatureRecord(
  dataDir: string,
  clipId: number,
  record: FeatureRecord,
  frames?: Float32Array,
  aligned?: Float32Array,
): void {
  const dir = featureDir(dataDir, clipId);
  mkdirSync(dir, { recursive: true });
  if (frames) writeAtomic(join(dir, `${record.modality}.bin`), le(frames));
  if (aligned) writeAtomic(join(dir, `${record.modality}.aligned.bin`), le(aligned));
  writeAtomic(join(dir, `${record.modality}.json`), JSON.stringify(record));
}
