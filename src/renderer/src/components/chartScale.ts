/** Pure scale helpers for the SVG charts (tested in test/unit/renderer/chart-scale.test.ts). */

export interface Point {
  x: number;
  y: number;
}

export interface ChartSeries {
  name: string;
  points: Point[];
  color?: string;
  /** dashed line (e.g. the second run in a comparison) */
  dashed?: boolean;
}

export const CHART_COLORS = ['#2e86c1', '#c0392b', '#27ae60', '#8e44ad', '#d68910', '#17a589', '#34495e', '#e84393'];

/** [min, max] over the finite values, widened when flat; null when there are none */
export function extent(values: number[]): [number, number] | null {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo > hi) return null;
  if (lo === hi) {
    const pad = Math.abs(lo) * 0.1 || 1;
    return [lo - pad, hi + pad];
  }
  return [lo, hi];
}

/** about `count` round tick values (1, 2, 5 x 10^k steps) covering [lo, hi] */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const first = Math.ceil(lo / step - 1e-9);
  const last = Math.floor(hi / step + 1e-9);
  const decimals = Math.max(0, -Math.floor(Math.log10(step)) + 1);
  const out: number[] = [];
  // from integer multiples, rounded to the step's decimals: no 0.6000000000000001, no -0
  for (let k = first; k <= last; k++) out.push(Number((k * step).toFixed(decimals)) + 0);
  return out;
}

/** a short label for a tick: no float noise, k/M for big numbers */
export function tickLabel(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e6) return `${+(v / 1e6).toPrecision(3)}M`;
  if (a >= 1e4) return `${+(v / 1e3).toPrecision(3)}k`;
  if (a === 0) return '0';
  return String(+v.toPrecision(3));
}

/** SVG path data for one series in a plot box; non-finite points break the line */
export function linePath(points: Point[], sx: (x: number) => number, sy: (y: number) => number): string {
  let d = '';
  let pen = false;
  for (const p of points) {
    if (!Number.isFinite(p.x) || !Number.isFinite(p.y)) {
      pen = false;
      continue;
    }
    d += `${pen ? 'L' : d ? ' M' : 'M'}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`;
    pen = true;
  }
  return d;
}
