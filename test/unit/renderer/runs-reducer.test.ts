import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  trainingOptionsSchema,
  type EvaluationRecord,
  type RunEpoch,
  type RunRecord,
} from '../../../src/shared/contract/training';
import {
  compared,
  curveNames,
  finalMetrics,
  flattenOptions,
  initialRuns,
  metricNames,
  overlaidCurves,
  runsReducer,
  settingsDiff,
} from '../../../src/renderer/src/state/runs';
import { extent, linePath, niceTicks, tickLabel } from '../../../src/renderer/src/components/chartScale';

const run = (id: number, options: object, over: Partial<RunRecord> = {}): RunRecord => ({
  id,
  projectId: null,
  datasetId: 1,
  datasetFolder: `/data/datasets/tiny`,
  name: `run ${id}`,
  options: trainingOptionsSchema.parse(options),
  status: 'completed',
  jobId: null,
  folder: '',
  epochsDone: 2,
  selectionMetric: 'Non0_acc_2',
  bestEpoch: 2,
  bestMetric: 0.6,
  bestCheckpoint: null,
  lastCheckpoint: null,
  engine: 'tfjs-wasm',
  error: null,
  createdAt: '',
  startedAt: null,
  finishedAt: null,
  ...over,
});
const epoch = (runId: number, e: number, acc: number): RunEpoch => ({
  runId,
  epoch: e,
  losses: {
    taskFull: 1 / e,
    taskMissing: 1,
    joint: 0.1,
    attention: 0.01,
    reconText: 0.2,
    reconAudio: 0.3,
    reconVision: 0.4,
    total: 2 / e,
  },
  validation: { Non0_acc_2: acc, Acc_3: acc - 0.1 },
  selectionValue: acc,
  improved: true,
  durationMs: 10,
  createdAt: '',
});

test('compare: ticked runs in order, settings that differ, curves overlaid, final metrics', () => {
  let s = runsReducer(initialRuns, {
    type: 'loaded',
    list: [run(2, { model: { layers: 2 }, seed: 5 }), run(1, { model: { layers: 1 } })],
  });
  s = runsReducer(s, { type: 'toggle', id: 1 });
  s = runsReducer(s, { type: 'toggle', id: 2 });
  assert.deepEqual(
    compared(s).map((r) => r.id),
    [1, 2],
  );
  assert.deepEqual(
    settingsDiff(compared(s)).map((r) => [r.key, r.values]),
    [
      ['seed', ['1111', '5']],
      ['model.layers', ['1', '2']],
    ],
  );
  assert.ok(settingsDiff(compared(s), false).some((r) => r.key === 'dataset' && !r.differs));
  s = runsReducer(s, { type: 'detailLoaded', id: 1, epochs: [epoch(1, 1, 0.5), epoch(1, 2, 0.6)], evaluations: [] });
  const evaluation = {
    protocol: 'complete',
    points: [{ rate: null, metrics: { Non0_acc_2: 0.55, Acc_3: 0.5 } }],
  } as unknown as EvaluationRecord;
  s = runsReducer(s, {
    type: 'detailLoaded',
    id: 2,
    epochs: [epoch(2, 1, 0.4), epoch(2, 2, 0.7)],
    evaluations: [evaluation],
  });
  const curves = overlaidCurves(s);
  assert.deepEqual(
    curves.map((c) => [c.name, c.points.map((q) => q.y)]),
    [
      ['#1 run 1', [0.5, 0.6]],
      ['#2 run 2', [0.4, 0.7]],
    ],
  );
  assert.ok(curveNames(s).includes('loss:reconAudio'));
  assert.deepEqual(
    overlaidCurves(s, 'loss:total').map((c) => c.points.map((p) => p.y)),
    [
      [2, 1],
      [2, 1],
    ],
  );
  const f1 = finalMetrics(s, compared(s)[0]);
  const f2 = finalMetrics(s, compared(s)[1]);
  assert.deepEqual(f1, { runId: 1, bestEpoch: 2, validation: { Non0_acc_2: 0.6, Acc_3: 0.5 }, test: null });
  assert.deepEqual(f2.test, { Non0_acc_2: 0.55, Acc_3: 0.5 });
  assert.deepEqual(metricNames([f1, f2]), ['Non0_acc_2', 'Acc_3']);
  // a removed run leaves the comparison
  s = runsReducer(s, { type: 'loaded', list: [run(1, {})] });
  assert.deepEqual(s.compare, [1]);
  s = runsReducer(s, { type: 'toggle', id: 1 });
  assert.deepEqual(s.compare, []);
});

test('flattened options use dotted keys', () => {
  const f = flattenOptions(trainingOptionsSchema.parse({}));
  assert.equal(f['model.dropouts.embedding'], '0.2');
  assert.equal(f['lossWeights.reconstruction'], '0.6');
  assert.equal(f['text.kind'], 'features');
});

test('chart scales: round ticks, flat data widened, NaN breaks a line', () => {
  assert.deepEqual(niceTicks(0, 1, 5), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(niceTicks(1, 3, 5), [1, 1.5, 2, 2.5, 3]);
  assert.deepEqual(extent([2, 2, NaN]), [1.8, 2.2]);
  assert.equal(extent([NaN]), null);
  assert.equal(tickLabel(0.30000000000000004), '0.3');
  assert.equal(tickLabel(25000), '25k');
  const id = (x: number) => x;
  assert.equal(
    linePath(
      [
        { x: 0, y: 0 },
        { x: 1, y: 1 },
        { x: 2, y: NaN },
        { x: 3, y: 3 },
      ],
      id,
      id,
    ),
    'M0.0,0.0L1.0,1.0 M3.0,3.0',
  );
});
