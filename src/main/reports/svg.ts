/**
 * Charts as self-contained SVG strings (no React, no DOM, no scripts), for the HTML report and its
 * PDF. Every mark carries its numbers as data-* attributes (data-x, data-y on points, data-series on
 * lines, data-value on bars), so a test or a reader's tool can recover what was plotted.
 */

export const PALETTE = [
  '#1f6feb',
  '#d1495b',
  '#2a9d8f',
  '#e9a23b',
  '#7b61ff',
  '#6c757d',
  '#8d6e63',
  '#00897b',
  '#c2185b',
  '#5c6bc0',
];

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const num = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(2));

/** "nice" tick values covering [lo, hi] */
export function ticks(lo: number, hi: number, count = 5): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  if (hi === lo) return [lo];
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step)
    out.push(Number(v.toPrecision(12)));
  return out;
}

const fmtTick = (v: number) =>
  Math.abs(v) >= 1000 || (Math.abs(v) < 0.01 && v !== 0) ? v.toPrecision(2) : String(Number(v.toPrecision(4)));

export interface LineSeries {
  name: string;
  /** [x, y]; points with a non-finite y are gaps */
  points: [number, number | null][];
  dashed?: boolean;
}
export interface LineChartSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  series: LineSeries[];
  /** fixed domains (default: the data's extent) */
  x?: [number, number];
  y?: [number, number];
  /** x values to mark with a vertical rule (e.g. the best epoch) */
  markX?: { x: number; label: string }[];
  width?: number;
  height?: number;
}

