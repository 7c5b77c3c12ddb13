/**
 * Training runs, their epochs and their evaluations in SQLite. Used by the services (main) and by
 * the 'train' / 'evaluate' job workers, which open their own connection to the same database file
 * (WAL lets a worker write while main reads): every finished epoch is recorded as it finishes, so a
 * crash or a cancel never loses a finished epoch's figures.
 */
import { AppError } from '../../shared/errors';
import type {
  EvaluationPoint,
  EvaluationPrediction,
  EvaluationRecord,
  EvalProtocol,
  EpochLosses,
  RunEpoch,
  RunRecord,
  RunStatus,
  TrainingOptions,
} from '../../shared/contract/training';
import { nowIso, type Db } from './db';

interface RunRow {
  id: number;
  project_id: number | null;
  dataset_id: number | null;
  dataset_folder: string;
  name: string;
  config_json: string;
  status: RunStatus;
  job_id: number | null;
  folder: string;
  epochs_done: number;
  selection_metric: RunRecord['selectionMetric'];
  best_epoch: number | null;
  best_metric: number | null;
  best_checkpoint: string | null;
  last_checkpoint: string | null;
  engine: string | null;
  error_json: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

const toRun = (r: RunRow): RunRecord => ({
  id: r.id,
  projectId: r.project_id,
  datasetId: r.dataset_id,
  datasetFolder: r.dataset_folder,
  name: r.name,
  options: JSON.parse(r.config_json) as TrainingOptions,
  status: r.status,
  jobId: r.job_id,
  folder: r.folder,
  epochsDone: r.epochs_done,
  selectionMetric: r.selection_metric,
  bestEpoch: r.best_epoch,
  bestMetric: r.best_metric,
  bestCheckpoint: r.best_checkpoint,
  lastCheckpoint: r.last_checkpoint,
  engine: r.engine,
  error: r.error_json === null ? null : (JSON.parse(r.error_json) as RunRecord['error']),
  createdAt: r.created_at,
  startedAt: r.started_at,
  finishedAt: r.finished_at,
});

interface EvalRow {
  id: number;
  run_id: number;
  split: 'test';
  protocol: EvalProtocol;
  seed: number;
  checkpoint: 'best' | 'last';
  points_json: string;
  auilc_json: string | null;
  engine: string;
  text_note: string;
  created_at: string;
}

/** JSON without NaN: a metric that is undefined (e.g. Non0 with no non-neutral sample) is stored as null. */
const json = (v: unknown) =>
  JSON.stringify(v, (_k, x: unknown) => (typeof x === 'number' && !Number.isFinite(x) ? null : x));

export interface NewRun {
  projectId: number | null;
  datasetId: number | null;
  datasetFolder: string;
  name: string;
  options: TrainingOptions;
  selectionMetric: RunRecord['selectionMetric'];
  /** the run's folder from its id (checkpoints go there) */
  folderOf: (id: number) => string;
}

export interface NewEpoch {
  epoch: number;
  losses: EpochLosses;
  validation: Record<string, number>;
  selectionValue: number | null;
  improved: boolean;
  durationMs: number;
  bestEpoch: number | null;
  bestMetric: number | null;
}

export interface NewEvaluation {
  runId: number;
  jobId: number | null;
  protocol: EvalProtocol;
  seed: number;
  checkpoint: 'best' | 'last';
  points: EvaluationPoint[];
  auilc: Record<string, number | null> | null;
  engine: string;
  textNote: string;
  predictions?: EvaluationPrediction[];
}

export class RunStore {
  constructor(private readonly db: Db) {}

