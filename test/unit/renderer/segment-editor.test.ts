import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  initialSegments,
  isSegmentsDirty,
  segmentInputs,
  segmentReducer,
  snapTime,
  valueForDigit,
  wordBoundaries,
  type SegmentAction,
  type SegmentEditorState,
} from '../../../src/renderer/src/state/segmentEditor';

const run = (actions: SegmentAction[], from: SegmentEditorState = initialSegments) =>
  actions.reduce(segmentReducer, from);
const words = [
  { start: 0.1, end: 0.5 },
  { start: 0.5, end: 0.9 },
  { start: 1.2, end: 1.6 },
];
const load = (segments: { start: number; end: number; value: number | string | null }[] = []): SegmentAction => ({
  type: 'load',
  clipId: 1,
  tier: { id: 7, name: 'sentiment', kind: 'score', labels: [] },
  annotatorId: 2,
  duration: 2,
  snapPoints: wordBoundaries(words),
  segments,
  cues: [
    { start: 0.1, end: 0.9 },
    { start: 0.9, end: 1.6 },
  ],
});
const spans = (s: SegmentEditorState) => s.segments.map((x) => [x.start, x.end, x.value]);

test('an empty track starts from the transcript cues; a stored track is taken as it is; loading is not an edit', () => {
  const fresh = run([load()]);
  assert.deepEqual(spans(fresh), [
    [0.1, 0.9, null],
    [0.9, 1.6, null],
  ]);
  assert.equal(isSegmentsDirty(fresh), false);
  const stored = run([load([{ start: 0.2, end: 0.4, value: 1 }])]);
  assert.deepEqual(spans(stored), [[0.2, 0.4, 1]]);
});

test('create by drag stops at the neighbours and snaps to word boundaries; mark in / mark out at the playhead', () => {
  const s = run([load([{ start: 0.5, end: 0.9, value: null }]), { type: 'create', start: 1.25, end: 1.9, snap: 0.08 }]);
  assert.deepEqual(spans(s), [
    [0.5, 0.9, null],
    [1.2, 1.9, null],
  ]);
  assert.equal(s.selected, s.segments[1].key);
  // a drag from a free spot over a neighbour stops at it
  const stopped = run([{ type: 'create', start: 0.05, end: 0.8 }], s);
  assert.deepEqual(spans(stopped)[0], [0.05, 0.5, null]);
  // starting inside a segment is refused with a reason, nothing changes
  const refused = run([{ type: 'create', start: 0.6, end: 1.0 }], s);
  assert.deepEqual(spans(refused), spans(s));
  assert.match(refused.message!, /inside a segment/);
  // keyboard: mark in, mark out
  const marked = run([load([]), { type: 'delete', key: 's1' }, { type: 'delete', key: 's2' }]);
  assert.equal(marked.segments.length, 0);
  const out = run([{ type: 'markOut', at: 1 }], marked);
  assert.match(out.message!, /mark in first/);
  const made = run(
    [
      { type: 'markIn', at: 0.48, snap: 0.05 },
      { type: 'markOut', at: 1.0 },
    ],
    marked,
  );
  assert.deepEqual(spans(made), [[0.5, 1, null]]);
  assert.equal(made.markIn, null);
});

test('move keeps the length within the neighbours; resize snaps an edge; split, merge, delete', () => {
  const s0 = run([
    load([
      { start: 0.1, end: 0.5, value: 1 },
      { start: 1.2, end: 1.4, value: null },
    ]),
  ]);
  const [a, b] = s0.segments.map((x) => x.key);
  // b moved left runs into a and stops there
  assert.deepEqual(spans(run([{ type: 'move', key: b, start: 0.2 }], s0))[1], [0.5, 0.7, null]);
  // moved near a word boundary, its start snaps onto it
  assert.deepEqual(spans(run([{ type: 'move', key: b, start: 0.93, snap: 0.05 }], s0))[1], [0.9, 1.1, null]);
  // resize the end of a to a word boundary
  const r = run([{ type: 'resize', key: a, edge: 'end', to: 0.87, snap: 0.05 }], s0);
  assert.deepEqual(spans(r)[0], [0.1, 0.9, 1]);
  // an edge cannot pass the other edge nor the neighbour
  assert.deepEqual(spans(run([{ type: 'resize', key: a, edge: 'end', to: 1.9 }], s0))[0], [0.1, 1.2, 1]);
  assert.deepEqual(spans(run([{ type: 'resize', key: b, edge: 'start', to: 1.5 }], s0))[1], [1.38, 1.4, null]);
  // split under the playhead: both halves keep the value
  const sp = run([{ type: 'split', at: 0.3 }], s0);
  assert.deepEqual(spans(sp), [
    [0.1, 0.3, 1],
    [0.3, 0.5, 1],
    [1.2, 1.4, null],
  ]);
  assert.match(run([{ type: 'split', at: 0.8 }], s0).message!, /no segment under the playhead/);
  // merge with the next one: the coded value is kept, the gap is absorbed
  assert.deepEqual(spans(run([{ type: 'merge', key: a }], s0)), [[0.1, 1.4, 1]]);
  // two different codes are not merged silently
  const coded = run([{ type: 'setValue', key: b, value: -2 }], s0);
  const m = run([{ type: 'merge', key: a }], coded);
  assert.equal(m.segments.length, 2);
  assert.match(m.message!, /coded differently/);
  assert.deepEqual(spans(run([{ type: 'delete', key: a }], s0)), [[1.2, 1.4, null]]);
});

