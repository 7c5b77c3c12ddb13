/**
 * The report as a PDF, in this order of preference:
 * 1. a `printToPdf` hook the host passes in (the desktop app: Electron's webContents.printToPDF);
 * 2. headless Chromium on the HTML (web mode and the CLI): CIDER_CHROMIUM, else Debian's
 *    /usr/bin/chromium or the usual Chrome names, run with --print-to-pdf, a fresh profile, no
 *    sandbox (it may run as root), no GPU, no background networking; the HTML itself allows no
 *    network and holds no script;
 * 3. pdf-lib (pure JavaScript) when no browser is found: the same tables and the line charts drawn
 *    with vector lines, in Helvetica (characters outside WinAnsi become '?').
 * The result says which one made the file.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { PDFDocument, PDFFont, PDFPage } from 'pdf-lib';
import type { ReportModel, ReportTable } from '../../shared/contract/reports';
import { fmt } from './html';
import { PALETTE } from './svg';
import { tableParts } from './tables';

/** The desktop app's hook: render this HTML to PDF bytes (Electron's printToPDF). */
export type PrintToPdf = (html: string) => Promise<Uint8Array>;

export interface PdfOutput {
  bytes: Uint8Array;
  renderer: 'electron' | 'chromium' | 'pdf-lib';
  detail: string;
}

const CHROMIUM_CANDIDATES = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome-stable',
  '/usr/bin/google-chrome',
  '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
];

/** The Chromium binary to print with: CIDER_CHROMIUM ('none' disables), else the first candidate that exists. */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string | null {
  const forced = env.CIDER_CHROMIUM;
  if (forced === 'none') return null;
  if (forced) return fs.existsSync(forced) ? forced : null;
  return CHROMIUM_CANDIDATES.find((c) => fs.existsSync(c)) ?? null;
}

export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--no-default-browser-check',
];

