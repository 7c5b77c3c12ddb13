/**
 * The timeline's segment editor as a pure reducer: one annotator's segments on one tier of one clip.
 * Create (drag, or mark in / mark out at the playhead), move and resize (edges snap to word
 * boundaries within a tolerance the view gives in seconds), split, merge, delete, code values, with
 * undo/redo and the autosave bookkeeping of the annotation editor. Segments never overlap and stay
 * inside the clip: a drag stops at the neighbours; an action that cannot apply is refused with a
 * message, and values are checked by the shared tier rules (refused, never changed to fit).
 * Times are kept to the millisecond (ELAN's resolution), so what is saved round-trips through .eaf.
 */
import { checkTierValue, type Tier, type TierSegment, type TierValue } from '../../../shared/tiers';
import * as history from './undoStack';

export { UNDO_LIMIT } from './undoStack';

export interface EditSegment {
  /** local identity (stable across edits, for selection and React keys) */
  key: string;
  start: number;
  end: number;
  value: TierValue;
}

interface Snapshot {
  segments: EditSegment[];
  selected: string | null;
}

export interface SegmentEditorState extends history.UndoHistory<Snapshot>, history.AutosaveState {
  clipId: number | null;
  tierId: number | null;
  annotatorId: number | null;
  tier: Pick<Tier, 'name' | 'kind' | 'labels'>;
  duration: number;
  /** word boundaries (seconds), sorted: where dragged edges snap */
  snapPoints: number[];
  segments: EditSegment[];
  selected: string | null;
  /** the pending mark in (seconds), until mark out creates the segment */
  markIn: number | null;
  /** why the last action was refused (shown beside the timeline) */
  message: string | null;
  nextKey: number;
}

export type SegmentAction =
  | {
      type: 'load';
      clipId: number;
      tier: Pick<Tier, 'id' | 'name' | 'kind' | 'labels'>;
      annotatorId: number;
      duration: number;
      snapPoints: number[];
      /** the stored track; when empty, the editor starts from `cues` (the transcript's) */
      segments: readonly Pick<TierSegment, 'start' | 'end' | 'value'>[];
      cues: readonly { start: number | null; end: number | null }[];
    }
  | { type: 'create'; start: number; end: number; snap?: number }
  | { type: 'markIn'; at: number; snap?: number }
  | { type: 'markOut'; at: number; snap?: number }
  | { type: 'move'; key: string; start: number; snap?: number }
  | { type: 'resize'; key: string; edge: 'start' | 'end'; to: number; snap?: number }
  | { type: 'split'; at: number }
  | { type: 'merge'; key: string }
  | { type: 'delete'; key: string }
  | { type: 'setValue'; key: string; value: TierValue }
  | { type: 'select'; key: string | null }
  | { type: 'selectNext'; at: number; direction: 1 | -1 }
  | { type: 'undo' }
  | { type: 'redo' }
  | history.AutosaveAction;

/** shorter segments are refused (a click is not a drag) */
export const MIN_SEGMENT_SEC = 0.02;

export const initialSegments: SegmentEditorState = {
  clipId: null,
  tierId: null,
  annotatorId: null,
  tier: { name: '', kind: 'score', labels: [] },
  duration: 0,
  snapPoints: [],
  segments: [],
  selected: null,
  markIn: null,
  past: [],
  future: [],
  revision: 0,
  savedRevision: 0,
  saving: false,
  error: null,
  message: null,
  nextKey: 1,
};

const ms = (t: number) => Math.round(t * 1000) / 1000;

/** `t` moved to the nearest snap point within `tolerance` seconds (unchanged when none is that close). */
export function snapTime(t: number, points: readonly number[], tolerance = 0): number {
  if (!(tolerance > 0) || !points.length) return t;
  let best = t;
  let bestD = tolerance;
  for (const p of points) {
    const d = Math.abs(p - t);
    if (d <= bestD) {
      bestD = d;
      best = p;
    }
  }
  return best;
}

/** The word boundaries of a transcript's timed words, sorted and unique. */
export function wordBoundaries(words: readonly { start: number | null; end: number | null }[]): number[] {
  const out = new Set<number>();
  for (const w of words) {
    if (w.start !== null) out.add(ms(w.start));
    if (w.end !== null) out.add(ms(w.end));
  }
  return [...out].sort((a, b) => a - b);
}

const sorted = (segs: EditSegment[]) => [...segs].sort((a, b) => a.start - b.start);

