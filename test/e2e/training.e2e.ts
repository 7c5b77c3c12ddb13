/**
 * End to end in real Chromium against web mode: on a tiny imported dataset, start a run from the
 * Training tab, watch progress events move the epoch bar and the curves, stop it, resume it, see
 * it finish; clone it with changed settings, kill the server mid-run and start it again: the run
 * is interrupted, keeps its finished epochs and resumes; the Runs tab compares the two runs.
 * Every wait is on something the app shows or emits; no fixed sleeps.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RunEpoch, RunRecord } from '../../src/shared/contract/training';
import type { JobRecord } from '../../src/shared/types';
import { chromiumMissing, screenshot } from '../helpers/browser';
import { makeMmsa, pythonHas } from '../helpers/datasets';
import { collectPageErrors, useWebAppInChromium } from '../helpers/e2e';
import { tempDir } from '../helpers/tmp';
import type { Page } from 'playwright-core';

const skip =
  chromiumMissing ?? (pythonHas('numpy') ? false : 'Debian python3 with numpy is not installed (/usr/bin/python3)');
const dataDir = tempDir();
const src = tempDir();
const e2e = useWebAppInChromium({ dataDir, skip });

const status = (page: Page, s: string, timeout = 120_000) =>
  page.locator(`[data-testid="live-run"][data-status="${s}"]`).waitFor({ timeout });
const points = async (page: Page, id: string) => Number(await page.getByTestId(id).getAttribute('data-points'));
type Doc = { querySelector(selector: string): { getAttribute(name: string): string | null } | null };
type Op = '>' | '>=' | '===' | '!==';
/** wait until the number in a test id's attribute compares with n (evaluated in the page as it changes) */
const waitNumber = (page: Page, id: string, attr: string, op: Op, n: number, timeout = 60_000) =>
  page.waitForFunction(
    (a) => {
      const v = Number(
        (globalThis as unknown as { document: Doc }).document
          .querySelector(`[data-testid="${a.id}"]`)
          ?.getAttribute(a.attr),
      );
      return a.op === '>' ? v > a.n : a.op === '>=' ? v >= a.n : a.op === '===' ? v === a.n : v !== a.n;
    },
    { id, attr, op, n },
    { timeout },
  );

async function setNumber(page: Page, label: string, value: number) {
  await page.getByLabel(label, { exact: true }).fill(String(value));
}

