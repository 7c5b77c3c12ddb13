/**
 * Analysis records in SQLite: saved counterfactual text edits, robustness sweeps and IID/OOD
 * comparisons. Sweeps and comparisons are written by the analysis jobs' workers through their own
 * connection (WAL), edits by the service.
 */
import { AppError } from '../../shared/errors';
import type {
  AnalysisTarget,
  MissingSetting,
  OodComparison,
  RobustnessCurve,
  RobustnessSweep,
  TextEdit,
} from '../../shared/contract/analysis';
import { nowIso, type Db } from './db';

/** JSON without NaN/Infinity (stored as null): undefined metrics stay readable. */
const json = (v: unknown) =>
  JSON.stringify(v, (_k, x: unknown) => (typeof x === 'number' && !Number.isFinite(x) ? null : x));

interface EditRow {
  id: number;
  run_id: number;
  target_kind: 'sample' | 'clip';
  dataset_id: number | null;
  split: 'train' | 'valid' | 'test' | null;
  sample_index: number | null;
  clip_id: number | null;
  name: string;
  token_ids_json: string;
  missing_json: string;
  prediction_json: string;
  created_at: string;
  updated_at: string;
}

export interface EditPrediction {
  counterfactual: number[] | null;
  factual: number[];
  debiased: TextEdit['debiased'];
}

