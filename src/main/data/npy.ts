/**
 * .npy files (format versions 1.0, 2.0, 3.0): magic "\x93NUMPY", version, header length (2 bytes
 * in v1, 4 in v2/v3), a Python dict literal {'descr', 'fortran_order', 'shape'} (latin1, utf8 in
 * v3), then the raw data. Object arrays hold a pickle, read with the numpy allow-list.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DataImportError } from './errors';
import { DType, NdArray } from './pickle/numpy';
import { composeResolvers, numpyGlobals, safeBuiltins, unpickle } from './pickle';

export interface NpyHeader {
  version: [number, number];
  dtype: DType;
  fortran: boolean;
  shape: number[];
  /** byte offset of the data in the file */
  dataOffset: number;
}

/** parse the small Python literal subset .npy headers use */
function parseLiteral(s: string): unknown {
  let i = 0;
  const ws = () => {
    while (i < s.length && /\s/.test(s[i])) i++;
  };
  const val = (): unknown => {
    ws();
    const c = s[i];
    if (c === '{' || c === '(' || c === '[') {
      const close = c === '{' ? '}' : c === '(' ? ')' : ']';
      i++;
      const items: unknown[] = [];
      const obj: Record<string, unknown> = {};
      for (;;) {
        ws();
        if (s[i] === close) {
          i++;
          break;
        }
        const k = val();
        ws();
        if (c === '{') {
          if (s[i++] !== ':') throw new Error('expected :');
          obj[String(k)] = val();
        } else items.push(k);
        ws();
        if (s[i] === ',') i++;
        else if (s[i] !== close) throw new Error(`expected , or ${close}`);
      }
      return c === '{' ? obj : items;
    }
    if (c === "'" || c === '"') {
      const j = s.indexOf(c, i + 1);
      if (j < 0) throw new Error('unterminated string');
      const out = s.slice(i + 1, j);
      i = j + 1;
      return out;
    }
    const m = /^(True|False|None|-?\d+L?)/.exec(s.slice(i));
    if (!m) throw new Error(`unexpected ${JSON.stringify(s.slice(i, i + 10))}`);
    i += m[0].length;
    return m[0] === 'True' ? true : m[0] === 'False' ? false : m[0] === 'None' ? null : Number(m[0].replace('L', ''));
  };
  return val();
}

export async function readNpyHeader(file: string, label = path.basename(file)): Promise<NpyHeader> {
  const fh = await fs.promises.open(file, 'r');
  try {
    const pre = Buffer.alloc(12);
    const { bytesRead } = await fh.read(pre, 0, 12, 0);
    if (bytesRead === 0) throw new DataImportError({ file: label }, 'the file is empty (0 bytes)');
    if (pre[0] !== 0x93 || pre.toString('latin1', 1, Math.min(6, bytesRead)) !== 'NUMPY'.slice(0, bytesRead - 1))
      throw new DataImportError({ file: label }, 'not a .npy file (bad magic)');
    const preamble = bytesRead >= 8 && pre[6] !== 1 ? 12 : 10;
    if (bytesRead < preamble)
      throw new DataImportError(
        { file: label },
        `truncated: the file ends at byte ${bytesRead}, inside the .npy preamble (${preamble - bytesRead} more bytes were needed)`,
      );
    const major = pre[6];
    const minor = pre[7];
    if (major < 1 || major > 3)
      throw new DataImportError(
        { file: label },
        `.npy format version ${major}.${minor} is not supported`,
        'UNSUPPORTED',
      );
    const hlen = major === 1 ? pre.readUInt16LE(8) : pre.readUInt32LE(8);
    const start = major === 1 ? 10 : 12;
    const hb = Buffer.alloc(hlen);
    const got = (await fh.read(hb, 0, hlen, start)).bytesRead;
    if (got < hlen)
      throw new DataImportError(
        { file: label },
        `truncated: the file ends at byte ${start + got}, inside the .npy header of ${hlen} bytes (${hlen - got} more bytes were needed)`,
      );
    let h: Record<string, unknown>;
    try {
      h = parseLiteral(hb.toString(major === 3 ? 'utf8' : 'latin1')) as Record<string, unknown>;
    } catch (e) {
      throw new DataImportError({ file: label }, `corrupt .npy header (${(e as Error).message})`);
    }
    if (typeof h.descr !== 'string')
      throw new DataImportError({ file: label }, `structured .npy arrays are not supported`, 'UNSUPPORTED');
    if (!Array.isArray(h.shape) || !h.shape.every((d) => Number.isInteger(d) && (d as number) >= 0))
      throw new DataImportError({ file: label }, 'corrupt .npy header (shape)');
    let dtype: DType;
    try {
      dtype = DType.parse(h.descr);
    } catch (e) {
      throw new DataImportError({ file: label }, (e as Error).message, 'UNSUPPORTED');
    }
    return {
      version: [major, minor],
      dtype,
      fortran: h.fortran_order === true,
      shape: h.shape as number[],
      dataOffset: start + hlen,
    };
  } finally {
    await fh.close();
  }
}

/** read a whole .npy into memory (these files are small: confounder vectors, priors) */
export async function readNpy(file: string, opts: { label?: string; maxBytes?: number } = {}): Promise<NdArray> {
  const label = opts.label ?? path.basename(file);
  const h = await readNpyHeader(file, label);
  const size = (await fs.promises.stat(file)).size;
  const arr = new NdArray(h.shape, h.dtype, h.fortran);
  if (h.dtype.hasObject) {
    const body = (await fs.promises.readFile(file)).subarray(h.dataOffset);
    const v = await unpickle(body, { file: label, resolveGlobal: composeResolvers(numpyGlobals, safeBuiltins) });
    // numpy writes object arrays as a pickle of the whole array (older versions: of a list)
    if (v instanceof NdArray && v.size === arr.size) return v;
    if (!Array.isArray(v) || v.length !== arr.size)
      throw new DataImportError({ file: label }, 'object .npy data is not a list of the right length');
    arr.data = v;
    return arr;
  }
  const need = arr.nbytes;
  if (need > (opts.maxBytes ?? 1 << 30))
    throw new DataImportError({ file: label }, `${need} bytes is too large to read at once`);
  if (size - h.dataOffset < need)
    throw new DataImportError(
      { file: label },
      `truncated: the array of shape ${h.shape.length === 1 ? `(${h.shape[0]},)` : `(${h.shape.join(', ')})`} and dtype ${h.dtype.name} needs ${need} bytes of data but the file holds ${size - h.dataOffset}: it ends at byte ${size}, ${need - (size - h.dataOffset)} more bytes were needed`,
    );
  const buf = Buffer.alloc(need);
  const fh = await fs.promises.open(file, 'r');
  try {
    await fh.read(buf, 0, need, h.dataOffset);
  } finally {
    await fh.close();
  }
  arr.data = buf;
  return arr;
}
