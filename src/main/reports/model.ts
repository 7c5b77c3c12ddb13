/**
 * The report as data. Each section comes from its own function that returns the section's data or
 * the reason it is not available for this run; the renderers (html.ts, pdf.ts, tables.ts) only
 * read this model, so every format shows the same numbers.
 *
 * Where numbers come from: the run's row, epochs and evaluations in SQLite (store/runs.ts), the
 * dataset folder's manifest.json, the clips store for annotation agreement, and an optional
 * analysis source (Shapley contributions, counterfactual edits, OOD comparison) when the app has one.
 */
import fs from 'node:fs';
import path from 'node:path';
import { CLASS_NAMES, type Dataset, type DatasetSplit } from '../../shared/contract/datasets';
import type {
  AgreementSummary,
  ConfigRow,
  CounterfactualEditRow,
  ContributionRow,
  DatasetSummary,
  DataTrace,
  Explanations,
  HashedFile,
  MetricsSummary,
  OodComparison,
  PinnedRef,
  PinnedSection,
  ReportComparison,
  ReportModel,
  ReportRequest,
  ReportSection,
  RobustnessCurve,
  RunReport,
  TrainingCurves,
} from '../../shared/contract/reports';
import type { EvaluationRecord, RunRecord, TrainingOptions } from '../../shared/contract/training';
import type { ProjectAgreement } from '../../shared/clips';
import type { DatasetManifest } from '../data/featureStore';

export const na = (reason: string): { available: false; reason: string } => ({
  available: false,
  reason,
});
export const ok = <T>(data: T): ReportSection<T> => ({ available: true, data });

/** The analysis service's answers, when the app has one (issue 8); each may say "not available". */
export interface AnalysisSource {
  contributions(run: RunRecord, pinned: PinnedRef[]): Promise<PinnedSection<ContributionRow[]>>;
  counterfactualEdits(run: RunRecord, pinned: PinnedRef[]): Promise<PinnedSection<CounterfactualEditRow[]>>;
  oodComparison(run: RunRecord): Promise<ReportSection<OodComparison>>;
  /** the latest robustness sweep of the run (metric vs missing rate per protocol, AUILC) */
  robustness(run: RunRecord): Promise<ReportSection<RobustnessCurve[]>>;
}

export interface ReportSources {
  run(id: number): RunRecord;
  epochs(runId: number): TrainingCurves['epochs'];
  evaluations(runId: number): EvaluationRecord[];
  predictionCount(evaluationId: number): number;
  /** the app's record of a dataset, or null when it is gone */
  dataset(id: number): Dataset | null;
  /** clips of a clips-made dataset: which project each belongs to (null when deleted), and agreement over a project's annotations restricted to given clips */
  clips?: {
    clip(id: number): { projectId: number; name: string } | null;
    agreement(projectId: number, clipIds: number[]): ProjectAgreement;
  };
  analysis?: AnalysisSource;
  app(): Promise<ReportModel['app']>;
  hashDataset(folder: string, manifest: DatasetManifest): Promise<DataTrace>;
  hashFile(file: string): Promise<{ sha256: string; bytes: number }>;
  now?: () => Date;
}

export function readManifest(folder: string): DatasetManifest | null {
  try {
    return JSON.parse(fs.readFileSync(path.join(folder, 'manifest.json'), 'utf8')) as DatasetManifest;
  } catch {
    return null;
  }
}

/** the latest evaluation of each protocol (ids grow with time) */
function latestByProtocol(evals: EvaluationRecord[]): Map<string, EvaluationRecord> {
  const out = new Map<string, EvaluationRecord>();
  for (const e of evals) if (!out.has(e.protocol) || out.get(e.protocol)!.id < e.id) out.set(e.protocol, e);
  return out;
}

export function distributionOf(manifest: DatasetManifest, record: Dataset | null): DatasetSummary['distribution'] {
  if (record) return record.kind;
  if (manifest.ood || manifest.source.kind === 'ood-split') return 'ood';
  if (manifest.source.kind === 'mmsa-pickle' || manifest.source.kind === 'csd' || manifest.source.kind === 'clips')
    return 'iid';
  return 'unknown';
}

