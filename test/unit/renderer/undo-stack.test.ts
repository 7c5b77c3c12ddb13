/** The editors' shared undo stack and save indicator, as pure functions. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  autosaveReducer,
  recordUndo,
  redoStep,
  saveStatus,
  travel,
  undoStep,
  UNDO_LIMIT,
  type AutosaveState,
} from '../../../src/renderer/src/state/undoStack';

test('record, undo and redo move snapshots between past and future; a new change clears redo', () => {
  let h = recordUndo<string>({ past: [], future: [] }, 'a');
  h = recordUndo(h, 'b');
  assert.deepEqual(h, { past: ['a', 'b'], future: [] });
  // coalesced: the change joins the last undo step
  assert.deepEqual(recordUndo(h, 'c', true), h);
  const u = undoStep(h, 'c')!;
  assert.deepEqual(u, { restore: 'b', past: ['a'], future: ['c'] });
  const r = redoStep(u, 'b')!;
  assert.deepEqual(r, { restore: 'c', past: ['a', 'b'], future: [] });
  assert.deepEqual(recordUndo(u, 'b2').future, []);
  assert.equal(undoStep({ past: [], future: ['x'] }, 'y'), null);
  assert.equal(redoStep({ past: ['x'], future: [] }, 'y'), null);
  // travel: the step plus a new revision, so autosave stores what undo/redo restored
  assert.deepEqual(travel({ ...h, revision: 4 }, 'undo', 'c'), {
    restore: 'b',
    history: { past: ['a'], future: ['c'], revision: 5 },
  });
  assert.equal(travel({ past: [], future: [], revision: 4 }, 'redo', 'c'), null);
  // at most UNDO_LIMIT steps, the oldest dropped
  let long = { past: [] as number[], future: [] as number[] };
  for (let i = 0; i < UNDO_LIMIT + 5; i++) long = recordUndo(long, i);
  assert.equal(long.past.length, UNDO_LIMIT);
  assert.equal(long.past[0], 5);
});

test('autosave bookkeeping and what the save indicator says', () => {
  const s0: AutosaveState = { revision: 2, savedRevision: 0, saving: false, error: null };
  assert.equal(saveStatus(s0, false), 'loading...');
  assert.equal(saveStatus(s0, true), 'unsaved changes');
  const saving = autosaveReducer(s0, { type: 'saving' });
  assert.equal(saveStatus(saving, true), 'saving...');
  const failed = autosaveReducer(saving, { type: 'saveFailed', message: 'disk full' });
  assert.equal(saveStatus(failed, true), 'not saved: disk full');
  const saved = autosaveReducer(autosaveReducer(failed, { type: 'saving' }), { type: 'saved', revision: 2 });
  assert.equal(saveStatus(saved, true), 'saved');
  // a late answer for an older revision does not move savedRevision back
  assert.equal(autosaveReducer(saved, { type: 'saved', revision: 1 }).savedRevision, 2);
});
