/**
 * IEEE 754 half precision (float16 bits) to a number; shared by every reader of float16 data (the
 * pickle VM's numpy arrays here, safetensors and torch weights in ml, which sits above data).
 */
export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}
