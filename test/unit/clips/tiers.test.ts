/**
 * Tiers through the service on a real SQLite file: the EAF round trip (two annotators, a score tier,
 * a category tier with its vocabulary, a text tier, edited boundaries) read back equal into another
 * project; saves that break the rules are refused and leave the stored track as it was; agreement
 * per tier with its units; CSV carries the tier rows.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createApp, type AppServices } from '../../../src/main/services/app';
import { ClipStore } from '../../../src/main/store/clips';
import { tierAgreement } from '../../../src/main/clips/tierAgreement';
import { exportScore } from '../../../src/main/services/clips';
import { krippendorffAlpha, cohenKappa } from '../../../src/main/clips/agreement';
import type { Tier, TierSegment } from '../../../src/shared/tiers';
import { tempDir } from '../../helpers/tmp';

let app: AppServices;
const dir = tempDir();
before(() => {
  app = createApp({ dataDir: join(dir, 'data'), mode: 'cli', seedDemo: false });
});
after(async () => {
  await app?.close();
});

function newClip(projectId: number, name: string): number {
  return new ClipStore(app.db).insert({
    projectId,
    name,
    sourcePath: join(dir, name),
    container: 'webm',
    durationSec: 3,
    width: 160,
    height: 120,
    fps: 10,
    videoCodec: 'vp8',
    audioCodec: null,
    audioRate: null,
    hasVideo: true,
    hasAudio: false,
    fileSize: 1,
  }).id;
}

const strip = (segs: TierSegment[], tiers: Tier[], names: Map<number, string>) =>
  segs.map((s) => ({
    tier: tiers.find((t) => t.id === s.tierId)!.name,
    annotator: names.get(s.annotatorId),
    start: s.start,
    end: s.end,
    value: s.value,
  }));

test('EAF round trip: two annotators, score + category + text tiers with edited boundaries read back equal', async () => {
  const h = app.handlers.clips;
  const p = app.projects.create('eaf source');
  const clip = newClip(p.id, 'a.webm');
  const tiers = await h.tiers({ projectId: p.id }, undefined);
  assert.deepEqual(
    tiers.map((t) => [t.name, t.kind, t.isDefault]),
    [['sentiment', 'score', true]],
    'every project has the default sentiment score tier',
  );
  const emotion = await h.createTier(
    { projectId: p.id, name: 'emotion', kind: 'category', labels: ['happy', 'sad', 'neutral & calm'] },
    undefined,
  );
  const comment = await h.createTier({ projectId: p.id, name: 'comment', kind: 'text', labels: [] }, undefined);
  const ann = await h.addAnnotator({ projectId: p.id, name: 'Ann' }, undefined);
  const bob = await h.addAnnotator({ projectId: p.id, name: 'Bob' }, undefined);
  const sentiment = tiers[0];
  const save = (
    tierId: number,
    annotatorId: number,
    segments: { start: number; end: number; value: number | string | null }[],
  ) => h.saveSegments({ clipId: clip, tierId, annotatorId, segments }, undefined);
  await save(sentiment.id, ann.id, [
    { start: 0.1234, end: 0.9876, value: 2.5 },
    { start: 1.2, end: 2.05, value: null },
  ]);
  await save(sentiment.id, bob.id, [{ start: 0.3, end: 1.7, value: -1 }]);
  await save(emotion.id, ann.id, [
    { start: 0, end: 1.5, value: 'happy' },
    { start: 1.5, end: 3, value: 'neutral & calm' },
  ]);
  await save(emotion.id, bob.id, [{ start: 0.25, end: 2.75, value: 'sad' }]);
  await save(comment.id, bob.id, [{ start: 2, end: 2.5, value: 'laughs <off-screen>' }]);

  const file = join(dir, 'a.eaf');
  const { xml } = await h.exportEaf({ id: clip, path: file }, undefined);
  assert.equal(readFileSync(file, 'utf8'), xml);
  // ELAN's structures: a linguistic type per kind, a controlled vocabulary for the category tier
  assert.match(
    xml,
    /<LINGUISTIC_TYPE CONTROLLED_VOCABULARY_REF="emotion"[^>]*LINGUISTIC_TYPE_ID="cider-category-emotion"/,
  );
  assert.match(
    xml,
    /<CONTROLLED_VOCABULARY CV_ID="emotion">[\s\S]*<CVE_VALUE LANG_REF="und">neutral &amp; calm<\/CVE_VALUE>/,
  );
  assert.match(xml, /<TIER LINGUISTIC_TYPE_REF="cider-score" TIER_ID="sentiment@Ann" ANNOTATOR="Ann"/);
  assert.match(xml, /CVE_REF="emotion-2"/);
  assert.match(xml, /TIME_VALUE="123"/, 'edited boundaries kept to the millisecond');

  const q = app.projects.create('eaf copy');
  const copy = newClip(q.id, 'a.webm');
  const r = await h.importEaf({ id: copy, path: file }, undefined);
  assert.deepEqual(r.tiers.sort(), ['comment', 'emotion', 'sentiment']);
  assert.equal(r.tierSegments, 7);
  assert.deepEqual(r.ignoredTiers, []);
  const nameOf = async (pid: number) =>
    new Map((await h.annotators({ projectId: pid }, undefined)).map((a) => [a.id, a.name]));
  const srcTiers = await h.tiers({ projectId: p.id }, undefined);
  const dstTiers = await h.tiers({ projectId: q.id }, undefined);
  assert.deepEqual(
    dstTiers.map((t) => [t.name, t.kind, t.labels]).sort(),
    srcTiers.map((t) => [t.name, t.kind, t.labels]).sort(),
  );
  const sortKey = (x: { tier: string; annotator?: string; start: number }) => `${x.tier}|${x.annotator}|${x.start}`;
  const before = strip(await h.segments({ clipId: clip }, undefined), srcTiers, await nameOf(p.id)).sort((a, b) =>
    sortKey(a).localeCompare(sortKey(b)),
  );
  const afterImport = strip(await h.segments({ clipId: copy }, undefined), dstTiers, await nameOf(q.id)).sort((a, b) =>
    sortKey(a).localeCompare(sortKey(b)),
  );
  assert.deepEqual(afterImport, before);
  assert.deepEqual(
    before.find((s) => s.tier === 'sentiment' && s.annotator === 'Ann'),
    {
      tier: 'sentiment',
      annotator: 'Ann',
      start: 0.123,
      end: 0.988,
      value: 2.5,
    },
  );
  // and exporting the copy gives the same document (dates aside)
  const again = await h.exportEaf({ id: copy }, undefined);
  const norm = (s: string) => s.replace(/DATE="[^"]*"/, '').replace(/MEDIA_URL="[^"]*"/, '');
  assert.equal(norm(again.xml), norm(xml));

  // a category value outside the vocabulary is refused with the file and tier named; nothing stored changes
  const broken = join(dir, 'broken.eaf');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(broken, xml.replace('>sad</ANNOTATION_VALUE>', '>furious</ANNOTATION_VALUE>'));
  await assert.rejects(
    Promise.resolve().then(() => h.importEaf({ id: copy, path: broken }, undefined)),
    (e: Error) => /broken\.eaf: tier "emotion@Bob".*"furious" is not a label of tier "emotion"/.test(e.message),
  );
  assert.deepEqual(
    strip(await h.segments({ clipId: copy }, undefined), dstTiers, await nameOf(q.id)).sort((a, b) =>
      sortKey(a).localeCompare(sortKey(b)),
    ),
    afterImport,
  );
});

test('saves that break the rules are refused and leave the stored track as it was', async () => {
  const h = app.handlers.clips;
  const p = app.projects.create('rules');
  const clip = newClip(p.id, 'b.webm');
  const [sentiment] = await h.tiers({ projectId: p.id }, undefined);
  const ann = await h.addAnnotator({ projectId: p.id, name: 'Ann' }, undefined);
  const ok = await h.saveSegments(
    { clipId: clip, tierId: sentiment.id, annotatorId: ann.id, segments: [{ start: 0, end: 1, value: 1 }] },
    undefined,
  );
  assert.equal(ok.length, 1);
  const attempts: [{ start: number; end: number; value: number | string | null }[], RegExp][] = [
    [[{ start: 0, end: 1, value: 5 }], /5 is outside -3 \.\. \+3/],
    [[{ start: 0, end: 1, value: 'good' }], /"good" is not a number/],
    [
      [
        { start: 0, end: 1, value: 1 },
        { start: 0.5, end: 2, value: 1 },
      ],
      /overlap/,
    ],
    [[{ start: 2, end: 3.5, value: 1 }], /ends after the clip/],
    [[{ start: 1, end: 1, value: 1 }], /end must come after the start/],
  ];
  for (const [segments, message] of attempts) {
    await assert.rejects(
      Promise.resolve().then(() =>
        h.saveSegments({ clipId: clip, tierId: sentiment.id, annotatorId: ann.id, segments }, undefined),
      ),
      (e: Error & { code?: string }) => e.code === 'INVALID_INPUT' && message.test(e.message),
    );
    assert.deepEqual(
      (await h.segments({ clipId: clip }, undefined)).map((s) => [s.start, s.end, s.value]),
      [[0, 1, 1]],
    );
  }
  await assert.rejects(
    Promise.resolve().then(() => h.removeTier({ id: sentiment.id }, undefined)),
    /default score tier/,
  );
  await assert.rejects(
    Promise.resolve().then(() =>
      h.createTier({ projectId: p.id, name: 'Sentiment', kind: 'text', labels: [] }, undefined),
    ),
    /already exists/,
  );
  await assert.rejects(
    Promise.resolve().then(() =>
      h.createTier({ projectId: p.id, name: 'emo', kind: 'category', labels: [] }, undefined),
    ),
    /at least one label/,
  );
});

test('agreement per tier over time slices: alpha interval on scores, alpha nominal and kappa on categories, per clip and overall', () => {
  const score: Tier = { id: 1, projectId: 1, name: 'sentiment', kind: 'score', labels: [], isDefault: true };
  const cat: Tier = { id: 2, projectId: 1, name: 'emotion', kind: 'category', labels: ['a', 'b'], isDefault: false };
  let id = 0;
  const seg = (
    tierId: number,
    clipId: number,
    annotatorId: number,
    start: number,
    end: number,
    value: number | string | null,
  ): TierSegment => ({
    id: ++id,
    tierId,
    clipId,
    annotatorId,
    start,
    end,
    value,
  });
  const segments = [
    // clip 1, scores: A codes 0-2 as 1; B codes 0-1 as 1 and 1-2 as 3 -> slices [0,1] (1,1) and [1,2] (1,3)
    seg(1, 1, 10, 0, 2, 1),
    seg(1, 1, 11, 0, 1, 1),
    seg(1, 1, 11, 1, 2, 3),
    // clip 2: only A -> no pairable units
    seg(1, 2, 10, 0, 1, -2),
    // categories on clip 1: A a|b at 1, B a over 0-2, a third coder is absent
    seg(2, 1, 10, 0, 1, 'a'),
    seg(2, 1, 10, 1, 2, 'b'),
    seg(2, 1, 11, 0, 2, 'a'),
    seg(2, 1, 11, 2, 2.5, null),
  ];
  const [s, c] = tierAgreement([score, cat], segments);
  assert.equal(s.units, 2);
  assert.equal(s.annotators, 2);
  assert.equal(
    s.alphaInterval,
    krippendorffAlpha(
      [
        [1, 1],
        [1, 3],
      ],
      'interval',
    ),
  );
  assert.equal(s.alphaNominal, null);
  assert.deepEqual(
    s.clips.map((x) => [x.clipId, x.units]),
    [
      [1, 2],
      [2, 0],
    ],
  );
  assert.equal(s.clips[1].alphaInterval, null, 'one annotator: undefined, not 1');
  assert.equal(c.units, 2);
  assert.equal(
    c.alphaNominal,
    krippendorffAlpha(
      [
        [0, 0],
        [1, 0],
      ],
      'nominal',
    ),
  );
  assert.deepEqual(c.kappa, { method: 'cohen', value: cohenKappa([0, 1], [0, 0]), units: 2 });
});

test('CSV export carries the tier rows (score tiers with their derived classes)', async () => {
  const h = app.handlers.clips;
  const p = app.projects.create('csv');
  const clip = newClip(p.id, 'c.webm');
  const [sentiment] = await h.tiers({ projectId: p.id }, undefined);
  const emo = await h.createTier({ projectId: p.id, name: 'emotion', kind: 'category', labels: ['joy'] }, undefined);
  const ann = await h.addAnnotator({ projectId: p.id, name: 'Ann' }, undefined);
  await h.saveSegments(
    {
      clipId: clip,
      tierId: sentiment.id,
      annotatorId: ann.id,
      segments: [
        { start: 0, end: 1, value: 3 },
        { start: 1, end: 3, value: 0 },
      ],
    },
    undefined,
  );
  await h.saveSegments(
    { clipId: clip, tierId: emo.id, annotatorId: ann.id, segments: [{ start: 0.5, end: 1.5, value: 'joy' }] },
    undefined,
  );
  const { csv } = await h.exportCsv({ projectId: p.id }, undefined);
  const lines = csv.trim().split('\r\n');
  assert.match(lines[0], /,tier,value$/);
  assert.ok(
    lines.some((l) => l.endsWith(',0,1,Ann,3,2,6,,,sentiment,3')),
    csv,
  );
  assert.ok(
    lines.some((l) => l.endsWith(',0.5,1.5,Ann,,,,,,emotion,joy')),
    csv,
  );
});

test('dataset export reads the clip scores, else the sentiment tier weighted by duration, else transcript-segment scores', () => {
  const ann = (annotatorId: number, segment: number, score: number | null) => ({
    clipId: 1,
    annotatorId,
    segment,
    score,
    note: '',
    correction: null,
    updatedAt: '',
  });
  const seg = (annotatorId: number, start: number, end: number, value: number | null): TierSegment => ({
    id: 0,
    tierId: 1,
    clipId: 1,
    annotatorId,
    start,
    end,
    value,
  });
  const tier = [seg(1, 0, 1, 3), seg(1, 1, 3, 0), seg(2, 0, 2, -1), seg(2, 2, 3, null)];
  assert.equal(exportScore([ann(1, -1, 2), ann(2, -1, 1), ann(1, 0, -3)], tier), 1.5);
  // Ann: (3*1 + 0*2)/3 = 1; Bob: -1 (his uncoded segment does not count) -> 0
  assert.equal(exportScore([ann(1, 0, -3)], tier), 0);
  assert.equal(exportScore([ann(1, 0, -3), ann(2, 1, 1)], []), -1);
  assert.equal(exportScore([ann(1, -1, null)], []), null);
});