export function datasetSection(
  run: RunRecord,
  manifest: DatasetManifest | null,
  record: Dataset | null,
): ReportSection<DatasetSummary> {
  if (!manifest) return na(`the dataset folder ${run.datasetFolder} has no readable manifest.json (moved or removed)`);
  const splits = {} as DatasetSummary['splits'];
  for (const s of ['train', 'valid', 'test'] as DatasetSplit[])
    splits[s] = {
      count: manifest.splits[s].count,
      labels: manifest.splits[s].labelCounts,
    };
  return ok({
    name: record?.name ?? manifest.name,
    datasetId: record?.id ?? null,
    folder: run.datasetFolder,
    distribution: distributionOf(manifest, record),
    source: record?.format ?? manifest.source.kind,
    aligned: manifest.aligned,
    dims: manifest.dims,
    splits,
    ood: record?.ood ?? ((manifest.ood as DatasetSummary['ood']) || null),
    warnings: manifest.warnings ?? [],
  });
}

/** The named switches: settings that reproduce a reference quirk or change what the numbers mean. */
export const SWITCH_NOTES: Record<string, string> = {
  'text.kind':
    "where text features come from: 'features' (the dataset's precomputed BERT features; a missing view ZEROES dropped tokens' features, MACI unavailable), 'frozen' (a BERT model, not trained) or 'finetune' (the paper's setting)",
  accumulateFullViewGrad:
    "reference quirk (spec 4): the missing-view update also applies the complete view's gradients (true reproduces the published numbers)",
  'model.positional':
    "'reference' reproduces the reference's batch-indexed positional table (spec 2.5); 'temporal' indexes by time step",
  'validation.view': 'the view early stopping selects on: the complete view, or RMFM at a fixed rate with seeded masks',
  'confounders.source':
    "confounder dictionary and prior: computed from the training split, or the reference's .npy files attached to the dataset",
  microBatchSize: 'exact gradient accumulation over micro-batches (bounds memory; same gradients)',
};

function flatten(value: unknown, prefix: string, out: [string, unknown][]): void {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value as Record<string, unknown>))
      flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else out.push([prefix, value]);
}

export function configRows(options: TrainingOptions): ConfigRow[] {
  const flat: [string, unknown][] = [];
  flatten(options, '', flat);
  if (options.microBatchSize === undefined) flat.push(['microBatchSize', undefined]);
  return flat.map(([setting, v]) => {
    const row: ConfigRow = {
      setting,
      value: v === undefined ? '(not set)' : typeof v === 'string' ? v : JSON.stringify(v),
    };
    if (SWITCH_NOTES[setting]) row.switchNote = SWITCH_NOTES[setting];
    return row;
  });
}

function curvesSection(run: RunRecord, epochs: TrainingCurves['epochs']): ReportSection<TrainingCurves> {
  if (!epochs.length) return na(`run ${run.id} has no finished epoch (${run.status})`);
  return ok({
    selectionMetric: run.selectionMetric,
    bestEpoch: run.bestEpoch,
    epochs,
  });
}

const splitLabel = (d: DatasetSummary['distribution']) => (d === 'unknown' ? 'test' : `test (${d.toUpperCase()})`);

