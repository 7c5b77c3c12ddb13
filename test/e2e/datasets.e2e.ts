/**
 * End to end in real Chromium against web mode: import a small MMSA-layout pickle through the
 * Datasets tab, build an OOD split from the UI, and check that the view shows the IID and OOD
 * label distributions with the numbers the file holds and the service recorded.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Dataset } from '../../src/shared/contract/datasets';
import { chromiumMissing, screenshot } from '../helpers/browser';
import { makeMmsa, pythonHas } from '../helpers/datasets';
import { collectPageErrors, useWebAppInChromium } from '../helpers/e2e';
import { tempDir } from '../helpers/tmp';

const skip =
  chromiumMissing ?? (pythonHas('numpy') ? false : 'Debian python3 with numpy is not installed (/usr/bin/python3)');
const dataDir = tempDir();
const src = tempDir();
const e2e = useWebAppInChromium({ dataDir, skip });

const count = (labels: number[], classes: number) =>
  Array.from({ length: classes }, (_, c) => labels.filter((y) => y === c).length).join(',');

test(
  'import a pickle and build an OOD split from the Datasets tab; IID vs OOD label distributions are shown',
  { skip },
  async () => {
    const { page } = e2e.b;
    const errors = collectPageErrors(page);
    const { file, expect } = makeMmsa(src, 'mosi_aligned_50.pkl', [
      '--sizes',
      '30,8,12',
      '--aligned',
      '--L',
      '10',
      '--seed',
      '11',
    ]);

    await page.goto(e2e.web.loginUrl);
    await page.getByRole('tab', { name: 'Datasets' }).click();
    await page.getByText('No datasets yet').waitFor();
    await page.getByLabel('Dataset file paths').fill(file);
    await page.getByLabel('Dataset name').fill('MOSI tiny');
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    // the finished import opens its dataset
    await page.getByTestId('dataset-title').filter({ hasText: 'MOSI tiny' }).waitFor({ timeout: 60_000 });
    const [iid] = await e2e.web.call<Dataset[]>('datasets.list');
    for (const s of ['train', 'valid', 'test'] as const) {
      assert.equal(await page.getByTestId(`size-${iid.id}-${s}`).innerText(), String(expect[s].id.length));
      assert.equal(
        await page.getByTestId(`dist-3-${iid.id}-${s}`).getAttribute('data-counts'),
        count(expect[s].labels3, 3),
        `IID ${s} 3-class`,
      );
      assert.equal(
        await page.getByTestId(`dist-7-${iid.id}-${s}`).getAttribute('data-counts'),
        count(expect[s].labels7, 7),
        `IID ${s} 7-class`,
      );
    }
    await page.getByTestId('bias-word').first().waitFor();

    // OOD split from the UI
    await page.getByLabel('OOD seed').fill('5');
    await page.getByRole('button', { name: 'Build OOD split' }).click();
    await page.getByTestId('dataset-title').filter({ hasText: 'MOSI tiny OOD seed 5' }).waitFor({ timeout: 60_000 });
    await page.getByTestId('ood-record').waitFor();
    const ood = (await e2e.web.call<Dataset[]>('datasets.list')).find((d) => d.kind === 'ood')!;
    assert.equal(ood.parentId, iid.id);
    // both versions side by side, with the numbers the service recorded; the OOD test mix moved
    for (const d of [iid, ood])
      for (const s of ['train', 'valid', 'test'] as const) {
        assert.equal(
          await page.getByTestId(`dist-3-${d.id}-${s}`).getAttribute('data-counts'),
          d.splits[s].labels.three.join(','),
          `${d.kind} ${s} 3-class`,
        );
        assert.equal(
          await page.getByTestId(`dist-7-${d.id}-${s}`).getAttribute('data-counts'),
          d.splits[s].labels.seven.join(','),
          `${d.kind} ${s} 7-class`,
        );
      }
    assert.notDeepEqual(ood.splits.test.labels.three, iid.splits.test.labels.three);
    assert.match(
      (await page.getByTestId(`dist-3-${ood.id}-test`).locator('svg').getAttribute('aria-label'))!,
      new RegExp(`negative ${ood.splits.test.labels.three[0]}, neutral ${ood.splits.test.labels.three[1]}`),
    );

    // a sample with its text and feature tracks
    await page.getByTestId('sample-row').nth(1).click();
    await page.getByTestId('track-audio').locator('path').first().waitFor();
    assert.equal(
      await page.getByTestId('sample-detail').locator('.sample-text').innerText(),
      (
        await e2e.web.call<{ samples: { text: string }[] }>('datasets.samples', {
          id: ood.id,
          split: 'train',
          offset: 1,
          limit: 1,
        })
      ).samples[0].text,
    );

    await screenshot(page, 'datasets');
    assert.deepEqual(errors, []);
  },
);
