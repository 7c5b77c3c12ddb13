import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SearchRecord } from '../../../src/shared/contract/search';
import {
  executorOf,
  initialSearch,
  searchFormErrors,
  searchReducer,
  selectedSearch,
} from '../../../src/renderer/src/state/search';

const rec = (id: number) => ({ id, name: `s${id}`, results: [] }) as unknown as SearchRecord;

test('search form and list: the newest started search is shown; a vanished selection falls back', () => {
  let s = searchReducer(initialSearch, { type: 'loaded', list: [rec(4), rec(2)] });
  assert.equal(selectedSearch(s)!.id, 4);
  s = searchReducer(s, { type: 'started', search: rec(7) });
  assert.deepEqual(
    s.list.map((x) => x.id),
    [7, 4, 2],
  );
  assert.equal(s.selectedId, 7);
  s = searchReducer(s, { type: 'loaded', list: [rec(2)] });
  assert.equal(s.selectedId, 2);
  assert.deepEqual(searchFormErrors(s.form), ['pick a dataset']);
  s = searchReducer(s, { type: 'set', patch: { datasetId: 1, trials: 0, batchSize: 1.5 } });
  assert.deepEqual(searchFormErrors(s.form), ['trials: 1 to 300', 'batchSize: a positive whole number']);
});

test('executor settings: local by default; SLURM and queue fields become the executor, checked first', () => {
  const base = initialSearch.form;
  assert.deepEqual(executorOf(base), { kind: 'local' });
  const slurm = { ...base, executor: 'slurm' as const, partition: ' gpu ', time: '02:00:00', mem: '8G', gpus: 1 };
  assert.deepEqual(executorOf(slurm), {
    kind: 'slurm',
    partition: 'gpu',
    time: '02:00:00',
    cpusPerTask: 2,
    mem: '8G',
    gpus: 1,
    sharedDir: undefined,
  });
  assert.deepEqual(searchFormErrors({ ...slurm, datasetId: 1 }), []);
  assert.deepEqual(searchFormErrors({ ...slurm, datasetId: 1, time: 'soon', mem: 'lots' }), [
    'time limit: HH:MM:SS or D-HH:MM:SS',
    'memory: e.g. 8G',
  ]);
  const queue = { ...base, datasetId: 1, executor: 'queue' as const, queueUrl: 'localhost:6379' };
  assert.deepEqual(searchFormErrors(queue), ['queue: redis://HOST:PORT']);
  assert.deepEqual(executorOf({ ...queue, queueUrl: 'redis://10.0.0.5:6379' }), {
    kind: 'queue',
    url: 'redis://10.0.0.5:6379',
  });
  // a preview belongs to the settings it was made from
  let s = searchReducer(initialSearch, { type: 'preview', script: '#!/bin/bash' });
  assert.equal(s.preview, '#!/bin/bash');
  s = searchReducer(s, { type: 'set', patch: { partition: 'other' } });
  assert.equal(s.preview, null);
});
