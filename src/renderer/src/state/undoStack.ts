/**
 * Undo/redo and autosave bookkeeping shared by the editors' reducers (annotation labels, tier
 * segments). Pure functions over a state's `past`/`future` snapshots and its revision counters;
 * each editor keeps its own snapshot type and says what to restore.
 */

/** how many undo steps an editor keeps */
export const UNDO_LIMIT = 200;

export interface UndoHistory<S> {
  past: S[];
  future: S[];
}

/** The history after a change from `current`: it becomes an undo step (unless coalesced) and redo is cleared. */
export function recordUndo<S>(h: UndoHistory<S>, current: S, coalesce = false): UndoHistory<S> {
  return { past: coalesce ? h.past : [...h.past, current].slice(-UNDO_LIMIT), future: [] };
}

/** Undo from `current`: the snapshot to restore and the history after it, or null when there is nothing to undo. */
export function undoStep<S>(h: UndoHistory<S>, current: S): (UndoHistory<S> & { restore: S }) | null {
  if (!h.past.length) return null;
  return { restore: h.past[h.past.length - 1], past: h.past.slice(0, -1), future: [current, ...h.future] };
}

/** Redo from `current`: the snapshot to restore and the history after it, or null when there is nothing to redo. */
export function redoStep<S>(h: UndoHistory<S>, current: S): (UndoHistory<S> & { restore: S }) | null {
  if (!h.future.length) return null;
  const [restore, ...future] = h.future;
  return { restore, past: [...h.past, current], future };
}

/**
 * Undo or redo from `current`: the snapshot to restore and the state's new past, future and
 * revision (a step moves the revision, so autosave stores it); null when there is nothing to step to.
 */
export function travel<S>(
  state: UndoHistory<S> & { revision: number },
  direction: 'undo' | 'redo',
  current: S,
): { restore: S; history: UndoHistory<S> & { revision: number } } | null {
  const step = direction === 'undo' ? undoStep(state, current) : redoStep(state, current);
  if (!step) return null;
  return { restore: step.restore, history: { past: step.past, future: step.future, revision: state.revision + 1 } };
}

/** Autosave bookkeeping: the view saves while `revision` differs from `savedRevision` and reports back. */
export interface AutosaveState {
  /** bumps on every change (edits, undo, redo) */
  revision: number;
  savedRevision: number;
  saving: boolean;
  /** the last save's failure */
  error: string | null;
}

export type AutosaveAction =
  { type: 'saving' } | { type: 'saved'; revision: number } | { type: 'saveFailed'; message: string };

export function autosaveReducer<T extends AutosaveState>(state: T, action: AutosaveAction): T {
  switch (action.type) {
    case 'saving':
      return { ...state, saving: true, error: null };
    case 'saved':
      return { ...state, saving: false, savedRevision: Math.max(state.savedRevision, action.revision) };
    case 'saveFailed':
      return { ...state, saving: false, error: action.message };
  }
}

/** true while there are changes autosave has not stored */
export function hasUnsavedChanges(state: AutosaveState): boolean {
  return state.revision !== state.savedRevision;
}

/** What an editor's save indicator says: loading, the last save's failure, saving, unsaved changes or saved. */
export function saveStatus(state: AutosaveState, loaded: boolean): string {
  if (!loaded) return 'loading...';
  if (state.error) return `not saved: ${state.error}`;
  if (state.saving) return 'saving...';
  return hasUnsavedChanges(state) ? 'unsaved changes' : 'saved';
}