export function metricsSection(
  run: RunRecord,
  evals: EvaluationRecord[],
  distribution: DatasetSummary['distribution'],
): ReportSection<MetricsSummary> {
  if (!evals.length)
    return na(`run ${run.id} has no stored evaluation yet (cider eval ${run.id}, or Evaluate in the Runs view)`);
  const latest = latestByProtocol(evals);
  const complete = latest.get('complete');
  const maci = latest.get('MACI');
  const summary: MetricsSummary = {
    split: splitLabel(distribution),
    complete: complete
      ? ok({
          evaluationId: complete.id,
          checkpoint: complete.checkpoint,
          engine: complete.engine,
          textNote: complete.textNote,
          metrics: complete.points[0]?.metrics ?? {},
          confusion: complete.points[0]?.confusion ?? {},
        })
      : na(`no complete-view evaluation stored for run ${run.id} (cider eval ${run.id} --protocol complete)`),
    debiased: maci
      ? ok({
          evaluationId: maci.id,
          checkpoint: maci.checkpoint,
          engine: maci.engine,
          textNote: maci.textNote,
          referenceLabel: maci.points.find((p) => p.maci)?.maci!.referenceProtocol.label ?? 'reference protocol',
          rows: maci.points.flatMap((p) =>
            Object.keys(p.metrics).map((metric) => ({
              rate: p.rate,
              metric,
              plain: p.maci?.testWithoutDebiasing[metric] ?? null,
              debiased: p.metrics[metric] ?? null,
              tau: p.maci?.selectedTau ?? 0,
              reference: p.maci?.referenceProtocol.values[metric]?.value ?? null,
              referenceTau: p.maci?.referenceProtocol.values[metric]?.tau ?? null,
            })),
          ),
        })
      : na(
          run.options.text.kind === 'features'
            ? "MACI (debiased inference) needs a BERT model: this run reads the dataset's precomputed text features, whose [MASK]ed counterfactual text cannot be computed"
            : `no MACI evaluation stored for run ${run.id} (cider eval ${run.id} --protocol MACI)`,
        ),
  };
  return ok(summary);
}

const SWEEPS = ['RMFM', 'RMFM_same', 'SMM', 'RMM', 'TMFM', 'STMFM'] as const;

export function robustnessSection(
  run: RunRecord,
  evals: EvaluationRecord[],
  sweep: ReportSection<RobustnessCurve[]> | null = null,
): ReportSection<RobustnessCurve[]> {
  const latest = latestByProtocol(evals);
  const curves: RobustnessCurve[] = [];
  const base = (e: EvaluationRecord) => ({
    source: 'evaluation',
    evaluationId: e.id,
    checkpoint: e.checkpoint,
    seed: e.seed,
    engine: e.engine,
    textNote: e.textNote,
  });
  for (const p of SWEEPS) {
    const e = latest.get(p);
    if (!e || !e.points.length) continue;
    curves.push({
      ...base(e),
      protocol: p,
      points: e.points.map((pt) => ({ rate: pt.rate, metrics: pt.metrics })),
      auilc: e.auilc,
    });
  }
  const maci = latest.get('MACI');
  if (maci && maci.points.length > 1) {
    curves.push({
      ...base(maci),
      protocol: 'MACI (debiased, tau on validation)',
      points: maci.points.map((pt) => ({ rate: pt.rate, metrics: pt.metrics })),
      auilc: maci.auilc ?? auilcOf(maci),
    });
  }
  if (sweep?.available) curves.push(...sweep.data);
  if (!curves.length)
    return na(
      `no missing-modality sweep stored for run ${run.id} (cider eval ${run.id} --protocol RMFM --rates 0:1:0.1)`,
    );
  return ok(curves);
}

/** trapezoidal area under metric-vs-rate over [0, 1] (spec 3); null unless the rates span [0, 1] */
export function auilcOf(e: Pick<EvaluationRecord, 'points'>): Record<string, number | null> | null {
  const pts = e.points
    .filter((p) => typeof p.rate === 'number')
    .sort((a, b) => (a.rate as number) - (b.rate as number));
  if (pts.length < 2 || pts[0].rate !== 0 || pts[pts.length - 1].rate !== 1) return null;
  const out: Record<string, number | null> = {};
  for (const m of Object.keys(pts[0].metrics)) {
    let area = 0;
    for (let i = 1; i < pts.length; i++) {
      const a = pts[i - 1].metrics[m];
      const b = pts[i].metrics[m];
      if (a === null || b === null || a === undefined || b === undefined) {
        area = NaN;
        break;
      }
      area += (((pts[i].rate as number) - (pts[i - 1].rate as number)) * (a + b)) / 2;
    }
    out[m] = Number.isFinite(area) ? area : null;
  }
  return out;
}

