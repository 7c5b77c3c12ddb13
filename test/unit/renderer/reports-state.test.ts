/** The Reports view's reducer and request building, without a browser. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  exportRequest,
  initialReports,
  parsePinned,
  reportRequest,
  reportsReducer,
  type ReportsAction,
  type ReportsState,
} from '../../../src/renderer/src/state/reports';
import type { RunRecord } from '../../../src/shared/contract/training';

const run = (id: number, epochsDone: number) => ({ id, name: `r${id}`, status: 'completed', epochsDone }) as RunRecord;
const apply = (s: ReportsState, ...as: ReportsAction[]) => as.reduce(reportsReducer, s);

test('the first load selects the newest run with an epoch; choices build the requests', () => {
  let s = apply(initialReports, {
    type: 'loaded',
    runs: [run(3, 0), run(2, 4), run(1, 2)],
  });
  assert.deepEqual(s.selected, [2]);
  s = apply(
    s,
    { type: 'toggleRun', id: 1 },
    { type: 'toggleSection', section: 'predictions' },
    { type: 'set', field: 'pinned', value: 'clip:4, test:7' },
  );
  const r = reportRequest(s);
  assert.ok(r.ok);
  assert.deepEqual(r.runIds, [1, 2]);
  assert.ok(!r.sections.includes('predictions'));
  assert.deepEqual(r.pinned, [{ clipId: 4 }, { split: 'test', index: 7 }]);
  assert.deepEqual(exportRequest(s), {
    ok: false,
    error: 'type the folder to save into',
  });
  s = apply(
    s,
    { type: 'set', field: 'folder', value: ' /tmp/out ' },
    { type: 'toggleFormat', format: 'csv' },
    { type: 'toggleFormat', format: 'pdf' },
  );
  const e = exportRequest(s);
  assert.ok(e.ok);
  assert.deepEqual(e.formats, ['html', 'csv']);
  assert.equal(e.folder, '/tmp/out');
  s = apply(s, { type: 'loaded', runs: [run(2, 4)] });
  assert.deepEqual(s.selected, [2], 'a removed run is unselected');
});

test('bad pins and empty choices say what is missing; busy/previewed/exported/error', () => {
  assert.deepEqual(parsePinned('clip:x'), {
    error: '"clip:x" is not clip:ID or train|valid|test:INDEX',
  });
  assert.deepEqual(reportRequest(initialReports), {
    ok: false,
    error: 'choose a run (or several to compare)',
  });
  let s = apply(initialReports, { type: 'toggleRun', id: 1 }, { type: 'busy', what: 'preview' });
  assert.equal(s.busy, 'preview');
  s = apply(s, { type: 'previewed', html: '<html>', tables: 3 });
  assert.deepEqual([s.busy, s.preview], [null, { html: '<html>', tables: 3 }]);
  s = apply(s, { type: 'toggleSection', section: 'config' });
  assert.equal(s.preview, null, 'a changed choice drops the stale preview');
  s = apply(s, { type: 'busy', what: 'export' }, { type: 'error', message: 'no' });
  assert.deepEqual([s.busy, s.error], [null, 'no']);
});
