/**
 * Annotation at the sizes a large study reaches: the timeline reducer's edits per second on a track
 * of 2,000 segments (every edit copies the track for undo), and agreement per tier over a project
 * of 200 clips x 3 annotators x 100 segments on a score and a category tier. Prints figures only.
 */
import { performance } from 'node:perf_hooks';
import { tierAgreement } from '../src/main/clips/tierAgreement';
import { initialSegments, segmentReducer, type SegmentEditorState } from '../src/renderer/src/state/segmentEditor';
import type { Tier, TierSegment } from '../src/shared/tiers';

function rng(seed: number) {
  let s = seed >>> 0;
  return () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
}

// the machine's speed right now (a shared machine's load shows here), to read the figures against
let t0 = performance.now();
let acc = 0;
for (let i = 0; i < 1e7; i++) acc += i;
const baselineMs = performance.now() - t0;
console.log(`baseline: 1e7 additions in ${baselineMs.toFixed(1)} ms (${acc > 0 ? 'ok' : ''})`);

// reducer
const n = 2000;
let state: SegmentEditorState = segmentReducer(initialSegments, {
  type: 'load',
  clipId: 1,
  tier: { id: 1, name: 'sentiment', kind: 'score', labels: [] },
  annotatorId: 1,
  duration: n,
  snapPoints: Array.from({ length: n * 3 }, (_, i) => i / 3),
  segments: Array.from({ length: n }, (_, i) => ({ start: i, end: i + 0.8, value: null })),
  cues: [],
});
const edits = 2000;
const r = rng(1);
t0 = performance.now();
for (let k = 0; k < edits; k++) {
  const seg = state.segments[Math.floor(r() * state.segments.length)];
  const op = k % 4;
  if (op === 0) state = segmentReducer(state, { type: 'setValue', key: seg.key, value: Math.round(r() * 6) - 3 });
  else if (op === 1)
    state = segmentReducer(state, { type: 'resize', key: seg.key, edge: 'end', to: seg.end + 0.05, snap: 0.1 });
  else if (op === 2) state = segmentReducer(state, { type: 'move', key: seg.key, start: seg.start + 0.02, snap: 0.01 });
  else state = segmentReducer(state, { type: 'undo' });
}
const reducerMs = performance.now() - t0;
console.log(
  `segment reducer: ${edits} edits on a ${n}-segment track in ${reducerMs.toFixed(0)} ms (${((edits / reducerMs) * 1000).toFixed(0)} edits/s, ${(reducerMs / edits).toFixed(3)} ms/edit)`,
);

// agreement
const tiers: Tier[] = [
  { id: 1, projectId: 1, name: 'sentiment', kind: 'score', labels: [], isDefault: true },
  {
    id: 2,
    projectId: 1,
    name: 'emotion',
    kind: 'category',
    labels: ['happy', 'sad', 'angry', 'neutral'],
    isDefault: false,
  },
];
const segments: TierSegment[] = [];
let id = 0;
for (let clip = 1; clip <= 200; clip++)
  for (const tier of tiers)
    for (let who = 1; who <= 3; who++) {
      let t = 0;
      for (let s = 0; s < 100; s++) {
        const len = 0.5 + r() * 2;
        segments.push({
          id: ++id,
          tierId: tier.id,
          clipId: clip,
          annotatorId: who,
          start: t,
          end: t + len,
          value: tier.kind === 'score' ? Math.round(r() * 12) / 2 - 3 : tier.labels[Math.floor(r() * 4)],
        });
        t += len + r() * 0.2;
      }
    }
t0 = performance.now();
const result = tierAgreement(tiers, segments);
const agreementMs = performance.now() - t0;
console.log(
  `tier agreement: ${segments.length} segments (200 clips x 2 tiers x 3 annotators x 100) in ${agreementMs.toFixed(0)} ms (${(agreementMs / baselineMs).toFixed(0)} baselines); units: ${result.map((x) => `${x.tierName} ${x.units}`).join(', ')}`,
);
