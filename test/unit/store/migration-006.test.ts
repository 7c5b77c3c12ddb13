import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { migrate, openDatabase } from '../../../src/main/store/db';
import { MIGRATIONS } from '../../../src/main/store/migrations';
import { AnalysisStore } from '../../../src/main/store/analysis';
import { tempDir } from '../../helpers/tmp';

const N = MIGRATIONS.findIndex((m) => m.name.startsWith('analysis:')) + 1;

test('the analysis migration adds text edits, robustness sweeps and OOD comparisons, keeping runs; they go with their run', () => {
  assert.ok(N > 4, 'after the runs and clips migrations');
  assert.equal(MIGRATIONS[N - 1].version, N, 'versions are contiguous');
  const file = join(tempDir(), 'm.sqlite');
  const db = openDatabase(file, { targetVersion: N - 1 });
  db.prepare("INSERT INTO projects (name, created_at, updated_at) VALUES ('p', 'now', 'now')").run();
  db.prepare(
    "INSERT INTO runs (project_id, dataset_folder, config_json, status, folder, selection_metric, created_at) VALUES (1, 'd', '{}', 'completed', 'r1', 'Non0_acc_2', 'now')",
  ).run();

  migrate(db, file, MIGRATIONS, N);
  assert.equal(db.pragma('user_version', { simple: true }), N);
  const tables = (
    db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as {
      name: string;
    }[]
  ).map((r) => r.name);
  for (const t of ['text_edits', 'robustness_sweeps', 'ood_comparisons']) assert.ok(tables.includes(t), t);
  assert.equal((db.prepare('SELECT count(*) AS n FROM runs').get() as { n: number }).n, 1, 'runs kept');

  const store = new AnalysisStore(db);
  const prediction = {
    counterfactual: [0.2, 0.3, 0.5],
    factual: [0.1, 0.1, 0.8],
    debiased: [{ tau: 0, probabilities: [0.1, 0.1, 0.8], prediction: 2 }],
  };
  const e = store.saveEdit({
    runId: 1,
    target: { kind: 'sample', split: 'test', index: 4 },
    name: 'mine',
    tokenIds: [101, 103, 102],
    missing: { mode: 'complete' },
    prediction,
  });
  assert.deepEqual(e.target, {
    kind: 'sample',
    datasetId: undefined,
    split: 'test',
    index: 4,
  });
  const updated = store.saveEdit({
    id: e.id,
    runId: 1,
    target: e.target,
    name: 'mine',
    tokenIds: [101, 104, 102],
    missing: { mode: 'complete' },
    prediction: { ...prediction, counterfactual: [0.6, 0.3, 0.1] },
  });
  assert.deepEqual(updated.counterfactual, [0.6, 0.3, 0.1]);
  assert.deepEqual(
    store.edits({ target: { kind: 'sample', split: 'test', index: 4 } }).map((x) => x.tokenIds),
    [[101, 104, 102]],
  );
  // a sample edit must name its split and index, a clip edit its clip
  assert.throws(
    () =>
      db
        .prepare(
          "INSERT INTO text_edits (run_id, target_kind, name, token_ids_json, missing_json, prediction_json, created_at, updated_at) VALUES (1, 'sample', 'x', '[]', '{}', '{}', 'now', 'now')",
        )
        .run(),
    /CHECK/,
  );
  store.addSweep({
    runId: 1,
    jobId: null,
    seed: 1111,
    checkpoint: 'best',
    curves: [
      {
        protocol: 'RMFM',
        rates: [0, 1],
        metrics: { Acc_3: [0.5, NaN] },
        auilc: { Acc_3: null },
      },
    ],
    engine: 'tfjs-wasm',
    textNote: '',
  });
  assert.deepEqual(store.sweeps([1])[0].curves[0].metrics.Acc_3, [0.5, null], 'NaN stored as null');
  db.prepare('DELETE FROM runs WHERE id = 1').run();
  for (const t of ['text_edits', 'robustness_sweeps'])
    assert.equal((db.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n, 0, t);
  assert.deepEqual(db.pragma('foreign_key_check'), []);
  db.close();
});
