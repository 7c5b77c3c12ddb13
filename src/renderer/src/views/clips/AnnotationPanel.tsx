/**
 * One annotator's labels on one clip: a sentiment score for the clip (with the derived 3-/7-class
 * labels; an out-of-range score is refused at the field), a note and transcript corrections. Scores
 * of parts of the clip are segments of the sentiment tier (TierEditor). Undo/redo
 * (Ctrl+Z / Ctrl+Shift+Z or Ctrl+Y) and autosave half a second after the last change.
 */
import { useEffect, useReducer, type KeyboardEvent } from 'react';
import type { Api } from '../../../../shared/api';
import { scoreClasses, THREE_CLASS_LABELS, type Annotator, type ClipDetail } from '../../../../shared/clips';
import { draftOf, editorReducer, initialEditor, isDirty, toInputs } from '../../state/annotationEditor';
import { ScoreField } from './ScoreField';
import { UndoControls } from '../../components/UndoControls';

const AUTOSAVE_MS = 500;

function Classes({ score }: { score: number | null }) {
  if (score === null) return <span className="muted">unlabelled</span>;
  const c = scoreClasses(score);
  return (
    <span className="classes" data-testid="derived-classes">
      {THREE_CLASS_LABELS[c.three]}, 7-class {c.seven - 3 > 0 ? '+' : ''}
      {c.seven - 3}
    </span>
  );
}

export function AnnotationPanel({ api, clip, annotator }: { api: Api; clip: ClipDetail; annotator: Annotator }) {
  const [state, dispatch] = useReducer(editorReducer, initialEditor);

  useEffect(() => {
    let live = true;
    api.clips.annotations({ clipId: clip.id }).then(
      (annotations) => live && dispatch({ type: 'load', clipId: clip.id, annotatorId: annotator.id, annotations }),
      (e: Error) => live && dispatch({ type: 'saveFailed', message: e.message }),
    );
    return () => {
      live = false;
    };
  }, [api, clip.id, annotator.id]);

  useEffect(() => {
    if (!isDirty(state) || state.saving || state.clipId !== clip.id) return;
    const revision = state.revision;
    const items = toInputs(state);
    const timer = setTimeout(() => {
      dispatch({ type: 'saving' });
      api.clips.saveAnnotations({ clipId: clip.id, annotatorId: annotator.id, items }).then(
        () => dispatch({ type: 'saved', revision }),
        (e: Error) => dispatch({ type: 'saveFailed', message: e.message }),
      );
    }, AUTOSAVE_MS);
    return () => clearTimeout(timer);
  }, [api, state, clip.id, annotator.id]);

  const onKey = (e: KeyboardEvent) => {
    if (!(e.ctrlKey || e.metaKey)) return;
    if (e.key.toLowerCase() === 'z') {
      dispatch({ type: e.shiftKey ? 'redo' : 'undo' });
      e.preventDefault();
    } else if (e.key.toLowerCase() === 'y') {
      dispatch({ type: 'redo' });
      e.preventDefault();
    }
  };

  const clipDraft = draftOf(state, -1);
  const segments = clip.transcript?.segments ?? [];
  const scoreInput = (segment: number, label: string) => (
    <ScoreField
      label={label}
      disabled={!loaded}
      value={draftOf(state, segment).score}
      refusal={state.fieldError?.segment === segment ? state.fieldError.message : null}
      onValue={(value) => dispatch({ type: 'edit', segment, field: 'score', value })}
    />
  );
  const loaded = state.clipId === clip.id && state.annotatorId === annotator.id;

  return (
    <section className="annotation-panel" aria-label={`Annotation by ${annotator.name}`} onKeyDown={onKey}>
      <div className="annotation-head">
        <strong>{annotator.name}</strong>
        <UndoControls state={state} loaded={loaded} dispatch={dispatch} testId="save-state" />
      </div>
      <label className="clip-score">
        Clip sentiment (-3 .. +3) {scoreInput(-1, 'Clip score')} <Classes score={clipDraft.score} />
      </label>
      <label>
        Note
        <textarea
          aria-label="Clip note"
          rows={2}
          disabled={!loaded}
          value={clipDraft.note}
          onChange={(e) => dispatch({ type: 'edit', segment: -1, field: 'note', value: e.target.value })}
        />
      </label>
      {segments.length ? (
        <table className="segments">
          <thead>
            <tr>
              <th>time</th>
              <th>transcript (correct it here; score segments on the sentiment tier above)</th>
            </tr>
          </thead>
          <tbody>
            {segments.map((s) => {
              const d = draftOf(state, s.index);
              return (
                <tr key={s.index}>
                  <td>{s.start === null ? '' : `${s.start.toFixed(2)}-${s.end!.toFixed(2)}`}</td>
                  <td>
                    <input
                      aria-label={`Segment ${s.index + 1} text`}
                      disabled={!loaded}
                      value={d.correction ?? s.correction ?? s.text}
                      onChange={(e) =>
                        dispatch({
                          type: 'edit',
                          segment: s.index,
                          field: 'correction',
                          value: e.target.value === s.text ? null : e.target.value,
                        })
                      }
                    />
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}