const toEdit = (r: EditRow): TextEdit => {
  const p = JSON.parse(r.prediction_json) as EditPrediction;
  return {
    id: r.id,
    runId: r.run_id,
    target:
      r.target_kind === 'clip'
        ? { kind: 'clip', clipId: r.clip_id! }
        : {
            kind: 'sample',
            datasetId: r.dataset_id ?? undefined,
            split: r.split!,
            index: r.sample_index!,
          },
    name: r.name,
    tokenIds: JSON.parse(r.token_ids_json) as number[],
    missing: JSON.parse(r.missing_json) as MissingSetting,
    counterfactual: p.counterfactual,
    factual: p.factual,
    debiased: p.debiased,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
};

interface SweepRow {
  id: number;
  run_id: number;
  run_name: string;
  job_id: number | null;
  seed: number;
  checkpoint: 'best' | 'last';
  curves_json: string;
  engine: string;
  text_note: string;
  created_at: string;
}

export class AnalysisStore {
  constructor(private readonly db: Db) {}

  /** A sample target always names its dataset here (the caller resolves the run's default). */
  saveEdit(e: {
    id?: number;
    runId: number;
    target: AnalysisTarget;
    name: string;
    tokenIds: number[];
    missing: MissingSetting;
    prediction: EditPrediction;
  }): TextEdit {
    const now = nowIso();
    const t = e.target;
    const cols = {
      kind: t.kind,
      dataset: t.kind === 'sample' ? (t.datasetId ?? null) : null,
      split: t.kind === 'sample' ? t.split : null,
      index: t.kind === 'sample' ? t.index : null,
      clip: t.kind === 'clip' ? t.clipId : null,
    };
    // the columns both statements write, in their order
    const fields = [
      e.runId,
      cols.kind,
      cols.dataset,
      cols.split,
      cols.index,
      cols.clip,
      e.name,
      JSON.stringify(e.tokenIds),
      JSON.stringify(e.missing),
      json(e.prediction),
    ];
    if (e.id !== undefined) {
      const info = this.db
        .prepare(
          `UPDATE text_edits SET run_id = ?, target_kind = ?, dataset_id = ?, split = ?, sample_index = ?, clip_id = ?, name = ?, token_ids_json = ?, missing_json = ?, prediction_json = ?, updated_at = ? WHERE id = ?`,
        )
        .run(...fields, now, e.id);
      if (info.changes === 0) throw new AppError('NOT_FOUND', `text edit ${e.id} does not exist`);
      return this.edit(e.id);
    }
    const info = this.db
      .prepare(
        `INSERT INTO text_edits (run_id, target_kind, dataset_id, split, sample_index, clip_id, name, token_ids_json, missing_json, prediction_json, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(...fields, now, now);
    return this.edit(Number(info.lastInsertRowid));
  }

  edit(id: number): TextEdit {
    const r = this.db.prepare('SELECT * FROM text_edits WHERE id = ?').get(id) as EditRow | undefined;
    if (!r) throw new AppError('NOT_FOUND', `text edit ${id} does not exist`);
    return toEdit(r);
  }

  edits(f: { runId?: number; target?: AnalysisTarget }): TextEdit[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (f.runId !== undefined) {
      where.push('run_id = ?');
      args.push(f.runId);
    }
    if (f.target?.kind === 'clip') {
      where.push("target_kind = 'clip' AND clip_id = ?");
      args.push(f.target.clipId);
    } else if (f.target) {
      where.push("target_kind = 'sample' AND split = ? AND sample_index = ?");
      args.push(f.target.split, f.target.index);
      if (f.target.datasetId !== undefined) {
        where.push('dataset_id = ?');
        args.push(f.target.datasetId);
      }
    }
    const rows = this.db
      .prepare(`SELECT * FROM text_edits ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id`)
      .all(...args) as EditRow[];
    return rows.map(toEdit);
  }

  removeEdit(id: number): void {
    if (this.db.prepare('DELETE FROM text_edits WHERE id = ?').run(id).changes === 0)
      throw new AppError('NOT_FOUND', `text edit ${id} does not exist`);
  }

  addSweep(s: {
    runId: number;
    jobId: number | null;
    seed: number;
    checkpoint: 'best' | 'last';
    curves: RobustnessCurve[];
    engine: string;
    textNote: string;
  }): number {
    const info = this.db
      .prepare(
        'INSERT INTO robustness_sweeps (run_id, job_id, seed, checkpoint, curves_json, engine, text_note, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      )
      .run(s.runId, s.jobId, s.seed, s.checkpoint, json(s.curves), s.engine, s.textNote, nowIso());
    return Number(info.lastInsertRowid);
  }

  sweeps(runIds: number[]): RobustnessSweep[] {
    const rows = this.db
      .prepare(
        `SELECT s.*, r.name AS run_name FROM robustness_sweeps s JOIN runs r ON r.id = s.run_id WHERE s.run_id IN (${runIds.map(() => '?').join(',')}) ORDER BY s.id DESC`,
      )
      .all(...runIds) as SweepRow[];
    return rows.map((r) => ({
      id: r.id,
      runId: r.run_id,
      runName: r.run_name,
      jobId: r.job_id,
      seed: r.seed,
      checkpoint: r.checkpoint,
      split: 'test' as const,
      curves: JSON.parse(r.curves_json) as RobustnessCurve[],
      engine: r.engine,
      textNote: r.text_note,
      createdAt: r.created_at,
    }));
  }

  addComparison(c: {
    runId: number;
    jobId: number | null;
    iidDatasetId: number | null;
    oodDatasetId: number | null;
    result: Omit<OodComparison, 'id' | 'runId' | 'jobId' | 'createdAt'>;
  }): number {
    const info = this.db
      .prepare(
        'INSERT INTO ood_comparisons (run_id, job_id, iid_dataset_id, ood_dataset_id, result_json, created_at) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run(c.runId, c.jobId, c.iidDatasetId, c.oodDatasetId, json(c.result), nowIso());
    return Number(info.lastInsertRowid);
  }

  comparisons(runId: number): OodComparison[] {
    const rows = this.db.prepare('SELECT * FROM ood_comparisons WHERE run_id = ? ORDER BY id DESC').all(runId) as {
      id: number;
      run_id: number;
      job_id: number | null;
      result_json: string;
      created_at: string;
    }[];
    return rows.map((r) => ({
      ...(JSON.parse(r.result_json) as Omit<OodComparison, 'id' | 'runId' | 'jobId' | 'createdAt'>),
      id: r.id,
      runId: r.run_id,
      jobId: r.job_id,
      createdAt: r.created_at,
    }));
  }
}
