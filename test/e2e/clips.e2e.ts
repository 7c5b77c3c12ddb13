/**
 * Clips end to end in Chromium against web mode: real clips made with ffmpeg (one with a face and
 * espeak-ng speech, one without a face) plus a broken file, imported through the UI (the broken one
 * reported by name), features extracted (the job's progress streams back), the video served by the
 * token-protected media route with Range requests, two annotators labelling through the UI with
 * undo and autosave, the agreement read off the page, and an .eaf export that round-trips.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Clip, ProjectAgreement } from '../../src/shared/clips';
import { chromiumMissing, screenshot } from '../helpers/browser';
import { makeBrokenVideo, makeClip } from '../helpers/clips';
import { useWebAppInChromium } from '../helpers/e2e';
import { tempDir } from '../helpers/tmp';
import { writeTinyBert, type TinyBert } from '../helpers/tinyBert';

type VideoDoc = { document: { querySelector(s: string): { readyState: number; currentTime: number } | null } };

let bert: TinyBert;
const dataDir = tempDir();
const media = tempDir('cider-clips-e2e-');
const e2e = useWebAppInChromium({
  dataDir,
  skip: chromiumMissing ?? false,
  prepare: () => {
    bert = writeTinyBert();
    makeClip(media, { name: 'happy', words: 'this movie is really good', face: true });
    makeClip(media, { name: 'pattern', words: 'the plot was so boring', face: false });
    makeBrokenVideo(media, 'corrupt.webm');
  },
  cleanup: () => bert?.cleanup(),
});

test(
  'clips: import, extract, play, annotate with two annotators, agreement, .eaf round trip',
  { skip: chromiumMissing ?? false },
  async () => {
    const { page, errors } = await e2e.openApp({ console: false });
    await page.getByTestId('project-title').filter({ hasText: 'Demo project' }).waitFor();
    await page.getByRole('tab', { name: 'Clips' }).click();

    // import through the UI: the broken file is named, the others import
    await page.getByLabel('Video paths').fill(media);
    await page.getByRole('button', { name: 'Import clips' }).click();
    await page.getByTestId('import-failure').filter({ hasText: 'corrupt.webm' }).waitFor();
    await page.getByTestId('clip-item').nth(1).waitFor();
    assert.deepEqual((await page.locator('.clip-name').allInnerTexts()).sort(), ['happy.webm', 'pattern.webm']);

    // extraction from the UI; progress comes back over the WebSocket
    await page.getByLabel('BERT folder').fill(bert.dir);
    await page.getByRole('button', { name: 'Extract features' }).click();
    await page.locator('[data-testid="extract-status"][data-status="succeeded"]').waitFor({ timeout: 120_000 });
    const pattern = page.getByTestId('clip-item').filter({ hasText: 'pattern.webm' });
    await pattern.getByTestId('modality-vision').filter({ hasText: 'no vision' }).waitFor();
    assert.match((await pattern.getByTestId('modality-vision').getAttribute('title')) ?? '', /no face found/);

    // the player: the video loads through the media route; keys step frames and change speed
    await page.getByTestId('clip-item').filter({ hasText: 'happy.webm' }).click();
    await page.getByTestId('clip-title').filter({ hasText: 'happy.webm' }).waitFor();
    // functions, not strings: a string predicate is eval'd in the page, which the app's CSP refuses
    // (self-contained: the function is serialised and runs in the page; typed without the DOM library)
    await page.waitForFunction(
      () =>
        ((globalThis as unknown as VideoDoc).document.querySelector('[data-testid="clip-video"]')?.readyState ?? 0) >=
        1,
      null,
      { timeout: 30_000 },
    );
    await page.locator('.timeline .word').first().waitFor();
    await page.locator('.timeline .waveform').waitFor();
    await page.getByTestId('clip-player').focus();
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('Shift+ArrowRight');
    await page.waitForFunction(
      () =>
        ((globalThis as unknown as VideoDoc).document.querySelector('[data-testid="clip-video"]')?.currentTime ?? 0) >
        1,
    );
    await page.keyboard.press(']');
    assert.equal(await page.getByLabel('Playback speed').inputValue(), '1.25');

    // two annotators through the UI, with undo and autosave
    const label = async (name: string, score: string) => {
      await page.getByLabel('New annotator name').fill(name);
      await page.getByRole('button', { name: 'Add annotator' }).click();
      await page.getByRole('region', { name: `Annotation by ${name}` }).waitFor();
      await page.getByLabel('Clip score').fill(score);
      await page
        .getByTestId('save-state')
        .filter({ hasText: /^saved$/ })
        .waitFor();
    };
    await label('Ann', '2');
    // undo puts the empty score back (and saves that), redo restores it
    await page.getByLabel('Clip score').fill('-1');
    await page.getByLabel('Clip score').press('Control+z');
    assert.equal(await page.getByLabel('Clip score').inputValue(), '2');
    await page
      .getByTestId('save-state')
      .filter({ hasText: /^saved$/ })
      .waitFor();
    assert.match(await page.getByTestId('derived-classes').first().innerText(), /positive, 7-class \+2/);
    await page.getByLabel('Segment 2 text').fill('really good!');
    await page
      .getByTestId('save-state')
      .filter({ hasText: /^saved$/ })
      .waitFor();
    await label('Bob', '1.5');
    await page.getByTestId('clip-item').filter({ hasText: 'pattern.webm' }).click();
    await page.getByTestId('clip-title').filter({ hasText: 'pattern.webm' }).waitFor();
    await page.getByLabel('Clip score').fill('-1');
    await page
      .getByTestId('save-state')
      .filter({ hasText: /^saved$/ })
      .waitFor();
    await page.getByRole('combobox', { name: 'Annotator', exact: true }).selectOption({ label: 'Ann' });
    await page.getByRole('region', { name: 'Annotation by Ann' }).waitFor();
    await page.getByLabel('Clip score').fill('-2');
    await page
      .getByTestId('save-state')
      .filter({ hasText: /^saved$/ })
      .waitFor();

    // the agreement shown matches the service's
    await page.getByTestId('kappa3').waitFor();
    const projects = await e2e.web.call<{ id: number; name: string }[]>('projects.list');
    const projectId = projects.find((p) => p.name === 'Demo project')!.id;
    const agreement = await e2e.web.call<ProjectAgreement>('clips.agreement', { projectId });
    assert.equal(agreement.units, 2);
    assert.equal(agreement.kappa3?.method, 'cohen');
    await page
      .getByTestId('alpha')
      .filter({ hasText: agreement.alphaInterval!.toFixed(3) })
      .waitFor();
    await page.getByTestId('clip-agreement').filter({ hasText: 'mean -1.50' }).waitFor();
    await screenshot(page, 'clips');

    // the media route: token required, Range answered with 206
    const clips = await e2e.web.call<Clip[]>('clips.list', { projectId });
    const happy = clips.find((c) => c.name === 'happy.webm')!;
    const mediaUrl = new URL(`/api/media/clips/${happy.id}`, e2e.web.url);
    assert.equal((await fetch(mediaUrl)).status, 401);
    const part = await fetch(mediaUrl, { headers: { authorization: `Bearer ${e2e.web.token}`, range: 'bytes=0-99' } });
    assert.equal(part.status, 206);
    assert.equal((await part.arrayBuffer()).byteLength, 100);
    assert.match(part.headers.get('content-range') ?? '', /^bytes 0-99\/\d+$/);

    // .eaf export of what was typed in the UI round-trips through import
    const eaf = `${media}/happy.eaf`;
    const first = await e2e.web.call<{ xml: string }>('clips.exportEaf', { id: happy.id, path: eaf });
    assert.match(first.xml, /really good!/);
    const other = await e2e.web.call<{ id: number }>('projects.create', { name: 'eaf copy' });
    const copy = (
      await e2e.web.call<{ imported: Clip[] }>('clips.import', { projectId: other.id, paths: [happy.sourcePath] })
    ).imported[0];
    await e2e.web.call('clips.importEaf', { id: copy.id, path: eaf });
    const second = await e2e.web.call<{ xml: string }>('clips.exportEaf', { id: copy.id });
    const strip = (s: string) => s.replace(/DATE="[^"]*"/, '');
    assert.equal(strip(second.xml), strip(first.xml));
    assert.deepEqual(errors, []);
  },
);
