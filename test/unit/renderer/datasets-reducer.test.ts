import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  datasetsReducer,
  datasetTree,
  initialDatasets,
  liveliestChannels,
  parsePaths,
  proportions,
  versionsOf,
  type DatasetsState,
} from '../../../src/renderer/src/state/datasets';
import type { BiasWordList, Dataset, SamplePage } from '../../../src/shared/contract/datasets';
import type { JobRecord } from '../../../src/shared/types';

const split = (count: number, three: number[]) => ({ count, labels: { three, seven: [0, 0, 0, count, 0, 0, 0] } });
const ds = (id: number, name: string, parentId: number | null = null): Dataset => ({
  id,
  name,
  kind: parentId === null ? 'iid' : 'ood',
  parentId,
  format: parentId === null ? 'mmsa-pickle' : 'ood-split',
  sourceFiles: [],
  folder: `d${id}`,
  aligned: true,
  dims: { L: 50, Ta: 50, da: 5, Tv: 50, dv: 20, dl: 768 },
  splits: { train: split(10, [4, 1, 5]), valid: split(2, [1, 0, 1]), test: split(4, [2, 0, 2]) },
  ood: null,
  extras: [],
  warnings: [],
  createdAt: '',
});
const job = (id: number, status: JobRecord['status'], result: Dataset | null = null): JobRecord => ({
  id,
  kind: 'dataset.import',
  status,
  projectId: null,
  params: { files: ['/x/a.pkl'], name: 'a', format: 'mmsa', extras: [] },
  progress: { fraction: null, message: '' },
  result,
  error: null,
  createdAt: '',
  startedAt: null,
  finishedAt: status === 'succeeded' || status === 'failed' ? 'x' : null,
});
const selfTestJob: JobRecord = {
  id: 0,
  kind: 'backend.selftest',
  status: 'running',
  projectId: null,
  params: { size: 8, iterations: 1 },
  progress: { fraction: null, message: '' },
  result: null,
  error: null,
  createdAt: '',
  startedAt: null,
  finishedAt: null,
};
const loaded = (...list: Dataset[]): DatasetsState => datasetsReducer(initialDatasets, { type: 'loaded', list });

test('loading selects the first dataset and keeps a selection that still exists', () => {
  let s = loaded(ds(1, 'MOSI'), ds(2, 'MOSEI'));
  assert.equal(s.selectedId, 1);
  assert.equal(s.loading, false);
  s = datasetsReducer(s, { type: 'select', id: 2 });
  s = datasetsReducer(s, { type: 'loaded', list: [ds(1, 'MOSI'), ds(2, 'MOSEI')] });
  assert.equal(s.selectedId, 2);
  s = datasetsReducer(s, { type: 'loaded', list: [ds(1, 'MOSI')] });
  assert.equal(s.selectedId, 1);
  assert.equal(datasetsReducer(initialDatasets, { type: 'loaded', list: [] }).selectedId, null);
});

test('a new selection drops what was loaded for the previous one', () => {
  let s = loaded(ds(1, 'MOSI'), ds(2, 'MOSEI'));
  const words: BiasWordList = { datasetId: 1, task: 3, k: 20, wordSource: 'none', words: [] };
  s = datasetsReducer(s, { type: 'biasLoaded', list: words });
  s = datasetsReducer(s, { type: 'openSample', index: 3 });
  assert.equal(s.bias.list, words);
  s = datasetsReducer(s, { type: 'select', id: 2 });
  assert.equal(s.bias.list, null);
  assert.equal(s.browser.index, null);
  // a late answer for dataset 1 is ignored
  assert.equal(datasetsReducer(s, { type: 'biasLoaded', list: words }).bias.list, null);
});

test('bias words: changing task or K clears the list; answers for another task are dropped', () => {
  let s = loaded(ds(1, 'MOSI'));
  s = datasetsReducer(s, { type: 'biasTask', task: 7 });
  assert.equal(s.bias.task, 7);
  assert.equal(
    datasetsReducer(s, { type: 'biasLoaded', list: { datasetId: 1, task: 3, k: 20, wordSource: 'none', words: [] } })
      .bias.list,
    null,
  );
  s = datasetsReducer(s, { type: 'biasLoaded', list: { datasetId: 1, task: 7, k: 20, wordSource: 'none', words: [] } });
  assert.ok(s.bias.list);
  s = datasetsReducer(s, { type: 'biasK', k: 5 });
  assert.equal(s.bias.list, null);
  s = datasetsReducer(s, { type: 'biasFailed', message: 'no token ids' });
  assert.equal(s.bias.error, 'no token ids');
});

