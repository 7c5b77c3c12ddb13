/**
 * The coordinator's import of trial folders (jobs/executors/import.ts) on a real SQLite file: a
 * finished ablation trial stores its run's epochs and checkpoints, its RMFM evaluation and its
 * IID/OOD comparison in one go, once; a robustness trial stores its sweep once per job; a bad or
 * partial folder is refused with the file named and leaves the store as it was.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { openDatabase, type Db } from '../../../src/main/store/db';
import { databaseFile, runFolder } from '../../../src/main/store/paths';
import { RunStore } from '../../../src/main/store/runs';
import { AnalysisStore } from '../../../src/main/store/analysis';
import { JobStore } from '../../../src/main/store/jobs';
import { importTrialFolder } from '../../../src/main/jobs/executors/import';
import {
  readTrialSpec,
  writeTrialSpec,
  type TrialOutcome,
  type TrialSpec,
} from '../../../src/main/jobs/executors/trial';
import { trainingOptionsSchema } from '../../../src/shared/contract/training';
import { tempDir } from '../../helpers/tmp';

const dataDir = tempDir('cider-trial-import-');
let db: Db;
let runs: RunStore;
let analysis: AnalysisStore;
let jobId: number;
const options = trainingOptionsSchema.parse({ maxEpochs: 2 });

before(() => {
  db = openDatabase(databaseFile(dataDir));
  runs = new RunStore(db);
  analysis = new AnalysisStore(db);
  jobId = new JobStore(db).create(
    'analysis.robustnessRuns',
    { runIds: [1], protocols: ['RMFM'], rates: [0, 1], seed: 1, checkpoint: 'best', executor: { kind: 'local' } },
    null,
  ).id;
});
after(() => db.close());

function newRun(name: string) {
  const run = runs.create({
    projectId: null,
    datasetId: null,
    datasetFolder: dataDir,
    name,
    options,
    selectionMetric: 'Non0_acc_2',
    folderOf: (id) => runFolder(dataDir, id),
  });
  return runs.queue(run.id, jobId);
}

const epoch = (n: number) => ({
  epoch: n,
  losses: { total: 1 / n, taskFull: 1 / n },
  validation: { Non0_acc_2: 0.5 + n / 10 },
  selectionValue: 0.5 + n / 10,
  improved: true,
  durationMs: 5,
  bestEpoch: n,
  bestMetric: 0.5 + n / 10,
});

function ablationOutcome(runId: number, trial: number): TrialOutcome {
  return {
    version: 1,
    kind: 'ablation',
    jobId,
    trial,
    runId,
    status: 'completed',
    engine: 'tfjs-cpu',
    host: 'node-7',
    attempt: 1,
    epochs: [epoch(1), epoch(2)] as unknown as TrialOutcome['epochs'],
    bestEpoch: 2,
    bestMetric: 0.7,
    stopped: 'max-epochs',
    error: null,
    records: {
      evaluations: [
        {
          protocol: 'RMFM',
          seed: 1111,
          checkpoint: 'best',
          points: [
            { rate: 0, metrics: { Acc_3: 0.6 } },
            { rate: 1, metrics: { Acc_3: 0.3 } },
          ],
          auilc: { Acc_3: 0.45 },
          engine: 'tfjs-cpu',
          textNote: 'features',
        },
      ],
      comparison: {
        // the datasets are not in this store (the foreign keys are tested by the cluster tests)
        iidDatasetId: null,
        oodDatasetId: null,
        result: {
          classNames: ['neg', 'neu', 'pos'],
          selectionMetric: 'Non0_acc_2',
          tauRule: 'validation',
          taus: [0, 1],
          selectedTau: null,
          balanced: null,
          iid: { datasetId: 1, kind: 'iid', datasetName: 'iid', count: 16, plain: { Acc_3: 0.6 } },
          ood: { datasetId: 2, kind: 'ood', datasetName: 'ood', count: 16, plain: { Acc_3: 0.4 } },
          paired: null,
          textNote: 'features',
          debiasNote: 'no MACI on features',
        } as unknown as NonNullable<TrialOutcome['records']['comparison']>['result'],
      },
    },
    finishedAt: new Date().toISOString(),
  };
}

function trialFolder(name: string, spec: TrialSpec, outcome: unknown, checkpoints = true): string {
  const folder = path.join(dataDir, 'cluster', name);
  writeTrialSpec(folder, spec);
  if (checkpoints) {
    fs.mkdirSync(path.join(folder, 'run'), { recursive: true });
    fs.writeFileSync(path.join(folder, 'run', 'best.safetensors'), 'best weights');
    fs.writeFileSync(path.join(folder, 'run', 'last.safetensors'), 'last weights');
  }
  if (outcome !== undefined)
    fs.writeFileSync(
      path.join(folder, 'outcome.json'),
      typeof outcome === 'string' ? outcome : JSON.stringify(outcome, null, 1),
    );
  return folder;
}

const ablationSpec = (runId: number, trial: number): TrialSpec => ({
  version: 1,
  kind: 'ablation',
  jobId,
  trial,
  runId,
  name: `ablation #${jobId} full`,
  datasetFolder: dataDir,
  options,
  iid: { id: 1, dir: dataDir, name: 'iid' },
  ood: { id: 2, dir: dataDir, name: 'ood' },
  tauRule: 'validation',
  rmfmRates: [0, 1],
});

/** what the store holds about a run, to compare before and after a refused import */
const snapshot = (runId: number) =>
  JSON.stringify({
    run: runs.get(runId),
    epochs: runs.epochs(runId),
    evaluations: runs.evaluations(runId),
    comparisons: analysis.comparisons(runId),
    sweeps: analysis.sweeps([runId]),
  });

