/**
 * The reports service: handlers for src/shared/contract/reports.ts, from a factory given the
 * ServiceContext, the app's status (version, backend) and, in the desktop app, Electron's
 * printToPDF as a plain function. Building a report reads SQLite and the dataset folder and hashes
 * the dataset's files (memoised by size and modification time, so a preview does not re-read
 * gigabytes); a PDF is printed by a Chromium child process. Neither needs a worker thread.
 */
import type { Handlers } from '../../shared/api';
import type { AppStatus } from '../../shared/types';
import type { DataTrace, ReportModel, ReportRequest } from '../../shared/contract/reports';
import { projectAgreement } from '../clips/agreement';
import { datasetsRoot } from '../store/paths';
import type { DatasetManifest } from '../data/featureStore';
import { exportReport, testSampleIdsOf } from '../reports/export';
import { datasetFiles, hashDataset, sha256File, statFingerprint } from '../reports/hash';
import { renderHtml } from '../reports/html';
import { buildReport, readManifest, type AnalysisSource, type ReportSources } from '../reports/model';
import type { PrintToPdf } from '../reports/pdf';
import { reportTables } from '../reports/tables';
import { ClipStore } from '../store/clips';
import { DatasetStore } from '../store/datasets';
import { RunStore } from '../store/runs';
import type { ServiceContext } from './app';

export interface ReportsOptions {
  status: () => Promise<AppStatus>;
  /** the desktop app's PDF printer (Electron's printToPDF); web mode and the CLI use headless Chromium */
  printToPdf?: PrintToPdf;
  /** Shapley contributions, counterfactual edits and OOD comparison, when the app has an analysis service */
  analysis?: AnalysisSource;
  /** a Chromium binary for PDFs; null forces the pdf-lib fallback; undefined looks for one */
  chromium?: string | null;
  /** where relative export folders are resolved (the CLI's working directory) */
  cwd?: string;
}

export function reportsService(ctx: ServiceContext, opts: ReportsOptions): { handlers: Handlers<void>['reports'] } {
  const runs = new RunStore(ctx.db);
  const datasets = new DatasetStore(ctx.db, datasetsRoot(ctx.dataDir));
  const clips = new ClipStore(ctx.db);
  const hashes = new Map<string, { key: string; trace: DataTrace }>();

  const sources: ReportSources = {
    run: (id) => runs.get(id),
    epochs: (id) =>
      runs.epochs(id).map((e) => ({
        epoch: e.epoch,
        losses: { ...e.losses },
        validation: e.validation,
        improved: e.improved,
        durationMs: e.durationMs,
      })),
    evaluations: (id) => runs.evaluations(id),
    predictionCount: (evaluationId) =>
      (
        ctx.db
          .prepare('SELECT COUNT(*) AS n FROM evaluation_predictions WHERE evaluation_id = ?')
          .get(evaluationId) as { n: number }
      ).n,
    dataset: (id) => {
      try {
        return datasets.get(id);
      } catch {
        return null;
      }
    },
    clips: {
      clip: (id) => {
        try {
          const c = clips.get(id);
          return { projectId: c.projectId, name: c.name };
        } catch {
          return null;
        }
      },
      agreement: (projectId, clipIds) => {
        const keep = new Set(clipIds);
        return projectAgreement(
          clips.annotations({ projectId }).filter((a) => keep.has(a.clipId)),
          clips.annotators(projectId),
        );
      },
    },
    analysis: opts.analysis,
    app: async () => {
      const s = await opts.status();
      return {
        version: s.appVersion,
        mode: s.mode,
        backend: {
          name: s.backend.name,
          reason: s.backend.reason,
          gpu: s.backend.gpu,
          tfjsVersion: s.backend.tfjsVersion,
        },
        node: s.node,
        platform: s.platform,
      };
    },
    hashDataset: async (folder: string, manifest: DatasetManifest) => {
      const key = statFingerprint(folder, datasetFiles(manifest));
      const hit = hashes.get(folder);
      if (hit && hit.key === key) return hit.trace;
      const trace = await hashDataset(folder, manifest);
      hashes.set(folder, { key, trace });
      return trace;
    },
    hashFile: sha256File,
  };

  const model = (req: ReportRequest): Promise<ReportModel> => buildReport(req, sources);

  const handlers: Handlers<void>['reports'] = {
    model: (req) => model(req),
    preview: async (req) => {
      const m = await model(req);
      const tables = reportTables(m);
      return {
        html: renderHtml(m, tables),
        tables: tables.map((t) => ({
          id: t.id,
          title: t.title,
          rows: t.rows.length,
        })),
      };
    },
    export: async (req) => {
      const m = await model(req);
      const deps = {
        predictions: (evaluationId: number) => runs.predictions(evaluationId),
        testSampleIds: (runId: number) => {
          const r = runs.get(runId);
          return testSampleIdsOf(r.datasetFolder, readManifest(r.datasetFolder));
        },
        printToPdf: opts.printToPdf,
        chromium: opts.chromium,
        cwd: opts.cwd,
      };
      return exportReport(m, { formats: req.formats, folder: req.folder, baseName: req.baseName }, deps);
    },
  };
  return { handlers };
}