  create(n: NewRun): RunRecord {
    const insert = this.db.transaction(() => {
      const info = this.db
        .prepare(
          `INSERT INTO runs (project_id, dataset_id, dataset_folder, name, config_json, status, folder, selection_metric, created_at)
           VALUES (?, ?, ?, ?, ?, 'queued', '', ?, ?)`,
        )
        .run(n.projectId, n.datasetId, n.datasetFolder, n.name, JSON.stringify(n.options), n.selectionMetric, nowIso());
      const id = Number(info.lastInsertRowid);
      this.db.prepare('UPDATE runs SET folder = ? WHERE id = ?').run(n.folderOf(id), id);
      return id;
    });
    return this.get(insert.immediate());
  }

  get(id: number): RunRecord {
    const row = this.db.prepare('SELECT * FROM runs WHERE id = ?').get(id) as RunRow | undefined;
    if (!row) throw new AppError('NOT_FOUND', `run ${id} does not exist`);
    return toRun(row);
  }

  list(filter: { projectId?: number; datasetId?: number } = {}): RunRecord[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.projectId !== undefined) {
      where.push('project_id = ?');
      args.push(filter.projectId);
    }
    if (filter.datasetId !== undefined) {
      where.push('dataset_id = ?');
      args.push(filter.datasetId);
    }
    return (
      this.db
        .prepare(`SELECT * FROM runs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC`)
        .all(...args) as RunRow[]
    ).map(toRun);
  }

  /** a new job will train it (start or resume) */
  queue(id: number, jobId: number, options?: TrainingOptions): RunRecord {
    this.db
      .prepare(
        "UPDATE runs SET status = 'queued', job_id = ?, error_json = NULL, finished_at = NULL, config_json = COALESCE(?, config_json) WHERE id = ?",
      )
      .run(jobId, options ? JSON.stringify(options) : null, id);
    return this.get(id);
  }

  markRunning(id: number, engine: string): void {
    this.db
      .prepare("UPDATE runs SET status = 'running', engine = ?, started_at = COALESCE(started_at, ?) WHERE id = ?")
      .run(engine, nowIso(), id);
  }

