/**
 * Tiers and tier segments in SQLite. A track is (clip, tier, annotator); saving a track replaces it
 * in one transaction after every segment and value passed the shared rules, so a refused save
 * leaves what was stored untouched.
 */
import {
  checkSegments,
  checkTierValue,
  DEFAULT_TIER_NAME,
  type SegmentInput,
  type Tier,
  type TierKind,
  type TierSegment,
} from '../../shared/tiers';
import { AppError } from '../../shared/errors';
import { nowIso, type Db } from './db';

interface TierRow {
  id: number;
  project_id: number;
  name: string;
  kind: TierKind;
  labels_json: string;
  is_default: number;
}

interface SegmentRow {
  id: number;
  tier_id: number;
  clip_id: number;
  annotator_id: number;
  start_sec: number;
  end_sec: number;
  score: number | null;
  label: string | null;
}

const toTier = (r: TierRow): Tier => ({
  id: r.id,
  projectId: r.project_id,
  name: r.name,
  kind: r.kind,
  labels: JSON.parse(r.labels_json) as string[],
  isDefault: r.is_default === 1,
});

const toSegment = (r: SegmentRow): TierSegment => ({
  id: r.id,
  tierId: r.tier_id,
  clipId: r.clip_id,
  annotatorId: r.annotator_id,
  start: r.start_sec,
  end: r.end_sec,
  value: r.score ?? r.label,
});

export class TierStore {
  constructor(private readonly db: Db) {}

  /** the project's tiers, the default sentiment tier first (created here for projects made after the migration) */
  list(projectId: number): Tier[] {
    const has = this.db.prepare('SELECT 1 FROM tiers WHERE project_id = ? AND is_default = 1').get(projectId);
    if (!has)
      this.db
        .prepare("INSERT INTO tiers (project_id, name, kind, is_default, created_at) VALUES (?, ?, 'score', 1, ?)")
        .run(projectId, DEFAULT_TIER_NAME, nowIso());
    return (
      this.db
        .prepare('SELECT * FROM tiers WHERE project_id = ? ORDER BY is_default DESC, id')
        .all(projectId) as TierRow[]
    ).map(toTier);
  }

  get(id: number): Tier {
    const r = this.db.prepare('SELECT * FROM tiers WHERE id = ?').get(id) as TierRow | undefined;
    if (!r) throw new AppError('NOT_FOUND', `tier ${id} does not exist`);
    return toTier(r);
  }

  byName(projectId: number, name: string): Tier | null {
    this.list(projectId);
    const r = this.db.prepare('SELECT * FROM tiers WHERE project_id = ? AND name = ?').get(projectId, name) as
      TierRow | undefined;
    return r ? toTier(r) : null;
  }

  create(projectId: number, t: { name: string; kind: TierKind; labels: string[] }): Tier {
    if (t.kind === 'category' && !t.labels.length)
      throw new AppError('BAD_REQUEST', `category tier "${t.name}" needs at least one label`);
    if (t.kind !== 'category' && t.labels.length)
      throw new AppError('BAD_REQUEST', `only category tiers have labels ("${t.name}" is a ${t.kind} tier)`);
    const dup = t.labels.find((l, i) => t.labels.findIndex((m) => m.toLowerCase() === l.toLowerCase()) !== i);
    if (dup !== undefined) throw new AppError('BAD_REQUEST', `label "${dup}" is given twice`);
    this.list(projectId);
    try {
      const info = this.db
        .prepare('INSERT INTO tiers (project_id, name, kind, labels_json, created_at) VALUES (?, ?, ?, ?, ?)')
        .run(projectId, t.name, t.kind, JSON.stringify(t.labels), nowIso());
      return this.get(Number(info.lastInsertRowid));
    } catch (e) {
      if ((e as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE')
        throw new AppError('CONFLICT', `a tier named "${t.name}" already exists in this project`);
      throw e;
    }
  }

  remove(id: number): void {
    const t = this.get(id);
    if (t.isDefault)
      throw new AppError('CONFLICT', `"${t.name}" is the project's default score tier (dataset export reads it)`);
    this.db.prepare('DELETE FROM tiers WHERE id = ?').run(id);
  }

  segments(filter: { clipId?: number; tierId?: number; annotatorId?: number; projectId?: number }): TierSegment[] {
    const where: string[] = [];
    const args: number[] = [];
    const by: [string, number | undefined][] = [
      ['s.clip_id', filter.clipId],
      ['s.tier_id', filter.tierId],
      ['s.annotator_id', filter.annotatorId],
      ['t.project_id', filter.projectId],
    ];
    for (const [column, value] of by) {
      if (value === undefined) continue;
      where.push(`${column} = ?`);
      args.push(value);
    }
    const sql = `SELECT s.* FROM tier_segments s JOIN tiers t ON t.id = s.tier_id ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY s.clip_id, s.tier_id, s.annotator_id, s.start_sec`;
    return (this.db.prepare(sql).all(...args) as SegmentRow[]).map(toSegment);
  }

  /**
   * Replace one track. `durationSec` is the clip's; `projectId` the clip's project (tier and annotator
   * must belong to it). Everything is checked before anything is deleted.
   */
  saveTrack(
    track: { clipId: number; tierId: number; annotatorId: number; projectId: number; durationSec: number },
    segments: readonly SegmentInput[],
  ): TierSegment[] {
    const tier = this.get(track.tierId);
    if (tier.projectId !== track.projectId)
      throw new AppError('BAD_REQUEST', `tier ${tier.id} belongs to another project`);
    const who = this.db.prepare('SELECT project_id FROM annotators WHERE id = ?').get(track.annotatorId) as
      { project_id: number } | undefined;
    if (!who) throw new AppError('NOT_FOUND', `annotator ${track.annotatorId} does not exist`);
    if (who.project_id !== track.projectId)
      throw new AppError('BAD_REQUEST', `annotator ${track.annotatorId} belongs to another project`);
    const problem = checkSegments(segments, track.durationSec);
    if (problem) throw new AppError('INVALID_INPUT', `tier "${tier.name}": ${problem}`);
    const values = segments.map((s) => {
      const v = checkTierValue(tier, s.value);
      if (!v.ok)
        throw new AppError('INVALID_INPUT', `segment ${s.start.toFixed(3)}-${s.end.toFixed(3)} s: ${v.message}`);
      return v.value;
    });
    const now = nowIso();
    this.db.transaction(() => {
      this.db
        .prepare('DELETE FROM tier_segments WHERE clip_id = ? AND tier_id = ? AND annotator_id = ?')
        .run(track.clipId, track.tierId, track.annotatorId);
      const ins = this.db.prepare(
        'INSERT INTO tier_segments (tier_id, clip_id, annotator_id, start_sec, end_sec, score, label, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      );
      segments.forEach((s, i) => {
        const v = values[i];
        ins.run(
          track.tierId,
          track.clipId,
          track.annotatorId,
          s.start,
          s.end,
          typeof v === 'number' ? v : null,
          typeof v === 'string' ? v : null,
          now,
        );
      });
    })();
    return this.segments({ clipId: track.clipId, tierId: track.tierId, annotatorId: track.annotatorId });
  }
}