export async function chromiumPdf(html: string, chromium: string, timeoutMs = 120_000): Promise<Uint8Array> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cider-report-pdf-'));
  try {
    const input = path.join(dir, 'report.html');
    const output = path.join(dir, 'report.pdf');
    fs.writeFileSync(input, html);
    const args = [
      ...CHROMIUM_FLAGS,
      `--user-data-dir=${path.join(dir, 'profile')}`,
      '--no-pdf-header-footer',
      `--print-to-pdf=${output}`,
      `file://${input}`,
    ];
    await new Promise<void>((resolve, reject) => {
      execFile(chromium, args, { timeout: timeoutMs, maxBuffer: 8 << 20 }, (err, _out, stderr) => {
        if (fs.existsSync(output) && fs.statSync(output).size > 0) resolve();
        else
          reject(
            new Error(
              `${chromium} did not write a PDF${err ? ` (${err.message.split('\n')[0]})` : ''}: ${String(stderr).slice(-500)}`,
            ),
          );
      });
    });
    return fs.readFileSync(output);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export async function renderPdf(
  html: string,
  model: ReportModel,
  tables: ReportTable[],
  opts: { printToPdf?: PrintToPdf; chromium?: string | null } = {},
): Promise<PdfOutput> {
  if (opts.printToPdf)
    return {
      bytes: await opts.printToPdf(html),
      renderer: 'electron',
      detail: "Electron's printToPDF",
    };
  const chromium = opts.chromium === undefined ? findChromium() : opts.chromium;
  let why = 'no Chromium found (set CIDER_CHROMIUM to a Chromium or Chrome binary)';
  if (chromium) {
    try {
      return {
        bytes: await chromiumPdf(html, chromium),
        renderer: 'chromium',
        detail: `headless ${chromium}`,
      };
    } catch (e) {
      why = `Chromium failed: ${(e as Error).message}`;
    }
  }
  return {
    bytes: await libraryPdf(model, tables),
    renderer: 'pdf-lib',
    detail: `pdf-lib (pure JavaScript; ${why})`,
  };
}

// ---- the pdf-lib fallback ------------------------------------------------------------------

const A4: [number, number] = [595.28, 841.89];
/** characters of 7 pt Helvetica (about 3.9 pt each, digits) across the page inside the margins */
const PDF_LIB_PAGE_CHARS = 125;
const MARGIN = 40;

/** WinAnsi only (the standard fonts' encoding) */
const ansi = (s: string) => s.replace(/[^\x20-\x7e\xa0-\xff]/g, (c) => (c === '—' ? '-' : c === '≥' ? '>=' : '?'));

class Writer {
  page!: PDFPage;
  y = 0;
  constructor(
    readonly doc: PDFDocument,
    readonly font: PDFFont,
    readonly bold: PDFFont,
  ) {
    this.newPage();
  }
  newPage() {
    this.page = this.doc.addPage(A4);
    this.y = A4[1] - MARGIN;
  }
  need(h: number) {
    if (this.y - h < MARGIN) this.newPage();
  }
  fit(text: string, size: number, width: number, font = this.font): string {
    let s = ansi(text);
    if (font.widthOfTextAtSize(s, size) <= width) return s;
    while (s.length > 1 && font.widthOfTextAtSize(`${s}...`, size) > width) s = s.slice(0, -1);
    return `${s}...`;
  }
  text(text: string, size = 9, font = this.font, indent = 0) {
    const width = A4[0] - 2 * MARGIN - indent;
    // wrap on spaces
    const words = ansi(text).split(/\s+/);
    let line = '';
    const lines: string[] = [];
    for (const w of words) {
      const next = line ? `${line} ${w}` : w;
      if (font.widthOfTextAtSize(next, size) > width && line) {
        lines.push(line);
        line = w;
      } else line = next;
    }
    if (line) lines.push(line);
    for (const l of lines) {
      this.need(size + 3);
      this.y -= size + 3;
      this.page.drawText(this.fit(l, size, width, font), {
        x: MARGIN + indent,
        y: this.y,
        size,
        font,
      });
    }
  }
  table(t: ReportTable) {
    const size = 7;
    const width = A4[0] - 2 * MARGIN;
    const cols = t.columns.length;
    const cell = (v: string | number | null) => fmt(v);
    const natural = t.columns.map(
      (c, i) =>
        Math.max(
          this.bold.widthOfTextAtSize(ansi(c), size),
          ...t.rows.slice(0, 200).map((r) => this.font.widthOfTextAtSize(ansi(cell(r[i] ?? null)), size)),
        ) + 6,
    );
    const total = natural.reduce((a, b) => a + b, 0);
    const widths = total <= width ? natural : natural.map((w) => Math.max(24, (w / total) * width));
    this.need(30);
    this.text(t.title, 9, this.bold);
    const row = (cells: string[], font: PDFFont) => {
      this.need(size + 4);
      this.y -= size + 4;
      let x = MARGIN;
      for (let i = 0; i < cols; i++) {
        this.page.drawText(this.fit(cells[i] ?? '', size, widths[i] - 4, font), {
          x: x + 2,
          y: this.y + 1,
          size,
          font,
        });
        x += widths[i];
      }
      this.page.drawLine({
        start: { x: MARGIN, y: this.y - 1 },
        end: {
          x:
            MARGIN +
            Math.min(
              width,
              widths.reduce((a, b) => a + b, 0),
            ),
          y: this.y - 1,
        },
        thickness: 0.3,
        color: rgb(0.8, 0.8, 0.8),
      });
    };
    row(t.columns, this.bold);
    for (const r of t.rows)
      row(
        r.map((v) => cell(v)),
        this.font,
      );
    if (t.note) this.text(t.note, 7);
    this.y -= 6;
  }
  chart(title: string, series: { name: string; points: [number, number | null][] }[]) {
    const W = A4[0] - 2 * MARGIN;
    const H = 150;
    this.need(H + 40);
    this.text(title, 9, this.bold);
    const top = this.y - 6;
    const bottom = top - H;
    const pts = series.flatMap((s) =>
      s.points.filter((p): p is [number, number] => p[1] !== null && Number.isFinite(p[1])),
    );
    if (!pts.length) return;
    const [x0, x1] = [Math.min(...pts.map((p) => p[0])), Math.max(...pts.map((p) => p[0]))];
    let [y0, y1] = [Math.min(...pts.map((p) => p[1])), Math.max(...pts.map((p) => p[1]))];
    if (y0 === y1) [y0, y1] = [y0 - 0.5, y1 + 0.5];
    const left = MARGIN + 34;
    const sx = (x: number) => left + (x1 === x0 ? (W - 34) / 2 : ((x - x0) / (x1 - x0)) * (W - 34));
    const sy = (y: number) => bottom + ((y - y0) / (y1 - y0)) * H;
    const grey = rgb(0.3, 0.3, 0.3);
    this.page.drawLine({
      start: { x: left, y: bottom },
      end: { x: left + W - 34, y: bottom },
      thickness: 0.6,
      color: grey,
    });
    this.page.drawLine({
      start: { x: left, y: bottom },
      end: { x: left, y: top },
      thickness: 0.6,
      color: grey,
    });
    for (const v of [y0, (y0 + y1) / 2, y1])
      this.page.drawText(fmt(v), {
        x: MARGIN,
        y: sy(v) - 3,
        size: 6,
        font: this.font,
      });
    for (const v of [x0, x1])
      this.page.drawText(fmt(v), {
        x: sx(v) - 4,
        y: bottom - 9,
        size: 6,
        font: this.font,
      });
    series.forEach((s, i) => {
      const hex = PALETTE[i % PALETTE.length];
      const color = rgb(
        parseInt(hex.slice(1, 3), 16) / 255,
        parseInt(hex.slice(3, 5), 16) / 255,
        parseInt(hex.slice(5, 7), 16) / 255,
      );
      let prev: [number, number] | null = null;
      for (const [x, y] of s.points) {
        if (y === null || !Number.isFinite(y)) {
          prev = null;
          continue;
        }
        const p: [number, number] = [sx(x), sy(y)];
        if (prev)
          this.page.drawLine({
            start: { x: prev[0], y: prev[1] },
            end: { x: p[0], y: p[1] },
            thickness: 1.2,
            color,
          });
        this.page.drawCircle({ x: p[0], y: p[1], size: 1.4, color });
        prev = p;
      }
      this.page.drawText(this.fit(s.name, 6, 120), {
        x: left + 4 + (i % 4) * 125,
        y: bottom - 18 - Math.floor(i / 4) * 8,
        size: 6,
        font: this.font,
        color,
      });
    });
    this.y = bottom - 22 - Math.floor((series.length - 1) / 4) * 8;
  }
}

// pdf-lib loads when a PDF is written (it costs a few hundred ms at start-up: every `cider` command would pay it)
let rgb: typeof import('pdf-lib').rgb;

export async function libraryPdf(model: ReportModel, tables: ReportTable[]): Promise<Uint8Array> {
  const { PDFDocument, StandardFonts, rgb: color } = await import('pdf-lib');
  rgb = color;
  const doc = await PDFDocument.create();
  doc.setTitle(ansi(model.title));
  doc.setCreator(`CIDer Studio ${model.app.version}`);
  doc.setProducer('pdf-lib');
  doc.setCreationDate(new Date(model.generatedAt));
  const w = new Writer(
    doc,
    await doc.embedFont(StandardFonts.Helvetica),
    await doc.embedFont(StandardFonts.HelveticaBold),
  );
  w.text(model.title, 16, w.bold);
  w.text(
    `Generated ${model.generatedAt} by CIDer Studio ${model.app.version} (${model.app.mode}), backend ${model.app.backend.name}, TensorFlow.js ${model.app.backend.tfjsVersion}. PDF drawn by pdf-lib (no browser was available).`,
    8,
  );
  w.y -= 6;
  const byId = new Map(tables.map((t) => [t.id, t]));
  // a table wider than the page is drawn as column groups (key column repeated), never cut
  const table = (t: ReportTable) => tableParts(t, PDF_LIB_PAGE_CHARS, false).forEach((part) => w.table(part));
  for (const t of tables.filter((x) => x.id === 'report' || x.id.startsWith('comparison.'))) table(t);
  for (const r of model.runs) {
    w.newPage();
    w.text(`Run ${r.run.id}: ${r.run.name}`, 13, w.bold);
    const reasons: [string, { available: boolean; reason?: string }][] = [
      ['Dataset', r.dataset],
      ['Configuration', r.config],
      ['Training curves', r.curves],
      ['Test metrics', r.metrics],
      ['Robustness', r.robustness],
      ['Contributions and counterfactual edits', r.explanations],
      ['Annotation agreement', r.agreement],
    ];
    for (const [name, s] of reasons)
      if (!s.available && s.reason !== 'not chosen for this report') w.text(`${name}: not available: ${s.reason}`, 8);
    if (r.explanations.available)
      for (const s of [r.explanations.data.contributions, r.explanations.data.counterfactualEdits])
        if (s.available) for (const l of s.leftOut ?? []) w.text(`Pinned ${l.item} left out: ${l.reason}`, 8);
    if (r.curves.available) {
      const e = r.curves.data.epochs;
      w.chart(
        'Losses per epoch',
        Object.keys(e[0].losses).map((n) => ({
          name: n,
          points: e.map((x) => [x.epoch, x.losses[n] ?? null] as [number, number | null]),
        })),
      );
      w.chart(
        'Validation metrics per epoch',
        [...new Set(e.flatMap((x) => Object.keys(x.validation)))].map((n) => ({
          name: n,
          points: e.map((x) => [x.epoch, x.validation[n] ?? null] as [number, number | null]),
        })),
      );
    }
    if (r.robustness.available)
      for (const c of r.robustness.data.filter((x) => x.points.every((p) => typeof p.rate === 'number'))) {
        const names = [...new Set(c.points.flatMap((p) => Object.keys(p.metrics)))];
        w.chart(
          `${c.protocol}: metric vs missing rate`,
          names.map((n) => ({
            name: n,
            points: c.points.map((p) => [p.rate as number, p.metrics[n] ?? null] as [number, number | null]),
          })),
        );
      }
    for (const t of tables.filter((x) => x.id.startsWith(`run${r.run.id}.`))) if (byId.has(t.id)) table(t);
  }
  return doc.save();
}