test('sample browser: split and page changes, stale pages dropped', () => {
  let s = loaded(ds(1, 'MOSI'));
  const page = (split: 'train' | 'valid', offset: number): SamplePage => ({ split, offset, total: 40, samples: [] });
  s = datasetsReducer(s, { type: 'browsePage', offset: 20 });
  assert.equal(datasetsReducer(s, { type: 'pageLoaded', page: page('train', 0) }).browser.page, null);
  s = datasetsReducer(s, { type: 'pageLoaded', page: page('train', 20) });
  assert.equal(s.browser.page?.offset, 20);
  s = datasetsReducer(s, { type: 'browseSplit', split: 'valid' });
  assert.deepEqual([s.browser.split, s.browser.offset, s.browser.page], ['valid', 0, null]);
  assert.equal(datasetsReducer(s, { type: 'browsePage', offset: -20 }).browser.offset, 0);
});

test('dataset jobs are tracked from events; a finished import opens its dataset once', () => {
  let s = loaded(ds(1, 'MOSI'));
  s = datasetsReducer(s, { type: 'jobStarted', job: job(5, 'queued') });
  s = datasetsReducer(s, { type: 'event', event: { type: 'job.updated', job: job(5, 'running') } });
  assert.deepEqual(
    s.jobs.map((j) => j.status),
    ['running'],
  );
  // other kinds are not dataset jobs
  assert.equal(
    datasetsReducer(s, {
      type: 'event',
      event: { type: 'job.updated', job: { ...selfTestJob, id: 6 } },
    }),
    s,
  );
  const made = ds(2, 'MOSI OOD', 1);
  s = datasetsReducer(s, { type: 'event', event: { type: 'job.updated', job: job(5, 'succeeded', made) } });
  assert.equal(s.selectedId, 2);
  assert.deepEqual(
    s.list.map((d) => d.id),
    [1, 2],
  );
  s = datasetsReducer(s, { type: 'select', id: 1 });
  // the same event again (a reconnect) does not steal the selection, and a late 'running' does not undo 'succeeded'
  s = datasetsReducer(s, { type: 'event', event: { type: 'job.updated', job: job(5, 'succeeded', made) } });
  assert.equal(s.selectedId, 1);
  s = datasetsReducer(s, { type: 'event', event: { type: 'job.updated', job: job(5, 'running') } });
  assert.equal(s.jobs[0].status, 'succeeded');
});

test('removing the selected dataset selects another', () => {
  let s = loaded(ds(1, 'A'), ds(2, 'B'));
  s = datasetsReducer(s, { type: 'removed', id: 1 });
  assert.deepEqual([s.list.map((d) => d.id), s.selectedId], [[2], 2]);
});

test('versions of the same data: the IID dataset first, then its OOD versions; the sidebar tree', () => {
  const list = [ds(1, 'MOSI'), ds(2, 'MOSEI'), ds(3, 'MOSI OOD 1', 1), ds(4, 'MOSI OOD 2', 1), ds(5, 'orphan OOD', 99)];
  assert.deepEqual(
    versionsOf(list, list[0]).map((d) => d.id),
    [1, 3, 4],
  );
  assert.deepEqual(
    versionsOf(list, list[3]).map((d) => d.id),
    [1, 3, 4],
  );
  assert.deepEqual(
    versionsOf(list, list[1]).map((d) => d.id),
    [2],
  );
  assert.deepEqual(
    versionsOf(list, list[4]).map((d) => d.id),
    [5],
  );
  assert.deepEqual(
    datasetTree(list).map((t) => `${t.depth}:${t.dataset.id}`),
    ['0:1', '1:3', '1:4', '0:2', '0:5'],
  );
});

test('helpers: proportions, one path per line, the liveliest channels', () => {
  assert.deepEqual(proportions([1, 0, 3]), [0.25, 0, 0.75]);
  assert.deepEqual(proportions([0, 0]), [0, 0]);
  assert.deepEqual(parsePaths(' /a/b,c.pkl \n\n/d.csd\r\n'), ['/a/b,c.pkl', '/d.csd']);
  assert.deepEqual(
    liveliestChannels(
      [
        [1, 1],
        [0, 5],
        [2, 3],
        [0, 9],
      ],
      2,
    ),
    [1, 3],
  );
});