test('values are checked by the tier rules: out of range refused with a message, never clamped', () => {
  const s0 = run([load([{ start: 0.1, end: 0.5, value: null }])]);
  const key = s0.segments[0].key;
  const bad = run([{ type: 'setValue', key, value: 5 }], s0);
  assert.equal(bad.segments[0].value, null, 'unchanged');
  assert.match(bad.message!, /outside -3 \.\. \+3/);
  assert.equal(bad.revision, s0.revision, 'not an edit');
  assert.equal(run([{ type: 'setValue', key, value: '2.5' }], s0).segments[0].value, 2.5);
  assert.match(run([{ type: 'setValue', key, value: 'abc' }], s0).message!, /not a number/);
  const cat = run([
    {
      ...(load([{ start: 0.1, end: 0.5, value: null }]) as Extract<SegmentAction, { type: 'load' }>),
      tier: { id: 8, name: 'emotion', kind: 'category', labels: ['happy', 'sad'] },
    },
  ]);
  assert.match(run([{ type: 'setValue', key, value: 'angry' }], cat).message!, /not a label of tier "emotion"/);
  assert.equal(run([{ type: 'setValue', key, value: valueForDigit(cat.tier, 2)! }], cat).segments[0].value, 'sad');
  assert.equal(valueForDigit(s0.tier, 1), -3);
  assert.equal(valueForDigit(s0.tier, 7), 3);
  assert.equal(valueForDigit(s0.tier, 8), undefined);
});

test('undo and redo walk every edit back and forth; a new edit clears redo; autosave bookkeeping', () => {
  const s0 = run([load()]);
  const [a] = s0.segments.map((x) => x.key);
  const edited = run(
    [
      { type: 'setValue', key: a, value: 2 },
      { type: 'split', at: 0.5 },
      { type: 'resize', key: a, edge: 'start', to: 0.2 },
    ],
    s0,
  );
  assert.deepEqual(spans(edited), [
    [0.2, 0.5, 2],
    [0.5, 0.9, 2],
    [0.9, 1.6, null],
  ]);
  assert.ok(isSegmentsDirty(edited));
  const back = run([{ type: 'undo' }, { type: 'undo' }, { type: 'undo' }], edited);
  assert.deepEqual(spans(back), spans(s0));
  assert.equal(run([{ type: 'undo' }], back), back, 'nothing more to undo');
  const again = run([{ type: 'redo' }, { type: 'redo' }, { type: 'redo' }], back);
  assert.deepEqual(spans(again), spans(edited));
  const branched = run([{ type: 'undo' }, { type: 'delete', key: a }], again);
  assert.equal(branched.future.length, 0);
  const saving = run([{ type: 'saving' }], branched);
  const saved = run([{ type: 'saved', revision: branched.revision }], saving);
  assert.equal(isSegmentsDirty(saved), false);
  assert.deepEqual(segmentInputs(saved), [
    { start: 0.5, end: 0.9, value: 2 },
    { start: 0.9, end: 1.6, value: null },
  ]);
});

test('next / previous segment from the playhead or the selection; snapping only within the tolerance', () => {
  const s0 = run([load()]);
  const n1 = run(
    [
      { type: 'select', key: null },
      { type: 'selectNext', at: 0, direction: 1 },
    ],
    s0,
  );
  assert.equal(n1.selected, s0.segments[0].key);
  const n2 = run([{ type: 'selectNext', at: 0, direction: 1 }], n1);
  assert.equal(n2.selected, s0.segments[1].key);
  assert.equal(run([{ type: 'selectNext', at: 0, direction: -1 }], n2).selected, s0.segments[0].key);
  assert.equal(snapTime(0.47, [0.5], 0.05), 0.5);
  assert.equal(snapTime(0.4, [0.5], 0.05), 0.4);
  assert.equal(snapTime(0.47, [0.5], 0), 0.47);
});
