/**
 * Removing a dataset that runs use: refused, naming the runs, unless forced; forcing marks those
 * runs; a run still training on it is never forced. Real SQLite file and folders.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { trainingOptionsSchema } from '../../../src/shared/contract/training';
import { AppError } from '../../../src/shared/errors';
import { openDatabase } from '../../../src/main/store/db';
import { DatasetStore } from '../../../src/main/store/datasets';
import { RunStore } from '../../../src/main/store/runs';
import { tempDir } from '../../helpers/tmp';

test('a dataset used by runs is removed only with force, which marks the runs; never while one trains', () => {
  const dir = tempDir();
  const db = openDatabase(join(dir, 'cider.sqlite'));
  const root = join(dir, 'datasets');
  fs.mkdirSync(join(root, 'd1-mosi'), { recursive: true });
  fs.writeFileSync(join(root, 'd1-mosi', 'manifest.json'), '{}');
  db.prepare(
    `INSERT INTO datasets (name, kind, format, folder, aligned, dims_json, train_count, valid_count, test_count, label_counts_json, created_at)
     VALUES ('MOSI', 'iid', 'mmsa-pickle', 'd1-mosi', 0, '{}', 1, 1, 1, '{}', '2026-01-01')`,
  ).run();
  const datasets = new DatasetStore(db, root);
  const runs = new RunStore(db);
  const [d] = datasets.list();
  const run = runs.create({
    projectId: null,
    datasetId: d.id,
    datasetFolder: datasets.dir(d),
    name: 'baseline',
    options: trainingOptionsSchema.parse({}),
    selectionMetric: 'Non0_acc_2',
    folderOf: (id) => join(dir, 'runs', `r${id}`),
  });
  const refused = (force: boolean, re: RegExp) =>
    assert.throws(
      () => datasets.remove(d.id, { force }),
      (e: unknown) => e instanceof AppError && e.code === 'CONFLICT' && re.test(e.message),
    );

  // queued (training): refused even with force
  refused(true, new RegExp(`being used by training run\\(s\\) ${run.id} "baseline"; stop them first`));
  runs.finish(run.id, 'completed');
  // finished: refused without force, naming the run
  refused(false, new RegExp(`used by run\\(s\\) ${run.id} "baseline"`));
  assert.ok(fs.existsSync(join(root, 'd1-mosi', 'manifest.json')), 'nothing removed by a refusal');
  assert.equal(datasets.list().length, 1);

  assert.deepEqual(datasets.remove(d.id, { force: true }), { markedRuns: [run.id] });
  assert.equal(datasets.list().length, 0);
  assert.ok(!fs.existsSync(join(root, 'd1-mosi')));
  const marked = runs.get(run.id);
  assert.equal(marked.datasetId, null);
  assert.equal(marked.error?.code, 'DATASET_REMOVED');
  assert.match(marked.error!.message, /its dataset "MOSI" \(id \d+\) was removed on \d{4}-\d\d-\d\d/);
  db.close();
});
