/**
 * End to end in real Chromium against web mode: the executor setting of the multi-run jobs beyond
 * the search. The Ablation panel shows the shared "where the trials run" fieldset, its sbatch
 * script (one task per variant) and refuses a bad queue address; an ablation started on SLURM where
 * SLURM cannot be reached fails as a job saying so, its runs failed rather than left queued. In the
 * Analysis tab, two overlaid runs are swept as one robustness-over-runs job (local executor) and
 * the panel shows each run's AUILC and the mean ± sd across them, as stored.
 * Screenshots: test-results/executors-*.png.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { AblationRecord } from '../../src/shared/contract/ablation';
import type { RobustnessRunsRecord } from '../../src/shared/contract/analysis';
import type { Dataset } from '../../src/shared/contract/datasets';
import type { RunRecord } from '../../src/shared/contract/training';
import type { JobRecord } from '../../src/shared/types';
import { createApp } from '../../src/main/services/app';
import { chromiumMissing, openBrowser, screenshot, waitForAttribute, type BrowserSession } from '../helpers/browser';
import { tempDir } from '../helpers/tmp';
import { startWebApp, type WebApp } from '../helpers/webapp';
import { registerSynthetic } from '../helpers/analysis';
import { TINY_MODEL } from '../helpers/syntheticRuns';

const skip = chromiumMissing ?? false;
const dataDir = tempDir();
let web: WebApp;
let b: BrowserSession;
let iid: Dataset;
const trained: RunRecord[] = [];
const previousConf = process.env.SLURM_CONF;

before(async () => {
  if (skip) return;
  const app = createApp({ dataDir, mode: 'cli', seedDemo: false });
  try {
    const sizes = { train: 24, valid: 10, test: 14 };
    iid = await registerSynthetic(app, { name: 'syn IID', sizes, seed: 8 });
    await registerSynthetic(app, { name: 'syn OOD', kind: 'ood', parentId: iid.id, sizes, seed: 23 });
    // two seeds of the same configuration
    for (const seed of [1, 2]) {
      const env = await app.dispatch('runs.start', {
        datasetId: iid.id,
        name: `seed ${seed}`,
        options: { maxEpochs: 1, batchSize: 12, model: TINY_MODEL, seed },
      });
      assert.ok(env.ok);
      const { run, job } = env.value as { run: RunRecord; job: JobRecord };
      assert.equal((await app.runner.wait(job.id)).status, 'succeeded');
      trained.push(run);
    }
  } finally {
    await app.close();
  }
  // no SLURM reachable from the web app, whatever this machine has installed: an empty slurm.conf
  // makes sinfo fail at once (a missing one makes it retry for a minute)
  process.env.SLURM_CONF = path.join(dataDir, 'empty-slurm.conf');
  fs.writeFileSync(process.env.SLURM_CONF, '');
  web = await startWebApp(dataDir);
  b = await openBrowser();
});
after(async () => {
  await b?.close();
  await web?.stop();
  if (previousConf === undefined) delete process.env.SLURM_CONF;
  else process.env.SLURM_CONF = previousConf;
});

test(
  'Ablation panel: the executor setting, its sbatch script, and a SLURM ablation that cannot reach SLURM',
  { skip },
  async () => {
    const { page } = b;
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(web.loginUrl);
    await page.getByRole('tab', { name: 'Search' }).click();
    const panel = page.getByRole('region', { name: 'Ablation' });
    assert.equal(await panel.getByLabel('Ablation executor').inputValue(), 'local', 'local by default');
    await panel.getByLabel('Ablation executor').selectOption('slurm');
    await panel.getByLabel('Ablation partition').fill('gpu');
    await panel.getByLabel('Ablation time limit').fill('02:00:00');
    await panel.getByLabel('Ablation GPUs per task').fill('1');
    await panel.getByRole('button', { name: 'Show ablation sbatch script' }).click();
    const script = await panel.getByTestId('ablation-sbatch-preview').textContent();
    assert.match(script!, /#SBATCH --array=1-5\n/, 'one task per variant');
    assert.match(script!, /#SBATCH --partition=gpu/);
    assert.match(script!, /#SBATCH --time=02:00:00/);
    assert.match(script!, /#SBATCH --gpus-per-task=1/);
    assert.match(script!, /trial run/);
    // the search form's own setting is a separate one
    assert.equal(await page.getByLabel('Executor', { exact: true }).inputValue(), 'local');
    await screenshot(page, 'executors-ablation-sbatch');

    await panel.getByLabel('Ablation executor').selectOption('queue');
    await panel.getByLabel('Ablation queue').fill('http://not-redis');
    await panel.getByText('queue: redis://HOST:PORT').waitFor();
    assert.equal(await panel.getByRole('button', { name: 'Run ablation set' }).isDisabled(), true);

    // on SLURM, which this web app cannot reach: the job fails saying why; the runs are not left queued
    await panel.getByLabel('Ablation executor').selectOption('slurm');
    await panel.getByRole('button', { name: 'Run ablation set' }).click();
    await waitForAttribute(page, 'ablation-detail', 'data-status', 'failed', 60_000);
    const list = await web.call<AblationRecord[]>('ablation.list', {});
    assert.equal(list.length, 1);
    assert.equal(list[0].executor.kind, 'slurm');
    assert.equal(list[0].job.params.executor?.kind, 'slurm');
    assert.match(list[0].job.error!.message, /SLURM/);
    assert.ok(
      list[0].rows.every((r) => r.status === 'failed'),
      list[0].rows.map((r) => r.status).join(','),
    );
    assert.match((await page.getByTestId('ablation-detail').textContent())!, /trained on SLURM/);
    assert.deepEqual(errors, []);
  },
);

test('Robustness: two overlaid runs swept as one job, each run and the mean ± sd across them', { skip }, async () => {
  const { page } = b;
  await page.goto(web.loginUrl);
  await page.getByRole('tab', { name: 'Analysis' }).click();
  await page.getByRole('tab', { name: 'Robustness' }).click();
  const panel = page.getByRole('region', { name: 'Robustness over runs' });
  for (const r of trained) {
    const box = page.getByLabel(`overlay run ${r.id}`);
    if (!(await box.isChecked())) await box.check();
  }
  // the protocol choices are settled once the datasets are loaded (aligned-only ones stay off)
  await page.locator('.protocols[aria-busy="false"]').waitFor();
  for (const p of ['RMM', 'SMM:A', 'SMM:V', 'SMM:TA', 'SMM:TV', 'SMM:AV', 'TMFM', 'STMFM']) {
    const box = page.getByLabel(p, { exact: true });
    if ((await box.isChecked()) && !(await box.isDisabled())) await box.uncheck();
  }
  await panel.getByLabel('Sweep executor').selectOption('slurm');
  await panel.getByRole('button', { name: 'Show sweep sbatch script' }).click();
  assert.match((await panel.getByTestId('sweep-sbatch-preview').textContent())!, /#SBATCH --array=1-2\n/);
  await panel.getByLabel('Sweep executor').selectOption('local');
  await panel.getByRole('button', { name: 'Sweep the overlaid runs' }).click();
  await waitForAttribute(page, 'robustness-runs', 'data-status', 'succeeded', 120_000);
  const [r] = await web.call<RobustnessRunsRecord[]>('analysis.robustnessRunsList', {});
  assert.deepEqual(
    r.runs.map((x) => x.status),
    ['completed', 'completed'],
  );
  assert.deepEqual(r.job.params.protocols.sort(), ['RMFM', 'SMM:T']);
  const metric = await page.getByLabel('Metric').inputValue();
  const auilcs = r.sweeps.map((s) => s.curves.find((c) => c.protocol === 'RMFM')!.auilc[metric]!);
  const mean = (auilcs[0] + auilcs[1]) / 2;
  await page.getByTestId('robustness-run-row').nth(1).waitFor();
  assert.equal(await page.getByTestId('robustness-run-row').count(), 2);
  const shown = Number(await page.getByTestId('across-RMFM').getAttribute('data-mean'));
  assert.ok(Math.abs(shown - mean) < 1e-9, `${shown} vs ${mean}`);
  assert.match((await page.getByTestId('across-RMFM').textContent())!, / ± /);
  // the curves above draw the sweeps the job stored, one series per run
  await page.getByTestId('curve-RMFM').locator('[data-series]').nth(1).waitFor();
  assert.equal(await page.getByTestId('curve-RMFM').locator('[data-series]').count(), 2);
  await screenshot(page, 'executors-robustness-runs');
});
