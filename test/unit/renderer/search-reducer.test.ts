import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SearchRecord } from '../../../src/shared/contract/search';
import { initialSearch, searchFormErrors, searchReducer, selectedSearch } from '../../../src/renderer/src/state/search';

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
