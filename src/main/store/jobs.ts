import type { JobLogEntry, JobStatus } from '../../shared/types';
import { asKind, type JobKind, type JobParams, type JobRecord, type JobRecordOf } from '../../shared/jobs';
import { AppError } from '../../shared/errors';
import { hostname } from 'node:os';
import { nowIso, type Db } from './db';

/** Is the process that owns a job still alive? Only answerable for processes on this host. */
export function ownerAlive(pid: number | null, host: string | null): boolean {
  if (pid === null || host !== hostname()) return false;
  if (pid === process.pid) return false; // this process is starting up: nothing of ours runs yet
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

interface Row {
  id: number;
  kind: string;
  status: JobStatus;
  project_id: number | null;
  params_json: string;
  progress_json: string;
  result_json: string | null;
  error_json: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  owner_pid: number | null;
  owner_host: string | null;
}

/** A row as its kind's record: the runner validated the params and the task produced the rest. */
const toJob = (r: Row): JobRecord =>
  ({
    id: r.id,
    kind: r.kind,
    status: r.status,
    projectId: r.project_id,
    params: JSON.parse(r.params_json) as unknown,
    progress: JSON.parse(r.progress_json) as unknown,
    result: r.result_json === null ? null : (JSON.parse(r.result_json) as unknown),
    error: r.error_json === null ? null : (JSON.parse(r.error_json) as JobRecord['error']),
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
  }) as JobRecord;

export class JobStore {
  constructor(private readonly db: Db) {}

  create<K extends JobKind>(kind: K, params: JobParams<K>, projectId: number | null): JobRecordOf<K> {
    const info = this.db
      .prepare(
        "INSERT INTO jobs (kind, status, project_id, params_json, created_at, owner_pid, owner_host) VALUES (?, 'queued', ?, ?, ?, ?, ?)",
      )
      .run(kind, projectId, JSON.stringify(params), nowIso(), process.pid, hostname());
    const job = this.get(Number(info.lastInsertRowid));
    const same = asKind<K>(job, kind);
    if (!same) throw new AppError('INTERNAL', `job ${job.id} was recorded as ${job.kind}, not ${kind}`);
    return same;
  }

  get(id: number): JobRecord {
    const row = this.db.prepare('SELECT * FROM jobs WHERE id = ?').get(id) as Row | undefined;
    if (!row) throw new AppError('NOT_FOUND', `job ${id} does not exist`);
    return toJob(row);
  }

  list(filter: { projectId?: number; status?: JobStatus; limit?: number } = {}): JobRecord[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.projectId !== undefined) {
      where.push('project_id = ?');
      args.push(filter.projectId);
    }
    if (filter.status !== undefined) {
      where.push('status = ?');
      args.push(filter.status);
    }
    const sql = `SELECT * FROM jobs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
    return (this.db.prepare(sql).all(...args, filter.limit ?? 200) as Row[]).map(toJob);
  }

  markRunning(id: number): JobRecord {
    this.db
      .prepare("UPDATE jobs SET status = 'running', started_at = ? WHERE id = ? AND status = 'queued'")
      .run(nowIso(), id);
    return this.get(id);
  }

  setProgress(id: number, progress: JobRecord['progress']): void {
    this.db
      .prepare("UPDATE jobs SET progress_json = ? WHERE id = ? AND status = 'running'")
      .run(JSON.stringify(progress), id);
  }

  finish(
    id: number,
    status: Exclude<JobStatus, 'queued' | 'running'>,
    result: unknown,
    error: JobRecord['error'],
  ): JobRecord {
    this.db
      .prepare(
        "UPDATE jobs SET status = ?, result_json = ?, error_json = ?, finished_at = ? WHERE id = ? AND status IN ('queued','running')",
      )
      .run(
        status,
        result === undefined ? null : JSON.stringify(result),
        error ? JSON.stringify(error) : null,
        nowIso(),
        id,
      );
    return this.get(id);
  }

  /**
   * Called once at start-up: a job still marked queued or running whose process is gone (it
   * died, or the app was killed) is shown as interrupted, never as running. Jobs owned by another
   * live process on this host (the CLI and web mode may share a data folder) are left alone; a
   * recycled pid can keep such a job "running" until it is cancelled, which then marks it
   * interrupted.
   */
  markInterrupted(): JobRecord[] {
    const stale = (this.db.prepare("SELECT * FROM jobs WHERE status IN ('queued','running')").all() as Row[]).filter(
      (r) => !ownerAlive(r.owner_pid, r.owner_host),
    );
    const mark = this.db.prepare(
      "UPDATE jobs SET status = 'interrupted', finished_at = ?, error_json = ? WHERE id = ? AND status IN ('queued','running')",
    );
    const error = JSON.stringify({ code: 'INTERRUPTED', message: 'the app stopped while this job was running' });
    const now = nowIso();
    this.db.transaction(() => {
      for (const r of stale) mark.run(now, error, r.id);
    })();
    return stale.map((r) => this.get(r.id));
  }

  log(jobId: number, level: JobLogEntry['level'], message: string): JobLogEntry {
    const time = nowIso();
    this.db
      .prepare('INSERT INTO job_logs (job_id, time, level, message) VALUES (?, ?, ?, ?)')
      .run(jobId, time, level, message);
    return { jobId, time, level, message };
  }

  logs(jobId: number, limit = 1000): JobLogEntry[] {
    this.get(jobId);
    const rows = this.db
      .prepare(
        'SELECT job_id, time, level, message FROM (SELECT * FROM job_logs WHERE job_id = ? ORDER BY id DESC LIMIT ?) ORDER BY id',
      )
      .all(jobId, limit) as {
      job_id: number;
      time: string;
      level: JobLogEntry['level'];
      message: string;
    }[];
    return rows.map((r) => ({ jobId: r.job_id, time: r.time, level: r.level, message: r.message }));
  }
}
