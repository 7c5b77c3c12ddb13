/**
 * Clips, transcripts, annotators, annotations and feature records in SQLite.
 */
import type {
  Annotation,
  AnnotationInput,
  Annotator,
  Clip,
  Modality,
  ModalityState,
  Transcript,
  TranscriptFormat,
  TranscriptSegment,
} from '../../shared/clips';
import { AppError } from '../../shared/errors';
import { nowIso, type Db } from './db';

/** What import stores of a clip: everything but what the database assigns or derives. */
export type NewClip = Omit<Clip, 'id' | 'modalities' | 'createdAt'>;

/** a clip's extracted stream as indexed in SQLite (clips/features/store.ts FeatureRecord extends it) */
export interface FeatureRow {
  modality: Modality;
  version: string;
  fingerprint: string;
  /** false: the clip has no such stream (no audio track, no transcript, no face in any frame) */
  available: boolean;
  reason: string | null;
  rate: number | null;
  frames: number;
  dims: number;
  presentFraction: number | null;
  aligned: boolean;
}

interface ClipRow {
  id: number;
  project_id: number;
  name: string;
  source_path: string;
  container: string;
  duration_sec: number;
  width: number | null;
  height: number | null;
  fps: number | null;
  video_codec: string | null;
  audio_codec: string | null;
  audio_rate: number | null;
  has_video: number;
  has_audio: number;
  file_size: number;
  created_at: string;
}

interface SegmentRow {
  idx: number;
  start_sec: number | null;
  end_sec: number | null;
  text: string;
  correction: string | null;
}

interface FeatureDbRow {
  modality: Modality;
  version: string;
  fingerprint: string;
  available: number;
  reason: string | null;
  rate: number | null;
  frames: number;
  dims: number;
  present_fraction: number | null;
  aligned: number;
}

interface AnnotationRow {
  clip_id: number;
  annotator_id: number;
  segment: number;
  score: number | null;
  note: string;
  correction: string | null;
  updated_at: string;
}

const toAnnotation = (r: AnnotationRow): Annotation => ({
  clipId: r.clip_id,
  annotatorId: r.annotator_id,
  segment: r.segment,
  score: r.score,
  note: r.note,
  correction: r.correction,
  updatedAt: r.updated_at,
});

export class ClipStore {
  constructor(private readonly db: Db) {}