test('an ablation trial folder: run, epochs, checkpoints, RMFM evaluation and comparison stored together, once', () => {
  const run = newRun('ablation ok');
  const folder = trialFolder('ok', ablationSpec(run.id, 1), ablationOutcome(run.id, 1));
  assert.equal(readTrialSpec(folder).kind, 'ablation');
  const stored = importTrialFolder(db, folder);
  assert.ok(stored);
  assert.equal(stored.status, 'completed');
  const after = runs.get(run.id);
  assert.equal(after.status, 'completed');
  assert.equal(after.bestEpoch, 2);
  assert.equal(fs.readFileSync(after.bestCheckpoint!, 'utf8'), 'best weights');
  assert.ok(after.bestCheckpoint!.startsWith(runFolder(dataDir, run.id)));
  assert.equal(runs.epochs(run.id).length, 2);
  const evals = runs.evaluations(run.id);
  assert.deepEqual(
    evals.map((e) => [e.protocol, e.auilc?.Acc_3]),
    [['RMFM', 0.45]],
  );
  assert.deepEqual(stored.evaluationIds, [evals[0].id]);
  const cmp = analysis.comparisons(run.id);
  assert.equal(cmp.length, 1);
  assert.equal(cmp[0].ood.plain.Acc_3, 0.4);
  assert.equal(stored.comparisonId, cmp[0].id);
  // reported again (a requeued task that finished after all): stored once
  assert.equal(importTrialFolder(db, folder), null);
  assert.equal(runs.evaluations(run.id).length, 1);
  assert.equal(analysis.comparisons(run.id).length, 1);
  assert.equal(runs.epochs(run.id).length, 2);
});

