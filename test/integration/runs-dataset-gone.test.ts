/** A run whose dataset was removed (with force) says so on evaluate/resume, instead of a worker's bare ENOENT. */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { trainingOptionsSchema } from '../../src/shared/contract/training';
import { createApp } from '../../src/main/services/app';
import { RunStore } from '../../src/main/store/runs';
import { tempDir } from '../helpers/tmp';

test('evaluate and resume of a run whose dataset is gone are refused naming the run and the folder', async () => {
  const dir = tempDir();
  const app = createApp({ dataDir: dir, mode: 'cli' });
  try {
    const gone = path.join(dir, 'datasets', 'd9-removed');
    const runs = new RunStore(app.db);
    const run = runs.create({
      projectId: null,
      datasetId: null,
      datasetFolder: gone,
      name: 'orphan',
      options: trainingOptionsSchema.parse({}),
      selectionMetric: 'Non0_acc_2',
      folderOf: (id) => path.join(dir, 'runs', `r${id}`),
    });
    app.db.prepare('UPDATE runs SET epochs_done = 1 WHERE id = ?').run(run.id);
    runs.finish(run.id, 'stopped', {
      code: 'DATASET_REMOVED',
      message: 'its dataset "MOSI" (id 9) was removed on 2026-12-07',
    });
    const message = `run ${run.id}'s dataset is gone (${gone}): its dataset "MOSI" (id 9) was removed`;
    for (const [method, args] of [
      ['runs.evaluate', { id: run.id, options: { protocols: ['complete'] } }],
      ['runs.resume', { id: run.id }],
    ] as const) {
      const env = await app.dispatch(method, args);
      assert.ok(!env.ok, method);
      assert.equal(env.error.code, 'NOT_FOUND', `${method}: ${env.error.message}`);
      assert.ok(env.error.message.startsWith(message), env.error.message);
    }
    assert.deepEqual(app.jobs.list({}), [], 'no job was started');
  } finally {
    await app.close();
  }
});
