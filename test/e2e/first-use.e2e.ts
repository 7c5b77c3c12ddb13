/**
 * End to end in real Chromium against web mode: the places where a new user stumbled (issue 18).
 * 1. the New-run form keeps what the user set across tab switches and a reload;
 * 2. the missing-modality simulator combines a removed modality with another one's rate, says what
 *    it simulates, and the inspector shows the service's numbers for exactly that setting;
 * 3. the counterfactual editor of a run without a BERT model is disabled, with the reason in the
 *    editor; a failed row action shows its error in that row;
 * 4. "Evaluate on test" shows its busy row while the server has not even answered the click (the
 *    call is held by the test), then the job's progress, then the result.
 * Also screenshots the status bar, the Library jobs, the Robustness help and the heatmaps
 * (test-results/first-use-*.png). Every wait is on something the app shows; no fixed sleeps.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Route } from 'playwright-core';
import type { Explanation } from '../../src/shared/contract/analysis';
import type { Dataset } from '../../src/shared/contract/datasets';
import type { RunRecord } from '../../src/shared/contract/training';
import type { JobRecord } from '../../src/shared/types';
import { chromiumMissing, screenshot, waitForAttribute, type BrowserSession } from '../helpers/browser';
import { useWebAppInChromium } from '../helpers/e2e';
import { trainTinyRun, withApp } from '../helpers/testApp';
import { tempDir } from '../helpers/tmp';
import { registerSynthetic } from '../helpers/analysis';

const skip = chromiumMissing ?? false;
const dataDir = tempDir();
let first: Dataset;
let second: Dataset;
let run: RunRecord;
let otherRun: RunRecord;
const e2e = useWebAppInChromium({
  dataDir,
  skip,
  prepare: () =>
    withApp(dataDir, async (app) => {
      first = await registerSynthetic(app, {
        name: 'syn first',
        sizes: { train: 24, valid: 10, test: 12 },
        aligned: false,
        seed: 8,
      });
      second = await registerSynthetic(app, {
        name: 'syn no test',
        sizes: { train: 24, valid: 10, test: 0 },
        aligned: false,
        seed: 9,
      });
      run = await trainTinyRun(app, first.id, { batchSize: 12 }, 'features run');
      otherRun = await trainTinyRun(app, first.id, { batchSize: 12 }, 'features run 2');
    }),
});

test('a new user: form kept, simulator combined, editor explained, work shown as started', { skip }, async () => {
  const { page, errors } = await e2e.openApp();

  // ---- 1. the New-run form survives a tab switch and a reload ----
  await page.getByRole('tab', { name: 'Training' }).click();
  const dataset = page.getByLabel('Dataset', { exact: true });
  await dataset.locator('option', { hasText: 'syn no test' }).waitFor({ state: 'attached' });
  await dataset.selectOption(String(second.id));
  await page.getByLabel('Epochs', { exact: true }).fill('7');
  await page.getByLabel('Batch size', { exact: true }).fill('16');
  await page.getByLabel('Run name', { exact: true }).fill('my careful run');
  // item 8: a dataset without test samples says so before training
  await page.getByTestId('dataset-warning').filter({ hasText: '0 test samples' }).waitFor();
  await screenshot(page, 'first-use-training-form');
  const expectForm = async (when: string) => {
    assert.equal(await dataset.inputValue(), String(second.id), `dataset ${when}`);
    assert.equal(await page.getByLabel('Epochs', { exact: true }).inputValue(), '7', `epochs ${when}`);
    assert.equal(await page.getByLabel('Batch size', { exact: true }).inputValue(), '16', `batch ${when}`);
    assert.equal(await page.getByLabel('Run name', { exact: true }).inputValue(), 'my careful run', `name ${when}`);
  };
  await page.getByRole('tab', { name: 'Runs' }).click();
  await page.getByTestId('runs-table').waitFor();
  await page.getByRole('tab', { name: 'Training' }).click();
  await expectForm('after a tab switch');
  // the form is remembered in the app's settings: wait until it is saved, then reload
  await waitForSaved(page, 'my careful run');
  await page.reload();
  await page.getByRole('tab', { name: 'Training' }).click();
  await page.getByLabel('Run name', { exact: true }).and(page.locator('[value="my careful run"]')).waitFor();
  await expectForm('after a reload');

  // ---- 4. Evaluate on test: busy from the click, before the server answers ----
  await page.getByRole('tab', { name: 'Runs' }).click();
  const row = page.locator(`[data-testid="run-row"][data-run-id="${run.id}"]`);
  await row.waitFor();
  let held: Route | undefined;
  let releaseSeen!: () => void;
  const requested = new Promise<void>((r) => (releaseSeen = r));
  await page.route('**/api/call/runs.evaluate', (route) => {
    held = route;
    releaseSeen();
  });
  await row.getByRole('button', { name: 'Evaluate on test' }).click();
  await requested;
  // the server has not seen the call yet, so no job exists: what shows is the click's own state
  await row.locator('[data-testid="row-busy"][data-action="evaluate"]').waitFor();
  assert.match(await row.getByTestId('row-busy').innerText(), /evaluating on test/);
  assert.equal((await e2e.web.call<JobRecord[]>('jobs.list', {})).filter((j) => j.kind === 'evaluate').length, 0);
  await screenshot(page, 'first-use-evaluate-started');
  await held!.continue();
  await page.unroute('**/api/call/runs.evaluate');
  // then the job (its number shows once the call answers) and the result
  await row.getByTestId('row-busy').waitFor({ state: 'detached', timeout: 120_000 });
  const evaluations = await e2e.web.call<{ protocol: string }[]>('runs.evaluations', { id: run.id });
  assert.equal(evaluations.filter((e) => e.protocol === 'complete').length, 1);
  await row
    .getByTestId('test-metric')
    .filter({ hasText: new RegExp(`^${run.selectionMetric} \\d\\.\\d{4}$`) })
    .waitFor();

  // a failed row action shows its error in that row
  await page.route('**/api/call/runs.evaluate', (route) =>
    route.fulfill({
      contentType: 'application/json',
      body: JSON.stringify({ ok: false, error: { code: 'CONFLICT', message: 'refused for the test' } }),
    }),
  );
  await row.getByRole('button', { name: 'Evaluate on test' }).click();
  await row.getByTestId('row-error').filter({ hasText: 'refused for the test' }).waitFor();
  await page.unroute('**/api/call/runs.evaluate');

  // ---- 2. the simulator: vision removed AND audio at rate 0.3 ----
  await page.getByRole('tab', { name: 'Analysis' }).click();
  await page.getByLabel('Run', { exact: true }).selectOption(String(run.id));
  await page.getByTestId('inspector').waitFor({ timeout: 60_000 });
  await page.getByLabel('vision present').uncheck();
  await page.getByRole('slider', { name: 'audio missing rate' }).fill('0.3');
  assert.equal(await page.getByLabel('vision present').isChecked(), false, 'vision stays removed');
  assert.equal(await page.getByTestId('audio-rate').innerText(), 'rate 0.3');
  assert.equal(await page.getByTestId('vision-rate').innerText(), 'removed');
  const summary = await page.getByTestId('simulator-summary').innerText();
  assert.match(summary, /vision removed/);
  assert.match(summary, /audio missing at rate 0\.3/);
  assert.match(summary, /text complete/);
  const combined = await e2e.web.call<Explanation>('analysis.explain', {
    runId: run.id,
    target: { kind: 'sample', split: 'test', index: 0 },
    missing: { mode: 'rates', text: 0, audio: 0.3, vision: 1, seed: 1111 },
  });
  await waitForAttribute(
    page,
    'probabilities',
    'data-values',
    combined.probabilities.map((v) => v.toFixed(4)).join(','),
  );
  // re-ticking vision keeps the audio rate
  await page.getByLabel('vision present').check();
  assert.equal(await page.getByTestId('audio-rate').innerText(), 'rate 0.3');
  assert.equal(await page.getByRole('slider', { name: 'audio missing rate' }).inputValue(), '0.3');

  // ---- 3. the counterfactual editor of a features-mode run: off, and says why, in the editor ----
  const editor = page.getByTestId('counterfactual');
  await editor.getByTestId('cf-blocked').waitFor();
  assert.match(await editor.getByTestId('cf-blocked').innerText(), /Editing is off for this run: .*BERT/);
  await editor.getByTestId('cf-scored').locator('.token').nth(1).click();
  for (const name of ['Mask', 'Delete', 'Replace'])
    assert.equal(await editor.getByRole('button', { name, exact: true }).isDisabled(), true, name);
  assert.equal(await editor.getByLabel('Replacement word').isDisabled(), true);
  await page.getByTestId('attention-words').scrollIntoViewIfNeeded();
  await screenshot(page, 'first-use-analysis');
  // item 10: the heatmaps have a legend and a value on every cell
  await page.getByTestId('attention-segments-legend').waitFor();
  assert.match(
    (await page.getByTestId('attention-segments').locator('rect title').first().textContent()) ?? '',
    /text, key 0: \d/,
  );

  // ---- 7. robustness: aligned-only protocols off for unaligned data; runs without a sweep named ----
  await page.getByRole('tab', { name: 'Robustness' }).click();
  // the protocol choices are settled once the datasets are loaded (they wait for them)
  await page.locator('.protocols[aria-busy="false"]').waitFor();
  for (const p of ['TMFM', 'STMFM']) {
    const box = page.getByLabel(p, { exact: true });
    assert.equal(await box.isChecked(), false, `${p} not ticked`);
    assert.equal(await box.isDisabled(), true, `${p} disabled`);
  }
  assert.equal(await page.getByLabel('RMFM', { exact: true }).isChecked(), true);
  await page.getByText('What the protocols keep and drop').click();
  await page.getByTestId('protocol-help').getByText('keeps text complete; audio and vision frames dropped').waitFor();
  for (const p of ['RMM', 'SMM:T', 'SMM:AV']) await page.getByLabel(p, { exact: true }).uncheck();
  await page.getByRole('button', { name: 'Run sweep 0:1:0.1' }).click();
  await page.locator('[data-testid="job-analysis.robustness"][data-status="succeeded"]').waitFor({ timeout: 120_000 });
  await page.getByLabel(`overlay run ${otherRun.id}`).check();
  await page
    .getByTestId('overlay-no-sweep')
    .filter({ hasText: `run ${otherRun.id}` })
    .waitFor();
  await screenshot(page, 'first-use-robustness');

  // ---- 9. the status bar's reason opens; the Library lists every job ----
  await page.getByTestId('backend-reason').click();
  assert.equal(await page.getByTestId('backend-reason').getAttribute('aria-expanded'), 'true');
  await page.getByRole('tab', { name: 'Library' }).click();
  const jobs = page.getByTestId('job-list');
  await jobs.getByRole('cell', { name: 'evaluate', exact: true }).first().waitFor();
  await jobs.getByRole('cell', { name: 'analysis.robustness', exact: true }).first().waitFor();
  await screenshot(page, 'first-use-library');
  assert.deepEqual(errors, []);
});

/** wait until the app has stored the form with this run name (it saves shortly after the last change) */
async function waitForSaved(page: BrowserSession['page'], name: string) {
  for (let i = 0; i < 200; i++) {
    const saved =
      (await e2e.web.call<{ form?: { name?: string } } | null>('app.uiState', { key: 'training.form' })) ?? {};
    if (saved.form?.name === name) return;
    await page
      .waitForResponse((r) => r.url().includes('/api/call/app.saveUiState'), { timeout: 5_000 })
      .catch(() => undefined);
  }
  throw new Error('the New-run form was never saved');
}
