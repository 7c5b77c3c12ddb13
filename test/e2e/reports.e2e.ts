/**
 * End to end in real Chromium against web mode: a tiny trained and evaluated run; the Reports tab
 * previews its HTML report in the sandboxed iframe (charts and tables inside), saves every format
 * into a folder, and shows the app's refusal of a file name that would leave that folder.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { RunRecord } from '../../src/shared/contract/training';
import type { JobRecord } from '../../src/shared/types';
import { chromiumMissing, screenshot } from '../helpers/browser';
import { TINY_MODEL, writeSyntheticStore } from '../helpers/syntheticRuns';
import { useWebAppInChromium } from '../helpers/e2e';
import { callApp, withApp } from '../helpers/testApp';
import { tempDir } from '../helpers/tmp';

const skip = chromiumMissing ?? false;
const dataDir = tempDir('cider-reports-e2e-');
const datasetRoot = tempDir('cider-reports-e2e-ds-');
const outDir = tempDir('cider-reports-e2e-out-');
let runId: number;
const e2e = useWebAppInChromium({
  dataDir,
  skip,
  // CIDER_STATIC_DIR: a renderer built elsewhere (a shared tree's out/ may hold another build)
  args: () => (process.env.CIDER_STATIC_DIR ? ['--static-dir', process.env.CIDER_STATIC_DIR] : []),
  // train and evaluate in-process on the same data folder, then serve it
  prepare: async () => {
    const { dir } = await writeSyntheticStore(path.join(datasetRoot, 'ds'), {
      sizes: { train: 24, valid: 12, test: 12 },
    });
    await withApp(dataDir, async (app) => {
      const s = await callApp<{ run: RunRecord; job: JobRecord }>(app, 'runs.start', {
        datasetFolder: dir,
        options: { batchSize: 12, maxEpochs: 2, model: TINY_MODEL },
      });
      assert.equal((await app.runner.wait(s.job.id)).status, 'succeeded');
      const ev = await callApp<JobRecord>(app, 'runs.evaluate', {
        id: s.run.id,
        options: { protocols: ['complete', 'RMFM'], rates: [0, 0.5, 1] },
      });
      assert.equal((await app.runner.wait(ev.id)).status, 'succeeded');
      runId = s.run.id;
    });
  },
});

test(
  'Reports tab: preview in the iframe, save every format, refuse a name outside the folder',
  { skip, timeout: 300_000 },
  async () => {
    const { page, errors } = await e2e.openApp({ console: false });
    await page.getByRole('tab', { name: 'Reports' }).click();
    const runBox = page.getByRole('checkbox', {
      name: new RegExp(`^${runId}: `),
    });
    await runBox.waitFor({ timeout: 60_000 });
    assert.ok(await runBox.isChecked(), 'the newest trained run is chosen');

    await page.getByRole('button', { name: 'Preview' }).click();
    const frame = page.frameLocator('iframe[title="Report preview"]');
    await frame.locator('svg.chart').first().waitFor({ timeout: 60_000 });
    const charts = await frame.locator('svg.chart').count();
    assert.ok(charts >= 4, `${charts} charts in the preview`);
    assert.ok((await frame.locator('svg.chart circle[data-y]').count()) > 10, 'line charts carry their points');
    assert.ok((await frame.locator(`table[data-table="run${runId}.metrics-complete"] tbody tr`).count()) > 3);
    assert.ok((await frame.locator(`table[data-table="run${runId}.robustness-rmfm"] tbody tr`).count()) === 4);
    await frame.getByText(/Not available: MACI \(debiased inference\) needs a BERT model/).waitFor();
    assert.equal(
      await page.locator('iframe[title="Report preview"]').getAttribute('sandbox'),
      '',
      'sandboxed: no script, own origin',
    );

    // save all four formats
    for (const f of ['CSV', 'JSON']) await page.getByRole('checkbox', { name: f, exact: true }).check();
    await page.getByLabel('Folder').fill(outDir);
    await page.getByLabel('File name (optional)').fill('appendix');
    await page.getByRole('button', { name: 'Save' }).click();
    const result = page.getByTestId('report-result');
    await result.waitFor({ timeout: 120_000 });
    assert.match((await result.textContent())!, /PDF by chromium/);
    for (const f of [
      'appendix.html',
      'appendix.pdf',
      'appendix.json',
      `appendix.run${runId}.epochs.csv`,
      `appendix.run${runId}.metrics-complete.json`,
    ])
      assert.ok(fs.existsSync(path.join(outDir, f)), f);
    await screenshot(page, 'reports');

    // a name that would leave the chosen folder is refused by the app
    await page.getByLabel('File name (optional)').fill('../escape');
    await page.getByRole('button', { name: 'Save' }).click();
    await page
      .getByRole('alert')
      .filter({ hasText: /no folder part/ })
      .waitFor();
    assert.ok(!fs.existsSync(path.join(path.dirname(outDir), 'escape.html')));
    assert.deepEqual(errors, []);
  },
);
