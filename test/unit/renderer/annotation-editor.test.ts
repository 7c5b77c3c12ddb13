import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  editorReducer,
  initialEditor,
  isDirty,
  toInputs,
  type EditorAction,
  type EditorState,
} from '../../../src/renderer/src/state/annotationEditor';
import { scoreClasses } from '../../../src/shared/clips';
import { sevenClassLabel, threeClassLabel } from '../../../src/main/ml/eval/labels';

const run = (actions: EditorAction[], from: EditorState = initialEditor) => actions.reduce(editorReducer, from);
const loaded = run([
  {
    type: 'load',
    clipId: 1,
    annotatorId: 2,
    annotations: [{ clipId: 1, annotatorId: 2, segment: -1, score: 1, note: 'ok', correction: null, updatedAt: '' }],
  },
]);

test('load keeps only this annotator on this clip; nothing to save', () => {
  assert.deepEqual(loaded.present, { [-1]: { score: 1, note: 'ok', correction: null } });
  assert.equal(isDirty(loaded), false);
});

test('edits, undo and redo; a score out of [-3, 3] is refused at its field, never clamped', () => {
  const refused = run([{ type: 'edit', segment: 0, field: 'score', value: 5 }], loaded);
  assert.equal(refused.present[0], undefined, 'nothing stored');
  assert.equal(refused.revision, loaded.revision, 'not an edit');
  assert.equal(refused.fieldError?.segment, 0);
  assert.match(refused.fieldError!.message, /5 is outside -3 \.\. \+3/);
  assert.match(
    run([{ type: 'edit', segment: 0, field: 'score', value: '2x' }], loaded).fieldError!.message,
    /not a number/,
  );
  const fixed = run([{ type: 'edit', segment: 0, field: 'score', value: '-2.25' }], refused);
  assert.equal(fixed.present[0].score, -2.25, 'taken as typed, not rounded');
  assert.equal(fixed.fieldError, null, 'a valid value clears the message');
  const s = run(
    [
      { type: 'edit', segment: -1, field: 'score', value: 2.5 },
      { type: 'edit', segment: 0, field: 'score', value: 3 },
    ],
    loaded,
  );
  assert.equal(s.present[0].score, 3);
  assert.equal(isDirty(s), true);
  const u = run([{ type: 'undo' }], s);
  assert.equal(u.present[0], undefined);
  assert.equal(u.present[-1].score, 2.5);
  const uu = run([{ type: 'undo' }, { type: 'undo' }], s);
  assert.equal(uu.present[-1].score, 1, 'back to what was loaded; extra undos do nothing');
  const r = run([{ type: 'redo' }, { type: 'redo' }], uu);
  assert.deepEqual(r.present, s.present);
  // a new edit after undo drops the redo branch
  const branch = run([{ type: 'undo' }, { type: 'edit', segment: -1, field: 'note', value: 'x' }], s);
  assert.equal(branch.future.length, 0);
});

test('typing in one field is one undo step; a different field starts a new one', () => {
  const s = run(
    [
      { type: 'edit', segment: -1, field: 'note', value: 'o' },
      { type: 'edit', segment: -1, field: 'note', value: 'ok!' },
      { type: 'edit', segment: 0, field: 'correction', value: 'fixed' },
    ],
    loaded,
  );
  assert.equal(s.past.length, 2);
  assert.equal(run([{ type: 'undo' }, { type: 'undo' }], s).present[-1].note, 'ok');
});

test('autosave bookkeeping: saved at revision r leaves later edits dirty', () => {
  const s = run([{ type: 'edit', segment: -1, field: 'score', value: -1 }], loaded);
  const sending = s.revision;
  const t = run(
    [
      { type: 'saving' },
      { type: 'edit', segment: -1, field: 'score', value: -2 },
      { type: 'saved', revision: sending },
    ],
    s,
  );
  assert.equal(isDirty(t), true);
  assert.equal(t.saving, false);
  assert.deepEqual(toInputs(t), [{ segment: -1, score: -2, note: 'ok', correction: null }]);
  const f = run([{ type: 'saveFailed', message: 'offline' }], t);
  assert.equal(f.error, 'offline');
});

test("the UI's derived classes equal the engine's labels", () => {
  for (let s = -3.5; s <= 3.5; s += 0.25)
    assert.deepEqual(scoreClasses(s), { three: threeClassLabel(s), seven: sevenClassLabel(s) }, String(s));
});
