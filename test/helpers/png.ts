/**
 * PDF pages as PNG images with poppler's pdftoppm, and a small PNG reader (8-bit grey or RGB,
 * not interlaced: what pdftoppm writes) to check a page is not blank.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';

export const PDFTOPPM = '/usr/bin/pdftoppm';
export const pdftoppmMissing = existsSync(PDFTOPPM)
  ? null
  : `${PDFTOPPM} not found (bash .ci/run installs poppler-utils)`;

/** pdftoppm -png -gray at `dpi`; returns the page files in order */
export function pdfToPngPages(pdf: string, outDir: string, prefix: string, dpi = 40): string[] {
  execFileSync(PDFTOPPM, ['-png', '-gray', '-r', String(dpi), pdf, join(outDir, prefix)], { timeout: 120_000 });
  return readdirSync(outDir)
    .filter((f) => f.startsWith(`${prefix}-`) && f.endsWith('.png'))
    .sort((a, b) => Number(/-(\d+)\.png$/.exec(a)![1]) - Number(/-(\d+)\.png$/.exec(b)![1]))
    .map((f) => join(outDir, f));
}

export interface Gray {
  width: number;
  height: number;
  /** luminance 0..255, row-major */
  pixels: Uint8Array;
}

export function readPngGray(file: string): Gray {
  const buf = readFileSync(file);
  if (buf.readUInt32BE(0) !== 0x89504e47) throw new Error(`${file} is not a PNG`);
  let pos = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Buffer[] = [];
  while (pos < buf.length) {
    const len = buf.readUInt32BE(pos);
    const type = buf.toString('latin1', pos + 4, pos + 8);
    const data = buf.subarray(pos + 8, pos + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      const depth = data[8];
      const color = data[9];
      if (depth !== 8 || data[12] !== 0 || (color !== 0 && color !== 2))
        throw new Error(`unsupported PNG (depth ${depth}, colour ${color}, interlace ${data[12]})`);
      channels = color === 0 ? 1 : 3;
    } else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') break;
    pos += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const out = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? out[y * stride + x - channels] : 0;
      const b = y > 0 ? out[(y - 1) * stride + x] : 0;
      const c = x >= channels && y > 0 ? out[(y - 1) * stride + x - channels] : 0;
      let v = line[x];
      if (filter === 1) v += a;
      else if (filter === 2) v += b;
      else if (filter === 3) v += (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      out[y * stride + x] = v & 255;
    }
  }
  const pixels =
    channels === 1
      ? out
      : Uint8Array.from({ length: width * height }, (_, i) =>
          Math.round((out[i * 3] + out[i * 3 + 1] + out[i * 3 + 2]) / 3),
        );
  return { width, height, pixels };
}

export function pixelStats(img: Gray): {
  mean: number;
  variance: number;
  nonWhite: number;
} {
  let sum = 0;
  let sq = 0;
  let nonWhite = 0;
  for (const p of img.pixels) {
    sum += p;
    sq += p * p;
    if (p < 200) nonWhite++;
  }
  const n = img.pixels.length;
  const mean = sum / n;
  return { mean, variance: sq / n - mean * mean, nonWhite: nonWhite / n };
}
