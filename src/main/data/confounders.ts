/**
 * The reference's MACI inputs saved as .npy: confounder vectors, float64 (dl + da + dv,), and class
 * priors, float32 (C,), one file per dataset, distribution (iid/ood), task, split and alignment.
 * Readers validate shape and values; attachExtra stores one into a dataset's feature store.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DataImportError } from './errors';
import { readNpy } from './npy';
import type { ArrayEntry, DatasetManifest } from './featureStore';

function shapeStr(s: number[]): string {
  return `(${s.join(', ')}${s.length === 1 ? ',' : ''})`;
}

/** a confounder vector; `dims` (dl, da, dv) checks its length against the dataset */
export async function readConfounderVector(
  file: string,
  dims?: { dl: number; da: number; dv: number },
): Promise<Float64Array> {
  const label = path.basename(file);
  const a = await readNpy(file);
  const w = { file: label, field: 'confounder' };
  if (a.dtype.kind !== 'f') throw new DataImportError(w, `expected float64 values, got dtype ${a.dtype.name}`);
  if (a.shape.length !== 1 && !(a.shape.length === 2 && a.shape[0] === 1))
    throw new DataImportError(w, `expected shape (dl+da+dv,), got ${shapeStr(a.shape)}`);
  const v = a.numbers();
  if (dims && v.length !== dims.dl + dims.da + dims.dv)
    throw new DataImportError(
      w,
      `has ${v.length} values but the dataset needs dl+da+dv = ${dims.dl}+${dims.da}+${dims.dv} = ${dims.dl + dims.da + dims.dv}`,
    );
  const bad = v.findIndex((x) => !Number.isFinite(x));
  if (bad >= 0) throw new DataImportError(w, `value ${v[bad]} at index ${bad} is not finite`);
  return v;
}

/** class priors (C = 3 or 7) */
export async function readClassPrior(file: string, classes?: 3 | 7): Promise<Float32Array> {
  const label = path.basename(file);
  const a = await readNpy(file);
  const w = { file: label, field: 'prior' };
  if (a.dtype.kind !== 'f') throw new DataImportError(w, `expected float values, got dtype ${a.dtype.name}`);
  if (a.shape.length !== 1) throw new DataImportError(w, `expected shape (C,), got ${shapeStr(a.shape)}`);
  const C = a.shape[0];
  if (classes ? C !== classes : C !== 3 && C !== 7)
    throw new DataImportError(w, `has ${C} classes; expected ${classes ?? '3 or 7'}`);
  const v = Float32Array.from(a.numbers());
  const bad = v.findIndex((x) => !Number.isFinite(x));
  if (bad >= 0) throw new DataImportError(w, `value ${v[bad]} at index ${bad} is not finite`);
  return v;
}

/**
 * Store an auxiliary array (e.g. 'confounder/ood/binary/train/unaligned') in a dataset folder:
 * writes extras/<key>.bin and a new manifest, each through a temp file and a rename, so a crash
 * leaves the old manifest intact.
 */
export async function attachExtra(
  datasetDir: string,
  key: string,
  data: Float32Array | Float64Array,
  note?: string,
): Promise<ArrayEntry> {
  if (!/^[\w./-]+$/.test(key) || key.includes('..')) throw new Error(`bad extra key '${key}'`);
  const rel = `extras/${key.replace(/\//g, '__')}.bin`;
  const abs = path.join(datasetDir, rel);
  await fs.promises.mkdir(path.dirname(abs), { recursive: true });
  const f32 = data instanceof Float32Array ? data : Float32Array.from(data);
  await fs.promises.writeFile(`${abs}.tmp`, new Uint8Array(f32.buffer, f32.byteOffset, f32.byteLength));
  await fs.promises.rename(`${abs}.tmp`, abs);
  const mf = path.join(datasetDir, 'manifest.json');
  const m = JSON.parse(await fs.promises.readFile(mf, 'utf8')) as DatasetManifest;
  const entry: ArrayEntry & { note?: string } = {
    file: rel,
    dtype: 'float32',
    shape: [f32.length],
    offset: 0,
    byteLength: f32.byteLength,
    ...(note ? { note } : {}),
  };
  m.extras = { ...(m.extras ?? {}), [key]: entry };
  await fs.promises.writeFile(`${mf}.tmp`, JSON.stringify(m, null, 1));
  await fs.promises.rename(`${mf}.tmp`, mf);
  return entry;
}
