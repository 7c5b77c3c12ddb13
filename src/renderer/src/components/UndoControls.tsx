import { saveStatus, type AutosaveState, type UndoHistory } from '../state/undoStack';

/** An editor's Undo and Redo buttons and its save indicator (the annotation panel's, the tier editor's). */
export function UndoControls({
  state,
  loaded,
  dispatch,
  testId,
}: {
  state: UndoHistory<unknown> & AutosaveState;
  /** false until the editor holds what it edits */
  loaded: boolean;
  dispatch: (action: { type: 'undo' } | { type: 'redo' }) => void;
  /** the save indicator's test id */
  testId: string;
}) {
  return (
    <>
      <button onClick={() => dispatch({ type: 'undo' })} disabled={!state.past.length}>
        Undo
      </button>
      <button onClick={() => dispatch({ type: 'redo' })} disabled={!state.future.length}>
        Redo
      </button>
      <span className={state.error ? 'error' : 'muted'} data-testid={testId}>
        {saveStatus(state, loaded)}
      </span>
    </>
  );
}