async function explanationsSection(
  run: RunRecord,
  pinned: PinnedRef[],
  analysis: AnalysisSource | undefined,
): Promise<ReportSection<Explanations>> {
  if (!analysis)
    return na(
      'the analysis service (Shapley contributions, counterfactual edits, OOD comparison) is not part of this build of the app',
    );
  const none = na('no clip or sample pinned for this report');
  const safe = async <T>(f: () => Promise<ReportSection<T>>): Promise<ReportSection<T>> => {
    try {
      return await f();
    } catch (e) {
      return na(`the analysis service failed: ${(e as Error).message}`);
    }
  };
  return ok({
    contributions: pinned.length ? await safe(() => analysis.contributions(run, pinned)) : none,
    counterfactualEdits: pinned.length ? await safe(() => analysis.counterfactualEdits(run, pinned)) : none,
    oodComparison: await safe(() => analysis.oodComparison(run)),
  });
}

export function agreementSection(
  manifest: DatasetManifest | null,
  clips: ReportSources['clips'],
): ReportSection<AgreementSummary> {
  if (!manifest) return na('the dataset manifest is not readable');
  const assignment = (
    manifest as DatasetManifest & {
      clips?: { assignment?: Record<string, number[]> };
    }
  ).clips?.assignment;
  if (manifest.source.kind !== 'clips' || !assignment)
    return na(`the dataset was not made from annotated clips (source: ${manifest.source.kind})`);
  if (!clips) return na('the clips store is not available');
  const ids = Object.values(assignment).flat();
  const byProject = new Map<number, number[]>();
  for (const id of ids) {
    const c = clips.clip(id);
    if (c) byProject.set(c.projectId, [...(byProject.get(c.projectId) ?? []), id]);
  }
  if (!byProject.size) return na(`the ${ids.length} clips this dataset was made from are no longer in the app`);
  // one project in practice (exports are per project); several are summarised one after another
  const [projectId, clipIds] = [...byProject.entries()][0];
  const a = clips.agreement(projectId, clipIds);
  const names = new Map(clipIds.map((id) => [id, clips.clip(id)?.name ?? `clip ${id}`]));
  return ok({
    projectIds: [...byProject.keys()],
    clips: clipIds.length,
    annotators: a.annotators.map((x) => x.name),
    units: a.units,
    alphaInterval: a.alphaInterval,
    alpha3: a.alpha3,
    alpha7: a.alpha7,
    kappa3: a.kappa3,
    kappa7: a.kappa7,
    perClip: a.clips.map((c) => ({
      clipId: c.clipId,
      name: names.get(c.clipId) ?? `clip ${c.clipId}`,
      raters: c.raters,
      meanScore: c.meanScore,
      scoreSd: c.scoreSd,
      pairAgreement3: c.pairAgreement3,
      alphaInterval: c.alphaInterval,
    })),
  });
}

async function traceOf(
  run: RunRecord,
  manifest: DatasetManifest | null,
  evals: EvaluationRecord[],
  src: ReportSources,
): Promise<RunReport['trace']> {
  const engines = [...new Set([run.engine, ...evals.map((e) => e.engine)].filter((x): x is string => !!x))];
  let data: ReportSection<DataTrace>;
  try {
    data = manifest
      ? ok(await src.hashDataset(run.datasetFolder, manifest))
      : na(`the dataset folder ${run.datasetFolder} is not readable; its data cannot be hashed`);
  } catch (e) {
    data = na(`hashing the dataset failed: ${(e as Error).message}`);
  }
  const ckpt = run.bestCheckpoint ?? run.lastCheckpoint;
  let checkpoint: ReportSection<HashedFile>;
  if (!ckpt || !fs.existsSync(ckpt))
    checkpoint = na(ckpt ? `the checkpoint ${ckpt} is missing` : `run ${run.id} has no checkpoint`);
  else {
    const h = await src.hashFile(ckpt);
    checkpoint = ok({ file: ckpt, ...h });
  }
  return { data, checkpoint, engines };
}

