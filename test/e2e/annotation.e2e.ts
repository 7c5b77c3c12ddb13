/**
 * Annotation end to end in Chromium against web mode: a clip chosen with the server's file browser
 * (limited to --allow), a category tier created in the UI, segments drawn and resized with the
 * keyboard and with the mouse on the tier lane, coded with number keys and scored in a field (an
 * out-of-range score refused at the field), and an .eaf exported from the UI through the browser's
 * save chooser, read back from disk. The file browser refuses folders outside its root.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { TierSegment, Tier } from '../../src/shared/tiers';
import { chromiumMissing, screenshot } from '../helpers/browser';
import { makeClip } from '../helpers/clips';
import { useWebAppInChromium } from '../helpers/e2e';
import { tempDir } from '../helpers/tmp';

const media = tempDir('cider-annotation-e2e-');
const e2e = useWebAppInChromium({
  dataDir: tempDir(),
  skip: chromiumMissing ?? false,
  args: () => ['--allow', media],
  prepare: () => {
    makeClip(media, { name: 'talk', words: 'this movie is really good', face: false, seconds: 2 });
  },
});

type Doc = { document: { querySelector(s: string): { textContent: string | null } | null } };

test(
  'annotation: tier, segments by keyboard and mouse, scores refused out of range, EAF export from the UI',
  { skip: chromiumMissing ?? false },
  async () => {
    const { page, errors } = await e2e.openApp({ console: false });
    await page.getByTestId('project-title').filter({ hasText: 'Demo project' }).waitFor();
    await page.getByRole('tab', { name: 'Clips' }).click();

    // choose the video with the server's file browser (its root is the --allow folder)
    await page.getByRole('button', { name: 'Browse...' }).click();
    const dialog = page.getByRole('dialog', { name: 'Choose videos or folders' });
    await dialog.getByTestId('browser-path').filter({ hasText: media }).waitFor();
    await dialog.getByRole('button', { name: 'talk.webm' }).click();
    await dialog.getByRole('button', { name: 'Choose 1' }).click();
    assert.equal(await page.getByLabel('Video paths').inputValue(), join(media, 'talk.webm'));
    await page.getByRole('button', { name: 'Import clips' }).click();
    await page.getByTestId('clip-item').first().waitFor();
    const projects = await e2e.web.call<{ id: number; name: string }[]>('projects.list');
    const projectId = projects.find((p) => p.name === 'Demo project')!.id;
    const [clip] = await e2e.web.call<{ id: number }[]>('clips.list', { projectId });
    await page
      .getByTestId('clip-id')
      .filter({ hasText: `#${clip.id}` })
      .waitFor();
    await page.getByTestId('clip-item').first().click();
    await page
      .getByTestId('clip-title')
      .filter({ hasText: `clip #${clip.id}` })
      .waitFor();

    await page.getByLabel('New annotator name').fill('Ann');
    await page.getByRole('button', { name: 'Add annotator' }).click();
    // the default sentiment tier starts from the transcript's two cues
    await page.getByTestId('tier-lane').waitFor();
    await page.getByTestId('segment-row').nth(1).waitFor();
    await page.getByTestId('shortcuts').filter({ hasText: 'mark in at the playhead' }).waitFor();

    // a category tier, made in the UI (labels checked at the field)
    await page.getByLabel('Tier name').fill('emotion');
    await page.getByLabel('Tier type').selectOption('category');
    await page.getByLabel('Tier labels').fill('happy, sad, happy');
    await page.getByRole('button', { name: 'Add tier' }).click();
    await page.getByTestId('tier-error').filter({ hasText: 'label "happy" is given twice' }).waitFor();
    await page.getByLabel('Tier labels').fill('happy, sad');
    await page.getByRole('button', { name: 'Add tier' }).click();
    await page.getByRole('combobox', { name: 'Tier', exact: true }).filter({ hasText: 'emotion (category)' }).waitFor();
    await page.getByTestId('segment-row').nth(1).waitFor();

    // keyboard: next segment, delete it, mark in at 0, five frames on, mark out, label 1, end to 0.7 s
    await page.getByTestId('clip-player').focus();
    await page.keyboard.press('n');
    await page.keyboard.press('Delete');
    await page.getByTestId('segment-row').nth(1).waitFor({ state: 'detached' });
    await page.keyboard.press('Home');
    await page.keyboard.press('i');
    for (let k = 0; k < 5; k++) await page.keyboard.press('ArrowRight');
    await page.keyboard.press('o');
    await page.getByTestId('segment-row').nth(1).waitFor();
    await page.keyboard.press('1');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('Shift+O');
    const firstRow = page.getByTestId('segment-row').first();
    await firstRow.filter({ hasText: '0.000' }).filter({ hasText: '0.700' }).waitFor();
    assert.equal(await firstRow.getByRole('combobox').inputValue(), 'happy');

    // mouse: drag the second segment's right edge from 1.6 s to about 1.9 s on the lane
    const lane = page.getByTestId('tier-lane');
    const box = (await lane.boundingBox())!;
    const at = (t: number) => box.x + (t / 2) * box.width;
    const y = box.y + box.height * 0.7;
    await page.mouse.move(at(1.6) - 1, y);
    await page.mouse.down();
    await page.mouse.move(at(1.75), y, { steps: 4 });
    await page.mouse.move(at(1.9), y, { steps: 4 });
    await page.mouse.up();
    await page
      .getByTestId('segment-row')
      .nth(1)
      .filter({ hasText: /1\.(8|9)\d\d/ })
      .waitFor();
    // a drag that starts inside a segment moves it (here it cannot go far: its neighbour is 0.1 s away)
    await page.mouse.move(at(0.3), y);
    await page.mouse.down();
    await page.mouse.move(at(0.9), y, { steps: 4 });
    await page.mouse.up();
    await firstRow.filter({ hasText: '0.100' }).filter({ hasText: '0.800' }).waitFor();
    await page
      .getByTestId('segments-save-state')
      .filter({ hasText: /^saved$/ })
      .waitFor();

    // the sentiment tier: a score out of range is refused at its field, a valid one kept; keys code too
    await page.getByRole('combobox', { name: 'Tier', exact: true }).selectOption({ label: 'sentiment (score)' });
    await page.getByTestId('tier-lane').filter({ hasText: 'sentiment (Ann)' }).waitFor();
    // draw a third segment with the mouse over the free time after the cues
    await page.mouse.move(at(1.65), y);
    await page.mouse.down();
    await page.mouse.move(at(1.8), y, { steps: 4 });
    await page.mouse.move(at(1.95), y, { steps: 4 });
    await page.mouse.up();
    await page.getByTestId('segment-row').nth(2).waitFor();
    await page.getByLabel('Segment 1 value').fill('5');
    await page.getByTestId('field-error').filter({ hasText: '5 is outside -3 .. +3' }).waitFor();
    await page.getByLabel('Segment 1 value').fill('2');
    await page.getByTestId('field-error').waitFor({ state: 'detached' });
    await page.getByTestId('clip-player').focus();
    // coding segment 1 selected it; N goes on to segment 2, key 3 scores it -1
    await page.keyboard.press('n');
    await page.keyboard.press('3');
    assert.equal(await page.getByLabel('Segment 2 value').inputValue(), '-1');
    await page
      .getByTestId('segments-save-state')
      .filter({ hasText: /^saved$/ })
      .waitFor();
    // the clip score refuses 5 at its field too, never turning it into 3
    await page.getByLabel('Clip score').fill('5');
    await page.getByRole('region', { name: 'Annotation by Ann' }).getByTestId('field-error').waitFor();
    await page
      .getByTestId('save-state')
      .filter({ hasText: /^saved$/ })
      .waitFor();

    const tiers = await e2e.web.call<Tier[]>('clips.tiers', { projectId });
    const segs = await e2e.web.call<TierSegment[]>('clips.segments', { clipId: clip.id });
    const emotion = tiers.find((t) => t.name === 'emotion')!;
    const sentiment = tiers.find((t) => t.name === 'sentiment')!;
    const onTier = (t: Tier) => segs.filter((s) => s.tierId === t.id).map((s) => [s.start, s.end, s.value]);
    const emo = onTier(emotion);
    assert.deepEqual(
      emo[0],
      [0.1, 0.8, 'happy'],
      'made by keys at 0-0.5, end moved to 0.7 by Shift+O, moved by the mouse',
    );
    assert.equal(emo.length, 2);
    assert.ok((emo[1][1] as number) > 1.8, `resized by the mouse: ${JSON.stringify(emo)}`);
    assert.deepEqual(
      onTier(sentiment).map((s) => s[2]),
      [2, -1, null],
    );
    const drawn = onTier(sentiment)[2];
    assert.ok((drawn[0] as number) > 1.6 && (drawn[1] as number) > 1.9, `drawn by the mouse: ${JSON.stringify(drawn)}`);
    const annotations = await e2e.web.call<{ score: number | null }[]>('clips.annotations', { clipId: clip.id });
    assert.deepEqual(annotations, [], 'the refused clip score was not stored');

    // EAF export from the UI into the allowed folder, read back from disk
    await page.getByRole('button', { name: 'Export EAF...' }).click();
    const save = page.getByRole('dialog', { name: `Save clip #${clip.id} as ELAN .eaf` });
    assert.equal(await save.getByLabel('File name').inputValue(), 'talk.eaf');
    await screenshot(page, 'annotation-save-dialog');
    await save.getByRole('button', { name: 'Save here' }).click();
    await page
      .getByTestId('exchange-result')
      .filter({ hasText: join(media, 'talk.eaf') })
      .waitFor();
    const xml = readFileSync(join(media, 'talk.eaf'), 'utf8');
    assert.match(xml, /TIER_ID="emotion@Ann"/);
    assert.match(xml, /<CONTROLLED_VOCABULARY CV_ID="emotion">/);
    assert.match(xml, /CVE_REF="emotion-1"[^>]*>\s*<ANNOTATION_VALUE>happy</);
    assert.match(xml, /TIER_ID="sentiment@Ann"/);
    await page.locator('[data-testid="tier-agreement-emotion"]').waitFor();
    await screenshot(page, 'annotation');

    // the file browser stays inside --allow
    await assert.rejects(e2e.web.call('files.list', { path: '/' }), /outside the folders/);
    await assert.rejects(e2e.web.call('files.list', { path: `${media}/../..` }), /"\.\." are refused/);
    const listed = await e2e.web.call<{ entries: { name: string }[] }>('files.list', { path: media });
    assert.ok(listed.entries.some((e) => e.name === 'talk.eaf'));
    void (null as unknown as Doc);
    assert.deepEqual(errors, []);
  },
);