export function lineChart(spec: LineChartSpec): string {
  const W = spec.width ?? 560;
  const H = spec.height ?? 280;
  const m = { l: 52, r: 12, t: 26, b: 40 };
  const legendRows = Math.ceil(spec.series.length / 3);
  const legendH = legendRows * 16;
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b - legendH;
  const xs = spec.series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = spec.series.flatMap((s) =>
    s.points.map((p) => p[1]).filter((y): y is number => y !== null && Number.isFinite(y)),
  );
  const [x0, x1] = spec.x ?? [Math.min(...xs), Math.max(...xs)];
  let [y0, y1] = spec.y ?? [Math.min(...ys), Math.max(...ys)];
  if (!ys.length) [y0, y1] = [0, 1];
  if (y0 === y1) [y0, y1] = [y0 - 0.5, y1 + 0.5];
  const sx = (x: number) => m.l + (x1 === x0 ? pw / 2 : ((x - x0) / (x1 - x0)) * pw);
  const sy = (y: number) => m.t + ph - ((y - y0) / (y1 - y0)) * ph;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" data-chart="line" data-series-count="${spec.series.length}" aria-label="${escapeXml(spec.title)}">`,
  );
  out.push(`<title>${escapeXml(spec.title)}</title>`);
  out.push(
    `<text x="${W / 2}" y="16" text-anchor="middle" font-size="13" font-weight="600">${escapeXml(spec.title)}</text>`,
  );
  // axes and grid
  for (const t of ticks(y0, y1)) {
    const y = sy(t);
    out.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${num(y)}" y2="${num(y)}" stroke="#e5e7eb"/>`);
    out.push(
      `<text x="${m.l - 6}" y="${num(y + 4)}" text-anchor="end" font-size="10" fill="#555">${fmtTick(t)}</text>`,
    );
  }
  const xt =
    xs.length && xs.every(Number.isInteger) && x1 - x0 <= 12
      ? Array.from({ length: x1 - x0 + 1 }, (_, i) => x0 + i)
      : ticks(x0, x1, 6);
  for (const t of xt)
    out.push(
      `<text x="${num(sx(t))}" y="${m.t + ph + 14}" text-anchor="middle" font-size="10" fill="#555">${fmtTick(t)}</text>`,
    );
  out.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${m.t + ph}" y2="${m.t + ph}" stroke="#333"/>`);
  out.push(`<line x1="${m.l}" x2="${m.l}" y1="${m.t}" y2="${m.t + ph}" stroke="#333"/>`);
  out.push(
    `<text x="${m.l + pw / 2}" y="${m.t + ph + 30}" text-anchor="middle" font-size="11">${escapeXml(spec.xLabel)}</text>`,
  );
  out.push(
    `<text transform="translate(12 ${m.t + ph / 2}) rotate(-90)" text-anchor="middle" font-size="11">${escapeXml(spec.yLabel)}</text>`,
  );
  for (const mk of spec.markX ?? []) {
    const x = num(sx(mk.x));
    out.push(
      `<line x1="${x}" x2="${x}" y1="${m.t}" y2="${m.t + ph}" stroke="#999" stroke-dasharray="3 3" data-mark-x="${mk.x}"/>`,
    );
    out.push(`<text x="${x}" y="${m.t + 10}" font-size="10" fill="#666" dx="3">${escapeXml(mk.label)}</text>`);
  }
  spec.series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length];
    let d = '';
    let pen = false;
    for (const [x, y] of s.points) {
      if (y === null || !Number.isFinite(y)) {
        pen = false;
        continue;
      }
      d += `${pen ? 'L' : 'M'}${num(sx(x))} ${num(sy(y))}`;
      pen = true;
    }
    out.push(`<g class="series" data-series="${escapeXml(s.name)}">`);
    out.push(
      `<path d="${d}" fill="none" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 3"' : ''}/>`,
    );
    for (const [x, y] of s.points) {
      if (y === null || !Number.isFinite(y)) continue;
      out.push(`<circle cx="${num(sx(x))}" cy="${num(sy(y))}" r="2.5" fill="${color}" data-x="${x}" data-y="${y}"/>`);
    }
    out.push('</g>');
  });
  // legend
  spec.series.forEach((s, i) => {
    const col = i % 3;
    const row = Math.floor(i / 3);
    const x = m.l + col * (pw / 3);
    const y = H - legendH + row * 16 + 4;
    out.push(`<rect x="${num(x)}" y="${y}" width="12" height="3" fill="${PALETTE[i % PALETTE.length]}"/>`);
    out.push(`<text x="${num(x + 16)}" y="${y + 5}" font-size="10">${escapeXml(s.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('');
}

export interface BarChartSpec {
  title: string;
  categories: string[];
  /** one bar per group within each category */
  groups: { name: string; values: number[] }[];
  yLabel: string;
  width?: number;
  height?: number;
}

/** Grouped bars (e.g. label counts per class, one group per split). */
export function barChart(spec: BarChartSpec): string {
  const W = spec.width ?? 560;
  const H = spec.height ?? 240;
  const m = { l: 52, r: 12, t: 26, b: 52 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const max = Math.max(1e-12, ...spec.groups.flatMap((g) => g.values));
  const yt = ticks(0, max);
  const top = Math.max(max, yt[yt.length - 1] ?? max);
  const sy = (v: number) => m.t + ph - (v / top) * ph;
  const band = pw / Math.max(1, spec.categories.length);
  const bw = (band * 0.8) / Math.max(1, spec.groups.length);
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" data-chart="bar" data-series-count="${spec.groups.length}" aria-label="${escapeXml(spec.title)}">`,
  );
  out.push(`<title>${escapeXml(spec.title)}</title>`);
  out.push(
    `<text x="${W / 2}" y="16" text-anchor="middle" font-size="13" font-weight="600">${escapeXml(spec.title)}</text>`,
  );
  for (const t of yt) {
    out.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${num(sy(t))}" y2="${num(sy(t))}" stroke="#e5e7eb"/>`);
    out.push(
      `<text x="${m.l - 6}" y="${num(sy(t) + 4)}" text-anchor="end" font-size="10" fill="#555">${fmtTick(t)}</text>`,
    );
  }
  out.push(
    `<text transform="translate(12 ${m.t + ph / 2}) rotate(-90)" text-anchor="middle" font-size="11">${escapeXml(spec.yLabel)}</text>`,
  );
  spec.categories.forEach((c, ci) => {
    out.push(
      `<text x="${num(m.l + band * ci + band / 2)}" y="${m.t + ph + 14}" text-anchor="middle" font-size="10">${escapeXml(c)}</text>`,
    );
    spec.groups.forEach((g, gi) => {
      const v = g.values[ci] ?? 0;
      const x = m.l + band * ci + band * 0.1 + gi * bw;
      out.push(
        `<rect x="${num(x)}" y="${num(sy(v))}" width="${num(bw - 1)}" height="${num(m.t + ph - sy(v))}" fill="${PALETTE[gi % PALETTE.length]}" data-series="${escapeXml(g.name)}" data-category="${escapeXml(c)}" data-value="${v}"><title>${escapeXml(`${g.name} ${c}: ${v}`)}</title></rect>`,
      );
    });
  });
  out.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${m.t + ph}" y2="${m.t + ph}" stroke="#333"/>`);
  spec.groups.forEach((g, i) => {
    const x = m.l + i * (pw / Math.max(1, spec.groups.length));
    out.push(`<rect x="${num(x)}" y="${H - 18}" width="10" height="10" fill="${PALETTE[i % PALETTE.length]}"/>`);
    out.push(`<text x="${num(x + 14)}" y="${H - 9}" font-size="10">${escapeXml(g.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('');
}