export async function runReport(
  runId: number,
  req: Pick<ReportRequest, 'sections' | 'pinned'>,
  src: ReportSources,
): Promise<RunReport> {
  const run = src.run(runId);
  const want = new Set(req.sections);
  const skipped = na('not chosen for this report');
  const manifest = readManifest(run.datasetFolder);
  const record = run.datasetId !== null ? src.dataset(run.datasetId) : null;
  const evals = src.evaluations(run.id);
  const dataset = datasetSection(run, manifest, record);
  const distribution = dataset.available ? dataset.data.distribution : 'unknown';
  const withPredictions = evals
    .map((e) => ({
      evaluationId: e.id,
      protocol: e.protocol,
      count: src.predictionCount(e.id),
    }))
    .filter((p) => p.count > 0);
  return {
    run: {
      id: run.id,
      name: run.name,
      status: run.status,
      task: run.options.task,
      epochsDone: run.epochsDone,
      bestEpoch: run.bestEpoch,
      bestMetric: run.bestMetric,
      selectionMetric: run.selectionMetric,
      engine: run.engine,
      createdAt: run.createdAt,
      finishedAt: run.finishedAt,
    },
    dataset: want.has('dataset') ? dataset : skipped,
    config: want.has('config') ? ok(configRows(run.options)) : skipped,
    curves: want.has('curves') ? curvesSection(run, src.epochs(run.id)) : skipped,
    metrics: want.has('metrics') ? metricsSection(run, evals, distribution) : skipped,
    robustness: want.has('robustness')
      ? robustnessSection(
          run,
          evals,
          src.analysis ? await src.analysis.robustness(run).catch((e: Error) => na(e.message)) : null,
        )
      : skipped,
    explanations: want.has('explanations') ? await explanationsSection(run, req.pinned, src.analysis) : skipped,
    agreement: want.has('agreement') ? agreementSection(manifest, src.clips) : skipped,
    predictions: !want.has('predictions')
      ? skipped
      : withPredictions.length
        ? ok(withPredictions)
        : na(`run ${run.id} has no stored per-sample predictions (a complete-view evaluation stores them)`),
    trace: await traceOf(run, manifest, evals, src),
  };
}

export function comparisonSection(runs: RunReport[], options: TrainingOptions[]): ReportSection<ReportComparison> {
  if (runs.length < 2) return na('a single run (choose two or more runs to compare)');
  const flat = options.map((o) => new Map(configRows(o).map((r) => [r.setting, r.value])));
  const settings = [...new Set(flat.flatMap((m) => [...m.keys()]))];
  const configDiff = settings
    .map((setting) => ({
      setting,
      values: flat.map((m) => m.get(setting) ?? null),
    }))
    .filter((r) => new Set(r.values).size > 1);
  const complete = runs.map((r) =>
    r.metrics.available && r.metrics.data.complete.available ? r.metrics.data.complete.data.metrics : null,
  );
  const metricNames = [...new Set(complete.flatMap((m) => (m ? Object.keys(m) : [])))];
  const rmfm = runs.map((r) =>
    r.robustness.available ? (r.robustness.data.find((c) => c.protocol === 'RMFM')?.auilc ?? null) : null,
  );
  const auilcNames = [...new Set(rmfm.flatMap((m) => (m ? Object.keys(m) : [])))];
  return ok({
    runIds: runs.map((r) => r.run.id),
    configDiff,
    metrics: metricNames.map((metric) => ({
      metric,
      values: complete.map((m) => m?.[metric] ?? null),
    })),
    auilc: auilcNames.map((metric) => ({
      metric,
      values: rmfm.map((m) => m?.[metric] ?? null),
    })),
  });
}

export async function buildReport(req: ReportRequest, src: ReportSources): Promise<ReportModel> {
  const runs: RunReport[] = [];
  for (const id of req.runIds) runs.push(await runReport(id, req, src));
  const options = req.runIds.map((id) => src.run(id).options);
  const title =
    req.title ||
    (runs.length === 1
      ? `CIDer run ${runs[0].run.id}: ${runs[0].run.name}`
      : `CIDer runs ${runs.map((r) => r.run.id).join(', ')} compared`);
  return {
    format: 'cider-report',
    version: 1,
    title,
    generatedAt: (src.now?.() ?? new Date()).toISOString(),
    sections: req.sections,
    pinned: req.pinned,
    app: await src.app(),
    runs,
    comparison: comparisonSection(runs, options),
  };
}

export const classNames = (task: 3 | 7): readonly string[] => CLASS_NAMES[task];