/** the free interval [lo, hi] around time t (between the neighbours), or null when t is inside a segment */
function gapAt(state: SegmentEditorState, t: number, except?: string): [number, number] | null {
  let lo = 0;
  let hi = state.duration;
  for (const s of state.segments) {
    if (s.key === except) continue;
    if (t >= s.start && t < s.end) return null;
    if (s.end <= t) lo = Math.max(lo, s.end);
    if (s.start > t) hi = Math.min(hi, s.start);
  }
  return [lo, hi];
}

const snapshot = (state: SegmentEditorState): Snapshot => ({ segments: state.segments, selected: state.selected });

function commit(
  state: SegmentEditorState,
  segments: EditSegment[],
  patch: Partial<SegmentEditorState> = {},
): SegmentEditorState {
  return {
    ...state,
    ...patch,
    segments: sorted(segments),
    ...history.recordUndo(state, snapshot(state)),
    revision: state.revision + 1,
    message: null,
  };
}

const refuse = (state: SegmentEditorState, message: string): SegmentEditorState => ({ ...state, message });

function create(state: SegmentEditorState, a: number, b: number, snap = 0): SegmentEditorState {
  let start = ms(snapTime(Math.min(a, b), state.snapPoints, snap));
  let end = ms(snapTime(Math.max(a, b), state.snapPoints, snap));
  const gap = gapAt(state, Math.min(a, b));
  if (!gap) return refuse(state, `${Math.min(a, b).toFixed(2)} s is inside a segment already; select it to edit it`);
  start = Math.max(start, gap[0]);
  end = Math.min(end, gap[1]);
  if (end - start < MIN_SEGMENT_SEC)
    return refuse(state, `a segment needs at least ${MIN_SEGMENT_SEC * 1000} ms of free time`);
  const key = `s${state.nextKey}`;
  return commit(state, [...state.segments, { key, start: ms(start), end: ms(end), value: null }], {
    selected: key,
    markIn: null,
    nextKey: state.nextKey + 1,
  });
}

