/**
 * A table wider than an A4 page (the per-epoch table: epoch, eight losses, the validation metrics)
 * is printed whole: Chromium's PDF of the report HTML holds its last column's header and values
 * (read back with poppler's pdftotext, the pages rendered with pdftoppm), and pdf-lib's fallback
 * draws it as column groups that keep the key column.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { REPORT_CSS, tableHtml } from '../../../src/main/reports/html';
import { chromiumPdf, findChromium } from '../../../src/main/reports/pdf';
import { columnGroups, tableParts } from '../../../src/main/reports/tables';
import type { ReportTable } from '../../../src/shared/contract/reports';
import { tempDir } from '../../helpers/tmp';

const columns = [
  'epoch',
  'total',
  'taskFull',
  'taskMissing',
  'joint',
  'attention',
  'reconText',
  'reconAudio',
  'reconVision',
  'Has0_acc_2',
  'Has0_F1_score',
  'Non0_acc_2',
  'Non0_F1_score',
  'Mult_acc_5',
  'Mult_acc_7',
  'MAE',
  'Corr',
  'duration ms',
  'lastColumnMarker',
];
const wide: ReportTable = {
  id: 'run1.epochs',
  title: 'Per-epoch losses and validation metrics',
  columns,
  rows: Array.from({ length: 6 }, (_, e) => [
    e + 1,
    ...columns.slice(1, -2).map((_, k) => 0.123456789 + e / 10 + k / 1000),
    12345 + e,
    0.9876 - e / 1000,
  ]),
};

test('column groups: a narrow table is one group; a wide one is split, the key column in every group', () => {
  assert.deepEqual(columnGroups({ columns: ['a', 'b'], rows: [[1, 2]] }, 100), [[0, 1]]);
  const groups = columnGroups(wide, 105);
  assert.ok(groups.length > 1, `split into ${groups.length}`);
  for (const g of groups) assert.equal(g[0], 0);
  assert.deepEqual(
    groups.flatMap((g) => g.slice(1)),
    columns.map((_, i) => i).slice(1),
    'every column once, in order',
  );
  const parts = tableParts(wide, 60, false);
  assert.ok(parts.length > 2);
  assert.deepEqual(parts.at(-1)!.columns.at(-1), 'lastColumnMarker');
  assert.deepEqual(
    parts.at(-1)!.rows.map((r) => r[0]),
    [1, 2, 3, 4, 5, 6],
  );
});

const chromium = findChromium();
const poppler = ['pdftotext', 'pdftoppm'].every((b) => {
  try {
    execFileSync(b, ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
});

test(
  'the PDF of a wide table keeps its last column (Chromium print, read back with pdftotext)',
  { skip: !chromium ? 'no Chromium' : !poppler ? 'poppler-utils not installed' : false, timeout: 120_000 },
  async () => {
    const dir = tempDir();
    const html = `<!doctype html><html><head><meta charset="utf-8"><style>${REPORT_CSS}</style></head><body>${tableHtml(wide)}</body></html>`;
    const pdf = await chromiumPdf(html, chromium!);
    const file = path.join(dir, 'wide.pdf');
    fs.writeFileSync(file, pdf);
    const text = execFileSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' });
    assert.match(text, /lastColumnMarker/, 'the last column header is on the page');
    for (const v of ['0.9876', '0.9826']) assert.ok(text.includes(v), `last column value ${v}`);
    assert.match(text, /Mult_acc_7/);
    assert.match(text, /part 2 of/);
    // every page renders (what a reader sees); pdftoppm writes one PNG per page
    execFileSync('pdftoppm', ['-r', '50', '-png', file, path.join(dir, 'page')]);
    const pages = fs.readdirSync(dir).filter((f) => f.startsWith('page') && f.endsWith('.png'));
    assert.ok(pages.length >= 1);
    if (process.env.CIDER_KEEP_PDF) fs.copyFileSync(file, process.env.CIDER_KEEP_PDF);
  },
);
