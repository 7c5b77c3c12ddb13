/**
 * Remembered UI state (app.uiState / app.saveUiState): kept in the settings table, so it survives
 * closing and reopening the app on the same data folder; keys and sizes are checked.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createApp } from '../../src/main/services/app';
import { tempDir } from '../helpers/tmp';

test('a view remembers its state across a restart; bad keys and oversized values are refused', async () => {
  const dataDir = tempDir();
  let app = createApp({ dataDir, mode: 'cli', seedDemo: false });
  try {
    assert.deepEqual(await app.dispatch('app.uiState', { key: 'training.form' }), { ok: true, value: null });
    const value = { form: { maxEpochs: 7, name: 'mine' } };
    assert.ok((await app.dispatch('app.saveUiState', { key: 'training.form', value })).ok);
    for (const key of ['../etc', 'Training form', '', 'a..b']) {
      const env = await app.dispatch('app.saveUiState', { key, value: 1 });
      assert.equal(env.ok, false, key);
    }
    const big = await app.dispatch('app.saveUiState', { key: 'big', value: 'x'.repeat(70_000) });
    assert.equal(big.ok, false);
    assert.match(big.ok ? '' : big.error.message, /64 kB/);
  } finally {
    await app.close();
  }
  app = createApp({ dataDir, mode: 'cli', seedDemo: false });
  try {
    assert.deepEqual(await app.dispatch('app.uiState', { key: 'training.form' }), {
      ok: true,
      value: { form: { maxEpochs: 7, name: 'mine' } },
    });
  } finally {
    await app.close();
  }
});
