/**
 * End to end in real Chromium against web mode: the Analysis tab for a frozen-BERT run on a small
 * unaligned dataset with an OOD version. The inspector shows the service's probabilities and exact
 * Shapley values, the simulator's toggle changes them, a counterfactual edit made in the UI is
 * saved with its prediction, a robustness sweep started from the UI finishes as a job and is
 * overlaid with another run's, and the IID vs OOD comparison shows the recorded label counts.
 * Screenshots: test-results/analysis-*.png.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CounterfactualResult, Explanation, TextEdit } from '../../src/shared/contract/analysis';
import type { Dataset } from '../../src/shared/contract/datasets';
import type { RunRecord } from '../../src/shared/contract/training';
import type { JobRecord } from '../../src/shared/types';
import { chromiumMissing, screenshot, waitForAttribute, type BrowserSession } from '../helpers/browser';
import { useWebAppInChromium } from '../helpers/e2e';
import { callApp, trainTinyRun, withApp } from '../helpers/testApp';
import { tempDir } from '../helpers/tmp';
import { registerSynthetic } from '../helpers/analysis';
import { writeTinyBaseCompatibleBert } from '../helpers/syntheticRuns';

const skip = chromiumMissing ?? false;
const dataDir = tempDir();
const bert = writeTinyBaseCompatibleBert();
let iid: Dataset;
let ood: Dataset;
let bertRun: RunRecord;
let featuresRun: RunRecord;
const e2e = useWebAppInChromium({
  dataDir,
  skip,
  // data and two trained runs, prepared through the services on the data folder web mode will use
  prepare: () =>
    withApp(dataDir, async (app) => {
      iid = await registerSynthetic(app, {
        name: 'syn IID',
        sizes: { train: 24, valid: 10, test: 14 },
        aligned: false,
        seed: 8,
      });
      ood = await registerSynthetic(app, {
        name: 'syn OOD',
        kind: 'ood',
        parentId: iid.id,
        sizes: { train: 24, valid: 10, test: 14 },
        aligned: false,
        seed: 23,
      });
      const train = (name: string, options: Record<string, unknown>) =>
        trainTinyRun(app, iid.id, { batchSize: 12, ...options }, name);
      bertRun = await train('frozen bert', {
        text: { kind: 'frozen', modelDir: bert.dir },
      });
      featuresRun = await train('features', {});
      const sweep = await callApp<JobRecord>(app, 'analysis.robustness', {
        runId: featuresRun.id,
        protocols: ['RMFM', 'SMM:T'],
      });
      assert.equal((await app.runner.wait(sweep.id)).status, 'succeeded');
    }),
  cleanup: () => bert.cleanup(),
});

const values = async (b: BrowserSession, testId: string) =>
  ((await b.page.getByTestId(testId).getAttribute('data-values')) ?? '').split(',').map(Number);
const close = (a: number[], e: number[]) => a.length === e.length && a.every((x, i) => Math.abs(x - e[i]) < 1e-3);

test(
  'Analysis tab: inspector, simulator, counterfactual editor, robustness curves and IID vs OOD with real numbers',
  { skip },
  async () => {
    const { page, errors } = await e2e.openApp();
    await page.getByRole('tab', { name: 'Analysis' }).click();
    await page.getByLabel('Run', { exact: true }).selectOption(String(bertRun.id));
    await page.getByLabel('Sample index').fill('3');
    const target = { kind: 'sample', split: 'test', index: 3 };

    // inspector: the service's numbers
    const x = await e2e.web.call<Explanation>('analysis.explain', {
      runId: bertRun.id,
      target,
    });
    await page.getByTestId('inspector').getByText(x.label).waitFor({ timeout: 60_000 });
    await waitForAttribute(page, 'probabilities', 'data-values', x.probabilities.map((v) => v.toFixed(4)).join(','));
    assert.ok(close(await values(e2e.b, 'probabilities'), x.probabilities));
    for (const m of ['text', 'audio', 'vision'] as const)
      assert.ok(
        Math.abs(
          Number(await page.getByTestId(`shapley-${m}`).getAttribute('data-value')) - x.shapley[m][x.prediction],
        ) < 1e-5,
        m,
      );
    assert.equal(await page.getByTestId('transcript').locator('.token').count(), x.tokens.length);
    assert.equal(
      await page.getByTestId('transcript').locator('.token.bias').count(),
      x.tokens.filter((t) => t.bias).length,
    );
    assert.equal(await page.getByTestId('wsam-audio').getAttribute('data-rows'), String(x.wsam!.words.length));
    await page.getByTestId('attention-segments').locator('rect').first().waitFor();
    await screenshot(page, 'analysis-inspector');

    // simulator: text off
    await page.getByLabel('text present').uncheck();
    const off = await e2e.web.call<Explanation>('analysis.explain', {
      runId: bertRun.id,
      target,
      missing: { mode: 'toggles', text: false, audio: true, vision: true },
    });
    await waitForAttribute(page, 'probabilities', 'data-values', off.probabilities.map((v) => v.toFixed(4)).join(','));
    assert.equal(await page.getByTestId('transcript').locator('.token.dropped').count(), x.tokens.length - 2);
    await page.getByRole('button', { name: 'Complete view' }).click();
    await waitForAttribute(page, 'probabilities', 'data-values', x.probabilities.map((v) => v.toFixed(4)).join(','));

    // counterfactual editor: replace the first word, see the prediction move, save it
    const auto = await e2e.web.call<CounterfactualResult>('analysis.counterfactual', { runId: bertRun.id, target });
    assert.ok(close(await values(e2e.b, 'cf-prediction'), auto.counterfactual!));
    await page.getByTestId('cf-scored').locator('.token').nth(1).click();
    await page.getByLabel('Replacement word').fill('word130 word131');
    await page.getByRole('button', { name: 'Replace' }).click();
    const edited = [101, 130, 131, ...auto.scored.slice(2).map((t) => t.id)];
    const want = await e2e.web.call<CounterfactualResult>('analysis.counterfactual', {
      runId: bertRun.id,
      target,
      tokenIds: edited,
    });
    await waitForAttribute(
      page,
      'cf-prediction',
      'data-values',
      want.counterfactual!.map((v) => v.toFixed(4)).join(','),
    );
    await page.getByRole('slider', { name: 'tau', exact: true }).fill('1.5');
    await page.getByTestId('cf-debiased').getByText('tau = 1.5').waitFor();
    await page.getByLabel('Edit name').fill('two neutral words');
    await page.getByRole('button', { name: 'Save edit' }).click();
    await page.getByTestId('edit-row').first().waitFor();
    const [saved] = await e2e.web.call<TextEdit[]>('analysis.edits', {
      runId: bertRun.id,
    });
    assert.deepEqual(saved.tokenIds, edited);
    assert.ok(close(saved.counterfactual!, want.counterfactual!));
    await screenshot(page, 'analysis-counterfactual');

    // robustness: a sweep from the UI, finished as a job, overlaid with the features run's
    await page.getByRole('tab', { name: 'Robustness' }).click();
    for (const p of ['RMM', 'SMM:AV']) await page.getByLabel(p, { exact: true }).uncheck();
    // unaligned data: the aligned-only protocols are neither ticked nor tickable
    for (const p of ['TMFM', 'STMFM']) assert.equal(await page.getByLabel(p, { exact: true }).isDisabled(), true, p);
    await page.getByRole('button', { name: 'Run sweep 0:1:0.1' }).click();
    await page
      .locator('[data-testid="job-analysis.robustness"][data-status="succeeded"]')
      .waitFor({ timeout: 120_000 });
    await page.getByLabel(`overlay run ${featuresRun.id}`).check();
    await page.getByTestId('curve-RMFM').locator('[data-series]').nth(1).waitFor();
    assert.equal(await page.getByTestId('curve-RMFM').locator('[data-series]').count(), 2, 'two runs overlaid');
    assert.equal(await page.getByTestId('curve-RMFM').locator('[data-series]').first().getAttribute('data-n'), '11');
    const auilc = Number(
      await page.getByTestId('curve-RMFM').getByTestId('auilc-row').first().getAttribute('data-auilc'),
    );
    assert.ok(auilc > 0 && auilc <= 1);
    await screenshot(page, 'analysis-robustness');

    // IID vs OOD
    await page.getByRole('tab', { name: 'IID vs OOD' }).click();
    await page.getByRole('button', { name: 'Compare IID and OOD' }).click();
    await page.getByTestId('ood-comparison').waitFor({ timeout: 120_000 });
    assert.equal(
      await page.getByTestId('ood-iid-labels').getAttribute('data-counts'),
      iid.splits.test.labels.three.join(','),
    );
    assert.equal(
      await page.getByTestId('ood-ood-labels').getAttribute('data-counts'),
      ood.splits.test.labels.three.join(','),
    );
    await page.getByTestId('ood-row-OOD-debiased').waitFor();
    await page.getByTestId('ood-tau-curve').locator('[data-series]').first().waitFor();
    await screenshot(page, 'analysis-ood');
    assert.deepEqual(errors, []);
  },
);