  insert(c: NewClip): Clip {
    const info = this.db
      .prepare(
        `INSERT INTO clips (project_id, name, source_path, container, duration_sec, width, height, fps, video_codec, audio_codec, audio_rate, has_video, has_audio, file_size, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        c.projectId,
        c.name,
        c.sourcePath,
        c.container,
        c.durationSec,
        c.width,
        c.height,
        c.fps,
        c.videoCodec,
        c.audioCodec,
        c.audioRate,
        c.hasVideo ? 1 : 0,
        c.hasAudio ? 1 : 0,
        c.fileSize,
        nowIso(),
      );
    return this.get(Number(info.lastInsertRowid));
  }

  findByPath(projectId: number, sourcePath: string): number | null {
    const r = this.db
      .prepare('SELECT id FROM clips WHERE project_id = ? AND source_path = ?')
      .get(projectId, sourcePath) as { id: number } | undefined;
    return r?.id ?? null;
  }

  private row(id: number): ClipRow {
    const r = this.db.prepare('SELECT * FROM clips WHERE id = ?').get(id) as ClipRow | undefined;
    if (!r) throw new AppError('NOT_FOUND', `clip ${id} does not exist`);
    return r;
  }

  get(id: number): Clip {
    return this.toClip(this.row(id));
  }

  list(projectId: number): Clip[] {
    return (this.db.prepare('SELECT * FROM clips WHERE project_id = ? ORDER BY id').all(projectId) as ClipRow[]).map(
      (r) => this.toClip(r),
    );
  }

  remove(id: number): void {
    if (this.db.prepare('DELETE FROM clips WHERE id = ?').run(id).changes === 0)
      throw new AppError('NOT_FOUND', `clip ${id} does not exist`);
  }

  private toClip(r: ClipRow): Clip {
    const features = new Map(this.features(r.id).map((f) => [f.modality, f]));
    const transcript = this.db
      .prepare(
        'SELECT count(*) AS n FROM transcript_segments WHERE clip_id = ? AND trim(coalesce(correction, text)) <> ?',
      )
      .get(r.id, '') as { n: number };
    const state = (m: Modality, present: boolean, missingReason: string): ModalityState => {
      const f = features.get(m);
      const feat = f
        ? {
            version: f.version,
            frames: f.frames,
            dims: f.dims,
            rate: f.rate,
            ...(f.presentFraction !== null ? { presentFraction: f.presentFraction } : {}),
          }
        : null;
      if (!present) return { available: false, reason: missingReason, features: null };
      if (f && !f.available) return { available: false, reason: f.reason ?? 'missing', features: feat };
      return { available: true, reason: null, features: f ? feat : null };
    };
    return {
      id: r.id,
      projectId: r.project_id,
      name: r.name,
      sourcePath: r.source_path,
      container: r.container,
      durationSec: r.duration_sec,
      width: r.width,
      height: r.height,
      fps: r.fps,
      videoCodec: r.video_codec,
      audioCodec: r.audio_codec,
      audioRate: r.audio_rate,
      hasVideo: r.has_video === 1,
      hasAudio: r.has_audio === 1,
      fileSize: r.file_size,
      modalities: {
        text: state('text', transcript.n > 0, 'no transcript'),
        audio: state('audio', r.has_audio === 1, 'the file has no audio track'),
        vision: state('vision', r.has_video === 1, 'the file has no video stream'),
      },
      createdAt: r.created_at,
    };
  }

  setTranscript(
    clipId: number,
    t: { format: TranscriptFormat; sourcePath: string | null; timed: boolean; segments: TranscriptSegment[] },
  ): void {
    this.row(clipId);
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM transcripts WHERE clip_id = ?').run(clipId);
      this.db
        .prepare('INSERT INTO transcripts (clip_id, format, source_path, timed, updated_at) VALUES (?, ?, ?, ?, ?)')
        .run(clipId, t.format, t.sourcePath, t.timed ? 1 : 0, nowIso());
      const ins = this.db.prepare(
        'INSERT INTO transcript_segments (clip_id, idx, start_sec, end_sec, text, correction) VALUES (?, ?, ?, ?, ?, ?)',
      );
      t.segments.forEach((s, i) => ins.run(clipId, i, s.start, s.end, s.text, s.correction ?? null));
    })();
  }

  transcript(clipId: number): Transcript | null {
    const t = this.db.prepare('SELECT * FROM transcripts WHERE clip_id = ?').get(clipId) as
      { format: TranscriptFormat; source_path: string | null; timed: number } | undefined;
    if (!t) return null;
    const segs = this.db
      .prepare(
        'SELECT idx, start_sec, end_sec, text, correction FROM transcript_segments WHERE clip_id = ? ORDER BY idx',
      )
      .all(clipId) as SegmentRow[];
    return {
      format: t.format,
      sourcePath: t.source_path,
      timed: t.timed === 1,
      segments: segs.map((s) => ({
        index: s.idx,
        start: s.start_sec,
        end: s.end_sec,
        text: s.text,
        correction: s.correction,
      })),
    };
  }

  setCorrection(clipId: number, segment: number, correction: string | null): void {
    this.db
      .prepare('UPDATE transcript_segments SET correction = ? WHERE clip_id = ? AND idx = ?')
      .run(correction, clipId, segment);
  }

  // ---- features

  upsertFeature(clipId: number, f: FeatureRow): void {
    this.db
      .prepare(
        `INSERT INTO clip_features (clip_id, modality, version, fingerprint, available, reason, rate, frames, dims, present_fraction, aligned, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(clip_id, modality) DO UPDATE SET version = excluded.version, fingerprint = excluded.fingerprint, available = excluded.available,
           reason = excluded.reason, rate = excluded.rate, frames = excluded.frames, dims = excluded.dims, present_fraction = excluded.present_fraction,
           aligned = excluded.aligned, created_at = excluded.created_at`,
      )
      .run(
        clipId,
        f.modality,
        f.version,
        f.fingerprint,
        f.available ? 1 : 0,
        f.reason,
        f.rate,
        f.frames,
        f.dims,
        f.presentFraction,
        f.aligned ? 1 : 0,
        nowIso(),
      );
  }

  features(clipId: number): FeatureRow[] {
    return (
      this.db.prepare('SELECT * FROM clip_features WHERE clip_id = ? ORDER BY modality').all(clipId) as FeatureDbRow[]
    ).map((r) => ({
      modality: r.modality,
      version: r.version,
      fingerprint: r.fingerprint,
      available: r.available === 1,
      reason: r.reason,
      rate: r.rate,
      frames: r.frames,
      dims: r.dims,
      presentFraction: r.present_fraction,
      aligned: r.aligned === 1,
    }));
  }

  // ---- annotators and annotations

  annotators(projectId: number): Annotator[] {
    return (
      this.db
        .prepare('SELECT id, project_id, name FROM annotators WHERE project_id = ? ORDER BY id')
        .all(projectId) as { id: number; project_id: number; name: string }[]
    ).map((r) => ({
      id: r.id,
      projectId: r.project_id,
      name: r.name,
    }));
  }

  annotator(id: number): Annotator {
    const r = this.db.prepare('SELECT id, project_id, name FROM annotators WHERE id = ?').get(id) as
      { id: number; project_id: number; name: string } | undefined;
    if (!r) throw new AppError('NOT_FOUND', `annotator ${id} does not exist`);
    return { id: r.id, projectId: r.project_id, name: r.name };
  }

  createAnnotator(projectId: number, name: string): Annotator {
    try {
      const info = this.db
        .prepare('INSERT INTO annotators (project_id, name, created_at) VALUES (?, ?, ?)')
        .run(projectId, name, nowIso());
      return this.annotator(Number(info.lastInsertRowid));
    } catch (e) {
      if ((e as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE')
        throw new AppError('CONFLICT', `an annotator named "${name}" already exists in this project`);
      throw e;
    }
  }

  /** the annotator of that name in the project, created when new */
  annotatorByName(projectId: number, name: string): Annotator {
    const r = this.db.prepare('SELECT id FROM annotators WHERE project_id = ? AND name = ?').get(projectId, name) as
      { id: number } | undefined;
    return r ? this.annotator(r.id) : this.createAnnotator(projectId, name);
  }

  annotations(filter: { clipId?: number; projectId?: number; annotatorId?: number }): Annotation[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.clipId !== undefined) {
      where.push('a.clip_id = ?');
      args.push(filter.clipId);
    }
    if (filter.projectId !== undefined) {
      where.push('c.project_id = ?');
      args.push(filter.projectId);
    }
    if (filter.annotatorId !== undefined) {
      where.push('a.annotator_id = ?');
      args.push(filter.annotatorId);
    }
    const sql = `SELECT a.* FROM annotations a JOIN clips c ON c.id = a.clip_id ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY a.clip_id, a.segment, a.annotator_id`;
    return (this.db.prepare(sql).all(...args) as AnnotationRow[]).map(toAnnotation);
  }

  /**
   * Replace one annotator's labels for one clip with `items` in one transaction (what the editor
   * autosaves). Items with no score, no note and no correction are deleted. A correction also
   * becomes the segment's current transcript text (latest correction wins).
   */
  saveAnnotations(clipId: number, annotatorId: number, items: AnnotationInput[]): Annotation[] {
    const clip = this.row(clipId);
    const who = this.annotator(annotatorId);
    if (who.projectId !== clip.project_id)
      throw new AppError('BAD_REQUEST', `annotator ${annotatorId} belongs to another project`);
    const segCount = (
      this.db.prepare('SELECT count(*) AS n FROM transcript_segments WHERE clip_id = ?').get(clipId) as { n: number }
    ).n;
    const now = nowIso();
    this.db.transaction(() => {
      const previous = new Map(this.annotations({ clipId, annotatorId }).map((a) => [a.segment, a]));
      this.db.prepare('DELETE FROM annotations WHERE clip_id = ? AND annotator_id = ?').run(clipId, annotatorId);
      const ins = this.db.prepare(
        'INSERT INTO annotations (clip_id, annotator_id, segment, score, note, correction, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      );
      for (const it of items) {
        if (it.segment >= segCount)
          throw new AppError(
            'BAD_REQUEST',
            `clip ${clipId} has ${segCount} transcript segments; segment ${it.segment} does not exist`,
          );
        if (it.score === null && !it.note.trim() && !it.correction) continue;
        const before = previous.get(it.segment);
        const same =
          before && before.score === it.score && before.note === it.note && before.correction === it.correction;
        ins.run(clipId, annotatorId, it.segment, it.score, it.note, it.correction, same ? before.updatedAt : now);
        if (it.segment >= 0 && it.correction !== (before?.correction ?? null))
          this.setCorrection(clipId, it.segment, it.correction);
      }
    })();
    return this.annotations({ clipId, annotatorId });
  }

  /** Upsert single labels (imports): keeps the annotator's other labels on the clip. */
  upsertAnnotation(clipId: number, annotatorId: number, it: AnnotationInput): void {
    this.db
      .prepare(
        `INSERT INTO annotations (clip_id, annotator_id, segment, score, note, correction, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(clip_id, annotator_id, segment) DO UPDATE SET score = excluded.score, note = excluded.note, correction = excluded.correction, updated_at = excluded.updated_at`,
      )
      .run(clipId, annotatorId, it.segment, it.score, it.note, it.correction, nowIso());
    if (it.segment >= 0 && it.correction) this.setCorrection(clipId, it.segment, it.correction);
  }
}