test(
  'train from the Training tab: progress, stop, resume, finish; restart mid-run; compare in the Runs tab',
  { skip, timeout: 600_000 },
  async () => {
    const { page } = e2e.b;
    const errors = collectPageErrors(page);

    // a tiny aligned dataset through the datasets service
    const { file } = makeMmsa(src, 'tiny.pkl', ['--sizes', '96,16,16', '--aligned', '--L', '10', '--seed', '3']);
    await e2e.web.call<JobRecord>('datasets.import', { files: [file], name: 'tiny' });

    await page.goto(e2e.web.loginUrl);
    await page.getByRole('tab', { name: 'Training' }).click();
    await page
      .getByLabel('Dataset', { exact: true })
      .locator('option', { hasText: 'tiny (IID)' })
      .waitFor({ state: 'attached', timeout: 60_000 });
    await page.getByTestId('dataset-facts').filter({ hasText: 'aligned features' }).waitFor();
    // the paper's defaults are what the form starts from
    assert.equal(await page.getByLabel('Joint weight', { exact: true }).inputValue(), '0.5');
    assert.equal(await page.getByLabel('Reconstruction weight', { exact: true }).inputValue(), '0.6');
    assert.equal(await page.getByLabel('Epochs', { exact: true }).inputValue(), '200');
    assert.ok(await page.getByRole('checkbox', { name: /accumulateFullViewGrad/ }).isChecked());

    await setNumber(page, 'Epochs', 3);
    await setNumber(page, 'Batch size', 8);
    await setNumber(page, 'Width d', 16);
    await setNumber(page, 'Layers', 1);
    await setNumber(page, 'Heads', 2);
    await page.getByLabel('Run name').fill('first');
    await page.getByRole('button', { name: 'Start run' }).click();

    // progress events move the bar and the batch curves
    const bar = page.getByTestId('epoch-progress');
    await page.locator('[data-testid="epoch-progress"][data-epoch="1"]').waitFor({ timeout: 120_000 });
    const firstBatch = Number(await bar.getAttribute('data-batch'));
    const firstPoints = await points(page, 'chart-batch-losses');
    await waitNumber(page, 'epoch-progress', 'data-batch', '!==', firstBatch);
    await waitNumber(page, 'chart-batch-losses', 'data-points', '>', firstPoints);
    await page
      .getByTestId('memory')
      .filter({ hasText: /MB RSS/ })
      .waitFor();
    assert.match(await page.getByTestId('backend-in-use').innerText(), /tfjs-\w+ \((CPU|GPU)\)/);

    // epoch 2 under way: epoch 1's curves are drawn; stop
    await page.locator('[data-testid="epoch-progress"][data-epoch="2"]').waitFor({ timeout: 120_000 });
    await page
      .getByTestId('time-left')
      .filter({ hasText: /ms per batch/ })
      .waitFor();
    await waitNumber(page, 'chart-epoch-losses', 'data-points', '>=', 8);
    await waitNumber(page, 'chart-validation', 'data-points', '>=', 1);
    await screenshot(page, 'training-live');
    await page.getByRole('button', { name: 'Stop' }).click();
    await status(page, 'stopped');
    const stopped = (await e2e.web.call<RunRecord[]>('runs.list'))[0];
    assert.equal(stopped.status, 'stopped');
    assert.ok(stopped.epochsDone >= 1 && stopped.epochsDone < 3, `stopped after ${stopped.epochsDone} epochs`);

    // resume from the last checkpoint and finish
    await page.getByRole('button', { name: `Resume from epoch ${stopped.epochsDone}` }).click();
    await status(page, 'completed');
    await page.getByTestId('epochs-done').filter({ hasText: 'epochs 3/3' }).waitFor();
    await waitNumber(page, 'chart-epoch-losses', 'data-points', '===', 24);
    assert.deepEqual(
      (await e2e.web.call<RunEpoch[]>('runs.epochs', { id: stopped.id })).map((e) => e.epoch),
      [1, 2, 3],
    );

    // clone with changed settings; kill the server while it trains
    await page.getByRole('button', { name: 'Clone settings' }).click();
    assert.equal(await page.getByLabel('Run name').inputValue(), 'first (clone)');
    assert.equal(await page.getByLabel('Layers', { exact: true }).inputValue(), '1');
    await setNumber(page, 'Seed', 7);
    await setNumber(page, 'Joint weight', 0.3);
    await page.getByLabel('Run name').fill('second');
    await page.getByRole('button', { name: 'Start run' }).click();
    await page.locator('[data-testid="epoch-progress"][data-epoch="2"]').waitFor({ timeout: 120_000 });
    const second = (await e2e.web.call<RunRecord[]>('runs.list'))[0];
    assert.equal(second.name, 'second');
    assert.equal(second.options.seed, 7);
    assert.equal(second.options.lossWeights.joint, 0.3);
    assert.equal(second.options.model.d, 16, 'the clone keeps the settings not changed');
    await e2e.web.stop('SIGKILL');

    await e2e.restartWeb();
    errors.length = 0; // the old page's socket to the dead server is not the app's fault
    await page.goto(e2e.web.loginUrl);
    await page.getByRole('tab', { name: 'Training' }).click();
    await status(page, 'interrupted', 30_000);
    const interrupted = await e2e.web.call<RunRecord>('runs.get', { id: second.id });
    assert.equal(interrupted.status, 'interrupted');
    assert.ok(interrupted.epochsDone >= 1, 'finished epochs survive the restart');
    assert.equal((await e2e.web.call<RunEpoch[]>('runs.epochs', { id: second.id })).length, interrupted.epochsDone);
    await screenshot(page, 'training-interrupted');
    await page.getByRole('button', { name: `Resume from epoch ${interrupted.epochsDone}` }).click();
    await status(page, 'completed');
    await page.getByTestId('epochs-done').filter({ hasText: 'epochs 3/3' }).waitFor();

    // the Runs tab compares the two runs
    await page.getByRole('tab', { name: 'Runs' }).click();
    await page.locator(`[data-testid="run-row"][data-run-id="${second.id}"][data-status="completed"]`).waitFor();
    await page.getByLabel(`compare run ${stopped.id}`).check();
    await page.getByLabel(`compare run ${second.id}`).check();
    const comparison = page.getByTestId('comparison');
    await comparison.waitFor();
    const diffKeys = await comparison
      .locator('[data-setting]')
      .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-setting')));
    assert.deepEqual(diffKeys.sort(), ['lossWeights.joint', 'seed']);
    await waitNumber(page, 'chart-compare', 'data-points', '===', 6);
    assert.equal(await page.getByTestId('chart-compare').locator('[data-series]').count(), 2);
    const finals = await page.getByTestId('final-metrics').innerText();
    assert.match(finals, /Non0_acc_2/);
    await screenshot(page, 'runs-compare');

    // an evaluation of a finished run runs on its ONNX export, and the Runs tab says so
    const job = await e2e.web.call<JobRecord>('runs.evaluate', {
      id: second.id,
      options: { protocols: ['RMFM'], rates: [0, 0.5, 1] },
    });
    await page.reload();
    await page.getByRole('tab', { name: 'Runs' }).click();
    await page.getByTestId('evaluations-table').getByText('RMFM').waitFor({ timeout: 120_000 });
    assert.deepEqual(await page.getByTestId('evaluation-engine').allInnerTexts(), ['onnx']);
    assert.equal((await e2e.web.call<JobRecord>('jobs.get', { id: job.id })).status, 'succeeded');
    assert.deepEqual(errors, []);
  },
);
