/**
 * Writing a report's files into the folder the user chose (paths.ts checks every name):
 *   <base>.html                    self-contained HTML
 *   <base>.pdf                     the same content as PDF (pdf.ts says which renderer made it)
 *   <base>.json                    the whole report model
 *   <base>.<table>.csv / .json     every table, and the per-sample predictions of each evaluation
 *                                  that stored them (<base>.run<R>.predictions-e<E>.csv)
 */
import fs from 'node:fs';
import path from 'node:path';
import type {
  ReportExportResult,
  ReportFile,
  ReportFormat,
  ReportModel,
  ReportTable,
} from '../../shared/contract/reports';
import type { EvaluationPrediction } from '../../shared/contract/training';
import type { DatasetManifest } from '../data/featureStore';
import { renderHtml } from './html';
import { ExportFolder } from './paths';
import { renderPdf, type PrintToPdf } from './pdf';
import { predictionsTable, reportTables, toCsv, toJsonRecords } from './tables';

export interface ExportDeps {
  predictions(evaluationId: number): EvaluationPrediction[];
  /** the test split's sample ids of a run's dataset, or null */
  testSampleIds(runId: number): string[] | null;
  printToPdf?: PrintToPdf;
  /** a Chromium binary, null for none (pdf-lib), undefined to look for one */
  chromium?: string | null;
  /** resolves a relative folder (the CLI's working directory) */
  cwd?: string;
}

export function defaultBaseName(model: ReportModel): string {
  return `report-run${model.runs.map((r) => r.run.id).join('-')}`;
}

/** the tables plus the per-sample predictions tables (CSV/JSON only) */
export function exportTables(
  model: ReportModel,
  deps: Pick<ExportDeps, 'predictions' | 'testSampleIds'>,
): ReportTable[] {
  const tables = reportTables(model);
  for (const r of model.runs) {
    if (!r.predictions.available) continue;
    const ids = deps.testSampleIds(r.run.id);
    for (const p of r.predictions.data)
      tables.push(
        predictionsTable(r.run.id, r.run.task, p.evaluationId, p.protocol, deps.predictions(p.evaluationId), ids),
      );
  }
  return tables;
}

export async function exportReport(
  model: ReportModel,
  req: { formats: ReportFormat[]; folder: string; baseName?: string },
  deps: ExportDeps,
): Promise<ReportExportResult> {
  const folder = ExportFolder.open(req.folder, deps.cwd);
  const base = req.baseName ?? defaultBaseName(model);
  const files: ReportFile[] = [];
  const put = (format: ReportFormat, name: string, data: string | Uint8Array) =>
    files.push({ format, ...folder.write(name, data) });
  const formats = new Set(req.formats);
  const tables = reportTables(model);
  const html = formats.has('html') || formats.has('pdf') ? renderHtml(model, tables) : '';
  let pdf: ReportExportResult['pdf'] = null;
  if (formats.has('html')) put('html', `${base}.html`, html);
  if (formats.has('pdf')) {
    const out = await renderPdf(html, model, tables, {
      printToPdf: deps.printToPdf,
      chromium: deps.chromium,
    });
    put('pdf', `${base}.pdf`, out.bytes);
    pdf = { renderer: out.renderer, detail: out.detail };
  }
  if (formats.has('csv') || formats.has('json')) {
    const all = exportTables(model, deps);
    if (formats.has('json')) put('json', `${base}.json`, JSON.stringify(model, null, 2) + '\n');
    for (const t of all) {
      if (formats.has('csv')) put('csv', `${base}.${t.id}.csv`, toCsv(t));
      if (formats.has('json')) put('json', `${base}.${t.id}.json`, JSON.stringify(toJsonRecords(t), null, 2) + '\n');
    }
  }
  return { folder: folder.root, files, pdf };
}

export function testSampleIdsOf(datasetFolder: string, manifest: DatasetManifest | null): string[] | null {
  if (!manifest) return null;
  try {
    const s = JSON.parse(fs.readFileSync(path.join(datasetFolder, manifest.splits.test.samplesFile), 'utf8')) as {
      ids?: string[];
    };
    return Array.isArray(s.ids) ? s.ids : null;
  } catch {
    return null;
  }
}
