/**
 * A report with one bad pinned item among good ones (issue 18, item 6): the good pins keep their
 * rows, the bad ones are each named as the user knows them (the split and index of a sample, the
 * clip's number) with the service's reason and no internal method name; probabilities print
 * rounded. Real services on a temp data folder, a tiny trained run.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { ReportModel } from '../../src/shared/contract/reports';
import type { RunRecord } from '../../src/shared/contract/training';
import type { JobRecord } from '../../src/shared/types';
import { createApp, type AppServices } from '../../src/main/services/app';
import { renderHtml } from '../../src/main/reports/html';
import { reportTables } from '../../src/main/reports/tables';
import { registerSynthetic } from '../helpers/analysis';
import { TINY_MODEL } from '../helpers/syntheticRuns';
import { tempDir } from '../helpers/tmp';

const dataDir = tempDir();
let app: AppServices;
let run: RunRecord;

before(async () => {
  app = createApp({ dataDir, mode: 'cli', seedDemo: false });
  const ds = await registerSynthetic(app, {
    name: 'pins',
    sizes: { train: 24, valid: 10, test: 12 },
    aligned: false,
    seed: 8,
  });
  const env = await app.dispatch('runs.start', {
    datasetId: ds.id,
    options: { maxEpochs: 1, batchSize: 12, model: TINY_MODEL },
  });
  assert.ok(env.ok, JSON.stringify(env));
  const started = env.value as { run: RunRecord; job: JobRecord };
  assert.equal((await app.runner.wait(started.job.id)).status, 'succeeded');
  run = started.run;
});
after(async () => {
  await app?.close();
});

test('one bad pin is left out by name; the good ones keep their rows; probabilities rounded', async () => {
  const env = await app.dispatch('reports.model', {
    runIds: [run.id],
    sections: ['explanations'],
    pinned: [{ split: 'test', index: 0 }, { split: 'test', index: 999 }, { clipId: 4242 }, { split: 'test', index: 2 }],
  });
  assert.ok(env.ok, JSON.stringify(env));
  const model = env.value as ReportModel;
  const x = model.runs[0].explanations;
  assert.ok(x.available);
  const contributions = x.data.contributions;
  assert.ok(contributions.available, JSON.stringify(contributions));
  assert.deepEqual(
    contributions.data.map((r) => r.item.split(':')[0]),
    ['test sample 0', 'test sample 2'],
  );
  const leftOut = contributions.leftOut ?? [];
  assert.deepEqual(
    leftOut.map((l) => l.item),
    ['test sample 999', 'clip #4242'],
  );
  for (const l of leftOut) {
    assert.ok(l.reason.length > 0);
    assert.doesNotMatch(l.reason, /analysis\.\w+:/, 'no internal method name');
  }

  const table = reportTables(model).find((t) => t.id === `run${run.id}.contributions`)!;
  for (const row of table.rows) assert.match(String(row[2]), /^\d\.\d{4}( \d\.\d{4}){2}$/, 'rounded probabilities');
  const html = renderHtml(model);
  assert.match(html, /Left out of this table/);
  assert.match(html, /<b>test sample 999<\/b>/);
  assert.match(html, /<b>clip #4242<\/b>/);
});