export function segmentReducer(state: SegmentEditorState, action: SegmentAction): SegmentEditorState {
  switch (action.type) {
    case 'load': {
      const fromStore = action.segments.length > 0;
      const source = fromStore
        ? action.segments.map((s) => ({ start: s.start, end: s.end, value: s.value }))
        : action.cues
            .filter((c): c is { start: number; end: number } => c.start !== null && c.end !== null && c.end > c.start)
            .map((c) => ({ start: ms(c.start), end: ms(Math.min(c.end, action.duration)), value: null }));
      const segments: EditSegment[] = [];
      for (const s of [...source].sort((a, b) => a.start - b.start)) {
        // cues may overlap; the editor's segments may not (a later cue starts where the earlier ends)
        const start = Math.max(s.start, segments.length ? segments[segments.length - 1].end : 0);
        if (s.end - start >= MIN_SEGMENT_SEC)
          segments.push({ key: `s${segments.length + 1}`, start, end: s.end, value: s.value });
      }
      return {
        ...initialSegments,
        clipId: action.clipId,
        tierId: action.tier.id,
        annotatorId: action.annotatorId,
        tier: { name: action.tier.name, kind: action.tier.kind, labels: action.tier.labels },
        duration: action.duration,
        snapPoints: action.snapPoints,
        segments,
        nextKey: segments.length + 1,
      };
    }
    case 'create':
      return create(state, action.start, action.end, action.snap);
    case 'markIn':
      return { ...state, markIn: ms(snapTime(action.at, state.snapPoints, action.snap)), message: null };
    case 'markOut':
      if (state.markIn === null) return refuse(state, 'mark in first (I), then mark out (O)');
      return create(state, state.markIn, action.at, action.snap);
    case 'move': {
      const seg = state.segments.find((s) => s.key === action.key);
      if (!seg) return state;
      const len = seg.end - seg.start;
      const gap = gapAt(state, seg.start, seg.key)!;
      // the neighbours around where it is now bound the move; the start, else the end, snaps
      let start = Math.max(gap[0], Math.min(gap[1] - len, action.start));
      const snappedStart = snapTime(start, state.snapPoints, action.snap);
      const snappedEnd = snapTime(start + len, state.snapPoints, action.snap);
      if (snappedStart !== start) start = snappedStart;
      else if (snappedEnd !== start + len) start = snappedEnd - len;
      start = ms(Math.max(gap[0], Math.min(gap[1] - len, start)));
      if (start === seg.start) return state;
      return commit(
        state,
        state.segments.map((s) => (s === seg ? { ...s, start, end: ms(start + len) } : s)),
        { selected: seg.key },
      );
    }
    case 'resize': {
      const seg = state.segments.find((s) => s.key === action.key);
      if (!seg) return state;
      const gap = gapAt(state, seg.start, seg.key)!;
      const to = ms(snapTime(action.to, state.snapPoints, action.snap));
      const next =
        action.edge === 'start'
          ? { ...seg, start: ms(Math.max(gap[0], Math.min(to, seg.end - MIN_SEGMENT_SEC))) }
          : { ...seg, end: ms(Math.min(gap[1], Math.max(to, seg.start + MIN_SEGMENT_SEC))) };
      if (next.start === seg.start && next.end === seg.end) return state;
      return commit(
        state,
        state.segments.map((s) => (s === seg ? next : s)),
        { selected: seg.key },
      );
    }
    case 'split': {
      const at = ms(action.at);
      const seg = state.segments.find((s) => at > s.start && at < s.end);
      if (!seg) return refuse(state, `no segment under the playhead (${at.toFixed(2)} s) to split`);
      if (at - seg.start < MIN_SEGMENT_SEC || seg.end - at < MIN_SEGMENT_SEC)
        return refuse(state, 'too close to the segment edge to split there');
      const key = `s${state.nextKey}`;
      return commit(
        state,
        [...state.segments.filter((s) => s !== seg), { ...seg, end: at }, { ...seg, key, start: at }],
        { selected: key, nextKey: state.nextKey + 1 },
      );
    }
    case 'merge': {
      const i = state.segments.findIndex((s) => s.key === action.key);
      const seg = state.segments[i];
      const next = state.segments[i + 1];
      if (!seg || !next) return refuse(state, 'no following segment to merge with');
      if (seg.value !== null && next.value !== null && seg.value !== next.value)
        return refuse(
          state,
          `the two segments are coded differently (${seg.value} and ${next.value}); recode one first so nothing is lost`,
        );
      return commit(
        state,
        [
          ...state.segments.filter((s) => s !== seg && s !== next),
          { ...seg, end: next.end, value: seg.value ?? next.value },
        ],
        { selected: seg.key },
      );
    }
    case 'delete': {
      const i = state.segments.findIndex((s) => s.key === action.key);
      if (i < 0) return state;
      const rest = state.segments.filter((s) => s.key !== action.key);
      return commit(state, rest, { selected: rest[Math.min(i, rest.length - 1)]?.key ?? null });
    }
    case 'setValue': {
      const seg = state.segments.find((s) => s.key === action.key);
      if (!seg) return state;
      const checked = checkTierValue(state.tier, action.value);
      if (!checked.ok) return refuse(state, checked.message);
      if (checked.value === seg.value) return { ...state, message: null };
      return commit(
        state,
        state.segments.map((s) => (s === seg ? { ...s, value: checked.value } : s)),
        { selected: seg.key },
      );
    }
    case 'select':
      return { ...state, selected: action.key, message: null };
    case 'selectNext': {
      const cur = state.segments.find((s) => s.key === state.selected);
      const ref = cur ? cur.start : action.at;
      const list = action.direction === 1 ? state.segments : [...state.segments].reverse();
      const target = list.find((s) =>
        action.direction === 1 ? s.start > ref + 1e-9 : cur ? s.start < ref - 1e-9 : s.start <= ref,
      );
      return target ? { ...state, selected: target.key, message: null } : state;
    }
    case 'undo':
    case 'redo': {
      const step = history.travel(state, action.type, snapshot(state));
      return step ? { ...state, ...step.history, ...step.restore, message: null } : state;
    }
    default:
      return history.autosaveReducer(state, action);
  }
}

export function isSegmentsDirty(state: SegmentEditorState): boolean {
  return history.hasUnsavedChanges(state);
}

/** What autosave sends. */
export function segmentInputs(state: SegmentEditorState): { start: number; end: number; value: TierValue }[] {
  return state.segments.map((s) => ({ start: s.start, end: s.end, value: s.value }));
}

export function selectedSegment(state: SegmentEditorState): EditSegment | null {
  return state.segments.find((s) => s.key === state.selected) ?? null;
}

/**
 * What a number key codes on this tier: on a score tier 1..7 are -3..+3 (4 is neutral); on a category
 * tier 1..9 are the labels in order. null: the key means nothing here.
 */
export function valueForDigit(tier: Pick<Tier, 'kind' | 'labels'>, digit: number): TierValue | undefined {
  if (tier.kind === 'score') return digit >= 1 && digit <= 7 ? digit - 4 : undefined;
  if (tier.kind === 'category') return digit >= 1 && digit <= tier.labels.length ? tier.labels[digit - 1] : undefined;
  return undefined;
}