  /** An epoch finished: its figures, and the run's progress, in one transaction (a replayed epoch replaces its row). */
  recordEpoch(id: number, e: NewEpoch): void {
    this.db.transaction(() => {
      this.db
        .prepare(
          `INSERT OR REPLACE INTO run_epochs (run_id, epoch, losses_json, validation_json, selection_value, improved, duration_ms, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          id,
          e.epoch,
          json(e.losses),
          json(e.validation),
          e.selectionValue,
          e.improved ? 1 : 0,
          e.durationMs,
          nowIso(),
        );
      // epochs after this one belong to an abandoned attempt (a resume replays from the checkpoint)
      this.db.prepare('DELETE FROM run_epochs WHERE run_id = ? AND epoch > ?').run(id, e.epoch);
      this.db
        .prepare('UPDATE runs SET epochs_done = ?, best_epoch = ?, best_metric = ? WHERE id = ?')
        .run(e.epoch, e.bestEpoch, e.bestMetric, id);
    })();
  }

  setCheckpoints(id: number, best: string | null, last: string | null): void {
    this.db
      .prepare(
        'UPDATE runs SET best_checkpoint = COALESCE(?, best_checkpoint), last_checkpoint = COALESCE(?, last_checkpoint) WHERE id = ?',
      )
      .run(best, last, id);
  }

  finish(id: number, status: Exclude<RunStatus, 'queued' | 'running'>, error: RunRecord['error'] = null): RunRecord {
    this.db
      .prepare('UPDATE runs SET status = ?, error_json = ?, finished_at = ? WHERE id = ?')
      .run(status, error ? JSON.stringify(error) : null, nowIso(), id);
    return this.get(id);
  }

  /** Runs whose job is gone (the app stopped meanwhile): shown as interrupted, resumable. */
  markInterrupted(isJobLive: (jobId: number | null) => boolean): number[] {
    const stale = (
      this.db.prepare("SELECT id, job_id FROM runs WHERE status IN ('queued','running')").all() as {
        id: number;
        job_id: number | null;
      }[]
    ).filter((r) => !isJobLive(r.job_id));
    for (const r of stale)
      this.finish(r.id, 'interrupted', {
        code: 'INTERRUPTED',
        message: 'the app stopped while this run was training; resume continues from the last finished epoch',
      });
    return stale.map((r) => r.id);
  }

  epochs(id: number): RunEpoch[] {
    this.get(id);
    const rows = this.db.prepare('SELECT * FROM run_epochs WHERE run_id = ? ORDER BY epoch').all(id) as {
      run_id: number;
      epoch: number;
      losses_json: string;
      validation_json: string;
      selection_value: number | null;
      improved: 0 | 1;
      duration_ms: number;
      created_at: string;
    }[];
    return rows.map((r) => ({
      runId: r.run_id,
      epoch: r.epoch,
      losses: JSON.parse(r.losses_json) as EpochLosses,
      validation: JSON.parse(r.validation_json) as Record<string, number>,
      selectionValue: r.selection_value,
      improved: r.improved === 1,
      durationMs: r.duration_ms,
      createdAt: r.created_at,
    }));
  }

  addEvaluation(e: NewEvaluation): EvaluationRecord {
    const id = this.db.transaction(() => {
      const info = this.db
        .prepare(
          `INSERT INTO evaluations (run_id, job_id, split, protocol, seed, checkpoint, rates_json, points_json, auilc_json, engine, text_note, created_at)
           VALUES (?, ?, 'test', ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          e.runId,
          e.jobId,
          e.protocol,
          e.seed,
          e.checkpoint,
          json(e.points.map((p) => p.rate)),
          json(e.points),
          e.auilc ? json(e.auilc) : null,
          e.engine,
          e.textNote,
          nowIso(),
        );
      const evalId = Number(info.lastInsertRowid);
      if (e.predictions?.length) {
        const ins = this.db.prepare(
          'INSERT INTO evaluation_predictions (evaluation_id, sample_index, truth, prediction, log_probs_json) VALUES (?, ?, ?, ?, ?)',
        );
        for (const p of e.predictions) ins.run(evalId, p.index, p.truth, p.prediction, json(p.logProbs));
      }
      return evalId;
    })();
    return this.evaluation(id);
  }

  evaluation(id: number): EvaluationRecord {
    const r = this.db.prepare('SELECT * FROM evaluations WHERE id = ?').get(id) as EvalRow | undefined;
    if (!r) throw new AppError('NOT_FOUND', `evaluation ${id} does not exist`);
    return this.toEvaluation(r);
  }

  private toEvaluation(r: EvalRow): EvaluationRecord {
    return {
      id: r.id,
      runId: r.run_id,
      split: r.split,
      protocol: r.protocol,
      seed: r.seed,
      checkpoint: r.checkpoint,
      points: JSON.parse(r.points_json) as EvaluationPoint[],
      auilc: r.auilc_json === null ? null : (JSON.parse(r.auilc_json) as Record<string, number | null>),
      engine: r.engine,
      textNote: r.text_note,
      createdAt: r.created_at,
    };
  }

  evaluations(runId: number): EvaluationRecord[] {
    this.get(runId);
    return (this.db.prepare('SELECT * FROM evaluations WHERE run_id = ? ORDER BY id').all(runId) as EvalRow[]).map(
      (r) => this.toEvaluation(r),
    );
  }

  predictions(evaluationId: number): EvaluationPrediction[] {
    this.evaluation(evaluationId);
    const rows = this.db
      .prepare('SELECT * FROM evaluation_predictions WHERE evaluation_id = ? ORDER BY sample_index')
      .all(evaluationId) as {
      sample_index: number;
      truth: number;
      prediction: number;
      log_probs_json: string;
    }[];
    return rows.map((r) => ({
      index: r.sample_index,
      truth: r.truth,
      prediction: r.prediction,
      logProbs: JSON.parse(r.log_probs_json) as number[],
    }));
  }
}
