/**
 * The annotation editor as a pure reducer: one annotator's labels on one clip (a score per clip
 * and per transcript segment, notes, transcript corrections), with undo/redo and autosave
 * bookkeeping. The view saves whenever `revision` moves past `savedRevision` (debounced) and
 * reports back with 'saved'; nothing here touches the network.
 */
import type { Annotation, AnnotationInput } from '../../../shared/clips';
import { checkTierValue, type Tier } from '../../../shared/tiers';
import * as history from './undoStack';

export { UNDO_LIMIT } from './undoStack';

export interface Draft {
  score: number | null;
  note: string;
  correction: string | null;
}
export type Drafts = Record<number, Draft>;

export interface EditorState extends history.UndoHistory<Drafts>, history.AutosaveState {
  clipId: number | null;
  annotatorId: number | null;
  present: Drafts;
  /** consecutive edits of the same field (typing) coalesce into one undo step */
  lastEditKey: string | null;
  /** a refused score: which field and why (shown at the field; the stored value is unchanged) */
  fieldError: { segment: number; message: string } | null;
}

export type EditorAction =
  | { type: 'load'; clipId: number; annotatorId: number; annotations: Annotation[] }
  | { type: 'edit'; segment: number; field: 'score' | 'note' | 'correction'; value: number | string | null }
  | { type: 'undo' }
  | { type: 'redo' }
  | history.AutosaveAction;

const EMPTY: Draft = { score: null, note: '', correction: null };

export const initialEditor: EditorState = {
  clipId: null,
  annotatorId: null,
  present: {},
  past: [],
  future: [],
  revision: 0,
  savedRevision: 0,
  saving: false,
  error: null,
  lastEditKey: null,
  fieldError: null,
};

export function draftOf(state: EditorState, segment: number): Draft {
  return state.present[segment] ?? EMPTY;
}

const SCORE_RULES: Pick<Tier, 'name' | 'kind' | 'labels'> = { name: 'score', kind: 'score', labels: [] };

export function editorReducer(state: EditorState, action: EditorAction): EditorState {
  switch (action.type) {
    case 'load': {
      const present: Drafts = {};
      for (const a of action.annotations)
        if (a.clipId === action.clipId && a.annotatorId === action.annotatorId)
          present[a.segment] = { score: a.score, note: a.note, correction: a.correction };
      return { ...initialEditor, clipId: action.clipId, annotatorId: action.annotatorId, present };
    }
    case 'edit': {
      if (state.clipId === null) return state;
      const before = draftOf(state, action.segment);
      let value = action.value;
      // a score out of range or not a number is refused at the field, never clamped or dropped
      if (action.field === 'score') {
        const checked = checkTierValue(SCORE_RULES, value);
        if (!checked.ok) return { ...state, fieldError: { segment: action.segment, message: checked.message } };
        value = checked.value;
      }
      const fieldError =
        action.field === 'score' && state.fieldError?.segment === action.segment ? null : state.fieldError;
      if (action.field === 'correction' && value === '') value = null;
      if (before[action.field] === value) return fieldError === state.fieldError ? state : { ...state, fieldError };
      const next: Drafts = { ...state.present, [action.segment]: { ...before, [action.field]: value } };
      const key = action.field === 'score' ? null : `${action.segment}:${action.field}`;
      return {
        ...state,
        ...history.recordUndo(state, state.present, key !== null && key === state.lastEditKey),
        present: next,
        revision: state.revision + 1,
        lastEditKey: key,
        fieldError,
      };
    }
    case 'undo':
    case 'redo': {
      const step = history.travel(state, action.type, state.present);
      return step ? { ...state, ...step.history, present: step.restore, lastEditKey: null } : state;
    }
    default:
      return history.autosaveReducer(state, action);
  }
}

/** What autosave sends: every segment with something in it. */
export function toInputs(state: EditorState): AnnotationInput[] {
  return Object.entries(state.present)
    .map(([seg, d]) => ({ segment: Number(seg), score: d.score, note: d.note, correction: d.correction }))
    .filter((d) => d.score !== null || d.note.trim() !== '' || d.correction !== null)
    .sort((a, b) => a.segment - b.segment);
}

export function isDirty(state: EditorState): boolean {
  return history.hasUnsavedChanges(state);
}
