/**
 * Annotations as CSV (RFC 4180: comma-separated, double-quoted where needed, CRLF rows), one row per
 * annotator x clip x segment. Import reads the same columns back (clip by name or path, annotator
 * by name, segment -1 for the whole clip); the derived label columns are ignored on import.
 * Segments of the project's tiers follow as rows with the tier's name in "tier", their own start and
 * end, and the coded value in "value" (and in "score" on score tiers); import leaves them out and
 * counts them (tiers travel as .eaf).
 */
import type { Annotation, Annotator, Clip } from '../../shared/clips';
import type { Tier, TierSegment } from '../../shared/tiers';
import { sevenClassLabel, threeClassLabel } from '../ml/eval/labels';

export const CSV_COLUMNS = [
  'clip_id',
  'clip',
  'source_path',
  'segment',
  'start',
  'end',
  'annotator',
  'score',
  'label3',
  'label7',
  'note',
  'correction',
  'tier',
  'value',
] as const;

function field(v: string | number | null): string {
  if (v === null) return '';
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function annotationsToCsv(
  clips: readonly (Clip & { segments: { start: number | null; end: number | null }[] })[],
  annotations: readonly Annotation[],
  annotators: readonly Annotator[],
  projectTiers: { tiers: readonly Tier[]; segments: readonly TierSegment[] } = { tiers: [], segments: [] },
): string {
  const byId = new Map(clips.map((c) => [c.id, c]));
  const who = new Map(annotators.map((a) => [a.id, a.name]));
  const rows = [CSV_COLUMNS.join(',')];
  for (const a of annotations) {
    const c = byId.get(a.clipId);
    if (!c) continue;
    const seg = a.segment >= 0 ? c.segments[a.segment] : undefined;
    rows.push(
      [
        c.id,
        c.name,
        c.sourcePath,
        a.segment,
        seg?.start ?? (a.segment < 0 ? 0 : null),
        seg?.end ?? (a.segment < 0 ? c.durationSec : null),
        who.get(a.annotatorId) ?? String(a.annotatorId),
        a.score,
        a.score === null ? null : threeClassLabel(a.score),
        a.score === null ? null : sevenClassLabel(a.score),
        a.note,
        a.correction,
        '',
        '',
      ]
        .map(field)
        .join(','),
    );
  }
  const tierById = new Map(projectTiers.tiers.map((t) => [t.id, t]));
  for (const s of projectTiers.segments) {
    const c = byId.get(s.clipId);
    const t = tierById.get(s.tierId);
    if (!c || !t) continue;
    const score = t.kind === 'score' && typeof s.value === 'number' ? s.value : null;
    rows.push(
      [
        c.id,
        c.name,
        c.sourcePath,
        '',
        s.start,
        s.end,
        who.get(s.annotatorId) ?? String(s.annotatorId),
        score,
        score === null ? null : threeClassLabel(score),
        score === null ? null : sevenClassLabel(score),
        '',
        null,
        t.name,
        s.value,
      ]
        .map(field)
        .join(','),
    );
  }
  return rows.join('\r\n') + '\r\n';
}

export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cur = '';
  let q = false;
  const src = text.replace(/^\uFEFF/, '');
  for (let i = 0; i < src.length; i++) {
    const ch = src[i];
    if (q) {
      if (ch === '"') {
        if (src[i + 1] === '"') {
          cur += '"';
          i++;
        } else q = false;
      } else cur += ch;
    } else if (ch === '"') q = true;
    else if (ch === ',') {
      row.push(cur);
      cur = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && src[i + 1] === '\n') i++;
      row.push(cur);
      rows.push(row);
      row = [];
      cur = '';
    } else cur += ch;
  }
  if (cur !== '' || row.length) {
    row.push(cur);
    rows.push(row);
  }
  return rows.filter((r) => r.length > 1 || r[0] !== '');
}

export interface CsvAnnotationRow {
  line: number;
  clipId: number | null;
  clip: string;
  sourcePath: string;
  annotator: string;
  segment: number;
  score: number | null;
  note: string;
  correction: string | null;
}

/** the annotation rows; rows of project tiers (a "tier" column filled) are counted in `tierRows` and left out */
export function csvToAnnotations(text: string, file = 'annotations.csv'): CsvAnnotationRow[] & { tierRows?: number } {
  const rows = parseCsv(text);
  if (!rows.length) return [];
  const header = rows[0].map((h) => h.trim().toLowerCase());
  const col = (name: string) => header.indexOf(name);
  for (const need of ['annotator', 'score'])
    if (col(need) < 0) throw new Error(`${file}: the header has no "${need}" column`);
  if (col('clip') < 0 && col('source_path') < 0 && col('clip_id') < 0)
    throw new Error(`${file}: the header needs a "clip", "source_path" or "clip_id" column`);
  const tierCol = col('tier');
  const isTierRow = (r: string[]) => tierCol >= 0 && (r[tierCol] ?? '').trim() !== '';
  const out: CsvAnnotationRow[] & { tierRows?: number } = [];
  out.tierRows = rows.slice(1).filter(isTierRow).length;
  rows.slice(1).forEach((r, k) => {
    if (isTierRow(r)) return;
    const get = (name: string) => (col(name) >= 0 ? (r[col(name)] ?? '').trim() : '');
    const line = k + 2;
    const scoreText = get('score');
    const score = scoreText === '' ? null : Number(scoreText);
    if (score !== null && (!Number.isFinite(score) || score < -3 || score > 3))
      throw new Error(`${file}: line ${line}: score "${scoreText}" is not a number in [-3, 3]`);
    const segText = get('segment');
    const segment = segText === '' ? -1 : Number(segText);
    if (!Number.isInteger(segment) || segment < -1)
      throw new Error(`${file}: line ${line}: segment "${segText}" is not -1 or a segment index`);
    if (!get('annotator')) throw new Error(`${file}: line ${line}: no annotator`);
    const idText = get('clip_id');
    out.push({
      line,
      clipId: idText ? Number(idText) : null,
      clip: get('clip'),
      sourcePath: get('source_path'),
      annotator: get('annotator'),
      segment,
      score,
      note: col('note') >= 0 ? (r[col('note')] ?? '') : '',
      correction: get('correction') || null,
    });
  });
  return out;
}
