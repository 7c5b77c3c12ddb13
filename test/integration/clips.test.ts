/**
 * Clips end to end under plain Node: real clips made with ffmpeg (a real face or none, espeak-ng
 * speech or none) with SRT transcripts and one broken file, imported through the dispatcher,
 * all three streams extracted by the real job (worker thread, face model on wasm), annotated by
 * two annotators, agreement read, .eaf and CSV round trips, and a reproducible dataset export.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { AppError } from '../../src/shared/errors';
import type { Clip, ClipDetail, DatasetExportResult, ImportResult, ProjectAgreement } from '../../src/shared/clips';
import type { JobRecord } from '../../src/shared/types';
import { createApp, type AppServices } from '../../src/main/services/app';
import { FeatureStore } from '../../src/main/data/featureStore';
import { makeBrokenVideo, makeClip } from '../helpers/clips';
import { tempDir } from '../helpers/tmp';
import { TINY_VOCAB, writeTinyBert, type TinyBert } from '../helpers/tinyBert';

let app: AppServices;
let bert: TinyBert;
let projectId: number;
const dir = tempDir('cider-clips-');
const media = tempDir('cider-clips-media-');

const call = async <T>(method: string, args: unknown): Promise<T> => {
  const env = await app.dispatch(method, args);
  if (!env.ok) throw AppError.from(env.error);
  return env.value as T;
};

before(async () => {
  // the engine expects bert-base-uncased's special ids ([UNK] 100, [CLS] 101, [SEP] 102, [MASK] 103):
  // the tiny BERT gets a vocabulary laid out that way (its words after the specials)
  const words = TINY_VOCAB.slice(5);
  const vocab = [
    '[PAD]',
    ...Array.from({ length: 99 }, (_, i) => `[unused${i}]`),
    '[UNK]',
    '[CLS]',
    '[SEP]',
    '[MASK]',
    ...words,
  ];
  bert = writeTinyBert({ config: { vocab_size: vocab.length } });
  writeFileSync(join(bert.dir, 'vocab.txt'), vocab.join('\n') + '\n');
  app = createApp({ dataDir: dir, mode: 'cli', seedDemo: false });
  projectId = (await call<{ id: number }>('projects.create', { name: 'clips' })).id;
});
after(async () => {
  await app?.close();
  bert?.cleanup();
});

let clips: Clip[];

test('import: videos with SRT transcripts; a broken file is reported by name and the others import', async () => {
  makeClip(media, { name: 'a-face', words: 'this movie is really good', face: true });
  makeClip(media, { name: 'b-noface', words: 'the plot was so boring', face: false });
  makeClip(media, { name: 'c-silent', words: 'i like the music', face: true, audio: false, ext: '.mp4' });
  const broken = makeBrokenVideo(media);
  const r = await call<ImportResult>('clips.import', { projectId, paths: [media] });
  assert.deepEqual(
    r.imported.map((c) => c.name),
    ['a-face.webm', 'b-noface.webm', 'c-silent.mp4'],
  );
  assert.equal(r.failed.length, 1);
  assert.equal(r.failed[0].file, broken);
  assert.match(r.failed[0].message, /broken\.mp4/);
  clips = r.imported;
  const silent = clips[2];
  assert.equal(silent.hasAudio, false);
  assert.deepEqual(silent.modalities.audio, {
    available: false,
    reason: 'the file has no audio track',
    features: null,
  });
  assert.ok(Math.abs(clips[0].durationSec - 2) < 0.2, `duration ${clips[0].durationSec}`);
  const d = await call<ClipDetail>('clips.get', { id: clips[0].id });
  assert.equal(d.transcript?.segments.length, 2);
  assert.equal(d.words.map((w) => w.text).join(' '), 'this movie is really good');
  assert.ok(d.words.every((w) => w.start !== null && w.end! > w.start));
  // importing again skips what is there
  const again = await call<ImportResult>('clips.import', { projectId, paths: [clips[0].sourcePath] });
  assert.equal(again.skipped[0].clipId, clips[0].id);
});

test('extraction: text ids, audio frames at 100 Hz, face features; missing audio and missing face are reported', async () => {
  const job = await call<JobRecord>('clips.extract', { projectId, bertDir: bert.dir, visionRate: 5 });
  const progress: number[] = [];
  const off = app.events.subscribe((e) => {
    if (e.type === 'job.updated' && e.job.id === job.id && e.job.progress.fraction !== null)
      progress.push(e.job.progress.fraction);
  });
  const done = await app.runner.wait(job.id);
  off();
  assert.equal(done.status, 'succeeded', JSON.stringify(done.error));
  assert.ok(progress.length >= 3, 'progress per clip');
  const list = await call<Clip[]>('clips.list', { projectId });
  const [face, noface, silent] = list;
  assert.equal(face.modalities.text.features?.frames, 50);
  assert.ok(face.modalities.audio.available && face.modalities.audio.features!.rate === 100);
  assert.ok(
    Math.abs(face.modalities.audio.features!.frames - 200) <= 3,
    `audio frames ${face.modalities.audio.features!.frames}`,
  );
  assert.ok(face.modalities.vision.available, 'a face is found in the face clip');
  assert.ok(face.modalities.vision.features!.presentFraction! > 0.8);
  assert.equal(noface.modalities.vision.available, false);
  assert.equal(noface.modalities.vision.reason, 'no face found in any frame');
  assert.equal(silent.modalities.audio.available, false);
  assert.ok(silent.modalities.vision.available);
  const track = await call<{ names: string[]; values: number[]; frames: number }>('clips.features', {
    id: face.id,
    modality: 'vision',
  });
  assert.equal(track.names[0], 'facePresent');
  assert.equal(track.values[0], 1);
  const wave = await call<{ min: number[]; max: number[] }>('clips.waveform', { id: face.id, points: 100 });
  assert.ok(Math.max(...wave.max) > 0.05, 'speech is audible in the waveform');
  // a second run reuses every cached stream
  const again = await app.runner.wait(
    (await call<JobRecord>('clips.extract', { projectId, bertDir: bert.dir, visionRate: 5 })).id,
  );
  const result = again.result as { clips: { streams: Record<string, { cached: boolean }> }[] };
  assert.ok(result.clips.every((c) => Object.values(c.streams).every((s) => s.cached)));
});

test('annotation by two annotators, agreement, .eaf and CSV round trips', async () => {
  const ann = await call<{ id: number }>('clips.addAnnotator', { projectId, name: 'Ann' });
  const bob = await call<{ id: number }>('clips.addAnnotator', { projectId, name: 'Bob' });
  const [a, b, c] = clips;
  const save = (clipId: number, annotatorId: number, items: unknown[]) =>
    call('clips.saveAnnotations', { clipId, annotatorId, items });
  await save(a.id, ann.id, [
    { segment: -1, score: 2, note: 'enthusiastic' },
    { segment: 1, score: 2.5, correction: 'really good!' },
  ]);
  await save(a.id, bob.id, [
    { segment: -1, score: 1.5 },
    { segment: 1, score: 2 },
  ]);
  await save(b.id, ann.id, [{ segment: -1, score: -2 }]);
  await save(b.id, bob.id, [{ segment: -1, score: -1 }]);
  await save(c.id, ann.id, [{ segment: -1, score: 0 }]);
  await save(c.id, bob.id, [{ segment: -1, score: 0.4 }]);
  const agr = await call<ProjectAgreement>('clips.agreement', { projectId });
  assert.equal(agr.kappa3?.method, 'cohen');
  assert.equal(agr.units, 4);
  assert.ok(agr.alphaInterval! > 0.8 && agr.alphaInterval! < 1, `alpha ${agr.alphaInterval}`);
  const ca = agr.clips.find((x) => x.clipId === a.id)!;
  assert.equal(ca.meanScore, 1.75);
  // the correction became the segment's text
  const d = await call<ClipDetail>('clips.get', { id: a.id });
  assert.equal(d.transcript!.segments[1].correction, 'really good!');

  const eafFile = join(media, 'a.eaf');
  const { xml } = await call<{ xml: string }>('clips.exportEaf', { id: a.id, path: eafFile });
  assert.match(xml, /TIER_ID="sentiment \(Ann\)"/);
  // round trip into a fresh project: same transcript, same labels
  const p2 = (await call<{ id: number }>('projects.create', { name: 'eaf round trip' })).id;
  const imp = await call<ImportResult>('clips.import', { projectId: p2, paths: [a.sourcePath] });
  const id2 = imp.imported[0].id;
  const res = await call<{ annotations: number; annotators: string[] }>('clips.importEaf', { id: id2, path: eafFile });
  assert.deepEqual(res.annotators.sort(), ['Ann', 'Bob']);
  const back = await call<{ xml: string }>('clips.exportEaf', { id: id2 });
  const strip = (s: string) => s.replace(/DATE="[^"]*"/, '');
  assert.equal(strip(back.xml), strip(xml));
  const before = await call<{ segment: number; score: number | null; note: string; correction: string | null }[]>(
    'clips.annotations',
    { clipId: a.id },
  );
  const after = await call<typeof before>('clips.annotations', { clipId: id2 });
  const key = (x: (typeof before)[number]) => [x.segment, x.score, x.note, x.correction];
  assert.deepEqual(after.map(key), before.map(key));

  const { csv } = await call<{ csv: string }>('clips.exportCsv', { projectId });
  assert.equal(csv.split('\r\n').filter(Boolean).length, 1 + before.length + 4);
  assert.match(csv, /a-face\.webm,.*,Ann,2,2,5,enthusiastic,/);
});

test('dataset export: user splits, reproducible from the seed, readable by the feature store, listed as a dataset', async () => {
  const exp = (name: string, seed: number, aligned = false) =>
    call<DatasetExportResult>('clips.exportDataset', {
      projectId,
      name,
      seed,
      aligned,
      splits: { train: 1, valid: 1, test: 1 },
    });
  const one = await exp('clips set', 7);
  const two = await exp('clips set again', 7);
  assert.deepEqual(one.clipIds, two.clipIds, 'same seed, same splits');
  assert.deepEqual(one.counts, { train: 1, valid: 1, test: 1 });
  assert.ok(one.datasetId !== null);
  const store = await FeatureStore.open(one.folder);
  assert.equal(store.manifest.source.kind, 'clips');
  assert.equal(store.manifest.dims.L, 50);
  assert.ok(Math.abs(store.manifest.dims.Ta - 200) <= 3, `Ta ${store.manifest.dims.Ta}`);
  const all = [...one.clipIds.train, ...one.clipIds.valid, ...one.clipIds.test].sort();
  assert.deepEqual(all, clips.map((c) => c.id).sort());
  const silentSplit = (['train', 'valid', 'test'] as const).find((s) => one.clipIds[s].includes(clips[2].id))!;
  const lengths = (await store.split(silentSplit).read('audioLengths')) as Int32Array;
  assert.equal(lengths[0], 0, 'the clip without audio has audio length 0');
  await store.close();
  const datasets = await call<{ name: string; format: string }[]>('datasets.list', {});
  assert.ok(datasets.some((d) => d.name === 'clips set' && d.format === 'clips'));
  const aligned = await exp('clips aligned', 7, true);
  assert.deepEqual(aligned.dims, { L: 50, Ta: 50, da: aligned.dims.da, Tv: 50, dv: aligned.dims.dv });
  assert.ok(existsSync(join(aligned.folder, 'manifest.json')));
  assert.ok(JSON.parse(readFileSync(join(aligned.folder, 'manifest.json'), 'utf8')).aligned);
});

test('the CLI lists clips with their missing modalities and prints the agreement', async () => {
  const { runCli } = await import('../../src/cli/main');
  const out: string[] = [];
  const io = { out: (l: string) => out.push(l), err: () => {} };
  assert.equal(await runCli(['clips', 'list', '--project', String(projectId), '--data-dir', dir], io), 0);
  assert.ok(
    out.some((l) => /c-silent\.mp4 .*no audio \(the file has no audio track\)/.test(l)),
    out.join('\n'),
  );
  assert.ok(
    out.some((l) => /b-noface\.webm .*no vision \(no face found in any frame\)/.test(l)),
    out.join('\n'),
  );
  out.length = 0;
  assert.equal(await runCli(['clips', 'agreement', '--project', String(projectId), '--data-dir', dir], io), 0);
  assert.match(out.join('\n'), /Cohen's kappa 3-class/);
});

test('the engine trains one epoch on the exported dataset (frozen tiny BERT for the text)', async () => {
  const list = await call<{ id: number; name: string }[]>('datasets.list', {});
  const ds = list.find((d) => d.name === 'clips set')!;
  const started = await call<{ run: { id: number }; job: JobRecord }>('runs.start', {
    datasetId: ds.id,
    projectId,
    options: {
      maxEpochs: 1,
      batchSize: 2,
      text: { kind: 'frozen', modelDir: bert.dir },
      model: { d: 8, layers: 1, heads: 2 },
    },
  });
  const done = await app.runner.wait(started.job.id);
  assert.equal(done.status, 'succeeded', JSON.stringify(done.error));
  const epochs = await call<unknown[]>('runs.epochs', { id: started.run.id });
  assert.equal(epochs.length, 1);
});
