/**
 * End to end in real Chromium against web mode: open the printed URL, see the library with the
 * demo project and the backend in the status bar, create a project, reload, it is still there.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chromiumMissing, screenshot } from '../helpers/browser';
import { useWebAppInChromium } from '../helpers/e2e';
import { tempDir } from '../helpers/tmp';

const e2e = useWebAppInChromium({ dataDir: tempDir(), skip: chromiumMissing ?? false });

test('the library page works in Chromium through the printed URL', { skip: chromiumMissing ?? false }, async () => {
  const { page, errors } = await e2e.openApp();
  assert.equal(new URL(page.url()).search, '', 'the token is dropped from the address bar');
  await page.getByTestId('project-title').filter({ hasText: 'Demo project' }).waitFor();
  await page.getByTestId('backend').waitFor();
  assert.match(await page.getByTestId('backend').innerText(), /TensorFlow\.js 4\.\d+\.\d+: (wasm|cpu|tensorflow)/);

  await page.getByLabel('Project name').fill('OOD study');
  await page.getByRole('button', { name: 'Create project' }).click();
  await page.getByTestId('project-title').filter({ hasText: 'OOD study' }).waitFor();

  await page.reload();
  await page.getByTestId('project-item').filter({ hasText: 'OOD study' }).waitFor();
  const names = await page.getByTestId('project-item').allInnerTexts();
  assert.deepEqual([...names].sort(), ['Demo project', 'OOD study']);

  // a job started from the UI streams its progress back over the WebSocket
  await page.getByTestId('project-item').filter({ hasText: 'OOD study' }).click();
  await page.getByRole('button', { name: 'Measure backend speed' }).click();
  await page.locator('[data-testid^="job-"][data-status="succeeded"]').waitFor({ timeout: 60_000 });
  await screenshot(page, 'library');
  assert.deepEqual(errors, []);
});

test('a page opened without the token is refused', { skip: chromiumMissing ?? false }, async () => {
  const fresh = await e2e.b.context.browser()?.newContext?.();
  const page = fresh ? await fresh.newPage() : await e2e.b.context.newPage();
  await page.context().clearCookies();
  const res = await page.goto(e2e.web.url);
  assert.equal(res?.status(), 401);
  await page.close();
});

test(
  'the Models tab registers a BERT folder and names what a partial folder lacks',
  { skip: chromiumMissing ?? false },
  async () => {
    const { writeTinyBert } = await import('../helpers/tinyBert');
    const good = writeTinyBert();
    const partial = writeTinyBert({ vocab: false });
    try {
      const { page } = e2e.b;
      await page.goto(e2e.web.loginUrl);
      await page.getByRole('tab', { name: 'Models' }).click();
      await page.getByLabel('Model folder').fill(partial.dir);
      await page.getByRole('button', { name: 'Add folder' }).click();
      const alert = page.getByRole('alert');
      await alert.waitFor();
      assert.match(await alert.innerText(), /vocab\.txt/);
      await page.getByLabel('Model folder').fill(good.dir);
      await page.getByLabel('Model name').fill('tiny-bert');
      await page.getByRole('button', { name: 'Add folder' }).click();
      await page.getByTestId('model-list').getByText('* tiny-bert').waitFor();
      assert.match(await page.getByTestId('model-list').innerText(), /2 layers, hidden 32/);
      await screenshot(page, 'models');
    } finally {
      good.cleanup();
      partial.cleanup();
    }
  },
);