test('a bad or partial trial folder is refused with the file named; the store is as it was', () => {
  const run = newRun('ablation bad');
  const before = snapshot(run.id);
  const cases: [string, unknown, boolean, RegExp][] = [
    ['cut', '{"version": 1, "kind": "abl', true, /cut[/\\]outcome\.json: cannot read the trial's outcome/],
    [
      'not-an-outcome',
      { ...ablationOutcome(run.id, 2), status: 'done' },
      true,
      /not-an-outcome[/\\]outcome\.json: not a trial outcome \(status:/,
    ],
    [
      'no-comparison',
      { ...ablationOutcome(run.id, 2), records: { evaluations: ablationOutcome(run.id, 2).records.evaluations } },
      true,
      /no-comparison[/\\]outcome\.json: a completed ablation trial without its IID\/OOD comparison/,
    ],
    [
      'no-checkpoint',
      ablationOutcome(run.id, 2),
      false,
      /no-checkpoint[/\\]run: the trial says it completed but left no checkpoint/,
    ],
  ];
  for (const [name, outcome, checkpoints, message] of cases) {
    const folder = trialFolder(name, ablationSpec(run.id, 2), outcome, checkpoints);
    assert.throws(() => importTrialFolder(db, folder), message, name);
    assert.equal(snapshot(run.id), before, `${name}: nothing stored`);
    assert.ok(
      !fs.existsSync(path.join(runFolder(dataDir, run.id), 'best.safetensors')),
      `${name}: no checkpoint copied`,
    );
  }
  // a spec that is not one, named too
  const folder = path.join(dataDir, 'cluster', 'bad-spec');
  fs.mkdirSync(folder, { recursive: true });
  fs.writeFileSync(path.join(folder, 'spec.json'), JSON.stringify({ version: 1, kind: 'dance', jobId }));
  assert.throws(() => readTrialSpec(folder), /bad-spec[/\\]spec\.json: not a trial spec/);
  // no outcome yet: nothing to import, nothing stored
  const pending = trialFolder('pending', ablationSpec(run.id, 2), undefined);
  assert.equal(importTrialFolder(db, pending), null);
  assert.equal(snapshot(run.id), before);
});

test('a robustness trial stores its sweep once per job and never touches the run', () => {
  const run = newRun('swept');
  runs.finish(run.id, 'completed');
  const before = JSON.stringify(runs.get(run.id));
  const spec: TrialSpec = {
    version: 1,
    kind: 'robustness',
    jobId,
    trial: 1,
    runId: run.id,
    name: run.name,
    datasetFolder: dataDir,
    checkpointFile: path.join(run.folder, 'best.safetensors'),
    checkpoint: 'best',
    protocols: ['RMFM'],
    rates: [0, 1],
    seed: 7,
  };
  const outcome: TrialOutcome = {
    version: 1,
    kind: 'robustness',
    jobId,
    trial: 1,
    runId: run.id,
    status: 'completed',
    engine: 'tfjs-cpu',
    host: 'node-3',
    attempt: 1,
    epochs: [],
    bestEpoch: null,
    bestMetric: null,
    stopped: null,
    error: null,
    records: {
      sweep: {
        seed: 7,
        checkpoint: 'best',
        curves: [{ protocol: 'RMFM', rates: [0, 1], metrics: { Acc_3: [0.6, 0.3] }, auilc: { Acc_3: 0.45 } }],
        engine: 'tfjs-cpu',
        textNote: 'features',
      },
    },
    finishedAt: new Date().toISOString(),
  };
  const noSweep = trialFolder('sweep-missing', spec, { ...outcome, records: {} }, false);
  assert.throws(
    () => importTrialFolder(db, noSweep),
    /sweep-missing[/\\]outcome\.json: a completed robustness trial without its sweep/,
  );
  assert.equal(analysis.sweeps([run.id]).length, 0);
  const folder = trialFolder('sweep', spec, outcome, false);
  const stored = importTrialFolder(db, folder);
  assert.ok(stored?.sweepId);
  assert.equal(importTrialFolder(db, folder), null, 'stored once');
  const sweeps = analysis.sweeps([run.id]);
  assert.deepEqual(
    sweeps.map((s) => [s.id, s.jobId, s.seed, s.curves[0].auilc.Acc_3]),
    [[stored.sweepId, jobId, 7, 0.45]],
  );
  assert.equal(JSON.stringify(runs.get(run.id)), before, 'the swept run is left as it was');
});
