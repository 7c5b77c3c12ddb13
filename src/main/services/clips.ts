/**
 * The clips service: handlers for src/shared/contract/clips.ts from a factory given the
 * ServiceContext. Probing and decoding run ffmpeg as child processes (never on the event loop);
 * feature extraction is the 'clips.extract' job, recorded in SQLite here, on the main thread, when
 * the job ends (the runner's cleanup hook), whatever the outcome.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Handlers } from '../../shared/api';
import type { TierSegment } from '../../shared/tiers';
import {
  VIDEO_EXTENSIONS,
  type Annotation,
  type Clip,
  type ClipDetail,
  type FeatureTrack,
  type ImportResult,
  type Modality,
} from '../../shared/clips';
import { AppError } from '../../shared/errors';
import { projectAgreement } from '../clips/agreement';
import { tierAgreement } from '../clips/tierAgreement';
import { TierStore } from '../store/tiers';
import { annotationsToCsv, csvToAnnotations } from '../clips/csv';
import { exportEaf, importEaf } from '../clips/eaf';
import { buildClipsDataset, type ExportClip } from '../clips/exportDataset';
import { clipDir, readFeatureFrames, readFeatureRecord } from '../clips/features/store';
import { parseTranscript, readTranscriptFile, transcriptText, transcriptWords } from '../clips/transcript';
import { StoreBuilder } from '../data/featureStore';
import { decodePcm, waveformPeaks } from '../media/decode';
import { findFfmpeg, type FfmpegInfo } from '../media/ffmpeg';
import { probeVideo } from '../media/probe';
import { ClipStore } from '../store/clips';
import { clipsDatasetStaging, datasetsRoot } from '../store/paths';
import { datasetFolderName, DatasetStore } from '../store/datasets';
import type { JobParams } from '../../shared/jobs';
import type { ServiceContext } from './app';
import { ModelRegistry } from './models';

const TRANSCRIPT_EXTS = ['.srt', '.vtt', '.txt'];

export const VIDEO_MIME: Record<string, string> = {
  '.mp4': 'video/mp4',
  '.webm': 'video/webm',
  '.mov': 'video/quicktime',
  '.mkv': 'video/x-matroska',
};

function isVideoFile(f: string): boolean {
  return (VIDEO_EXTENSIONS as readonly string[]).includes(extname(f).toLowerCase());
}

function listVideos(dir: string, recursive: boolean): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory() && recursive) out.push(...listVideos(p, true));
    else if (e.isFile() && isVideoFile(e.name)) out.push(p);
  }
  return out.sort();
}

function siblingTranscript(video: string): string | null {
  const stem = video.slice(0, video.length - extname(video).length);
  for (const ext of TRANSCRIPT_EXTS) if (existsSync(stem + ext)) return stem + ext;
  return null;
}

/**
 * The label dataset export gives a clip: the mean of the annotators' clip scores; else, from the
 * default (sentiment) tier, each annotator's segment scores weighted by duration, averaged over
 * annotators; else the mean of the transcript-segment scores. null: nothing scored.
 */
export function exportScore(
  clipAnnotations: readonly Annotation[],
  sentimentSegments: readonly TierSegment[],
): number | null {
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
  const scored = clipAnnotations.filter((a) => a.score !== null);
  const clipLevel = scored.filter((a) => a.segment === -1).map((a) => a.score!);
  if (clipLevel.length) return mean(clipLevel);
  const segs = sentimentSegments.filter((s) => typeof s.value === 'number' && s.end > s.start);
  const perAnnotator: number[] = [];
  for (const who of new Set(segs.map((s) => s.annotatorId))) {
    const own = segs.filter((s) => s.annotatorId === who);
    const span = own.reduce((acc, s) => acc + (s.end - s.start), 0);
    perAnnotator.push(own.reduce((acc, s) => acc + (s.value as number) * (s.end - s.start), 0) / span);
  }
  if (perAnnotator.length) return mean(perAnnotator);
  return mean(scored.map((a) => a.score!));
}

export interface ClipsService {
  handlers: Handlers<void>['clips'];
  store: ClipStore;
  tiers: TierStore;
  /** the clip's video file and MIME type, for the web server's media route */
  mediaFile(id: number): { path: string; mime: string };
}

export function clipsService(ctx: ServiceContext): ClipsService {
  const store = new ClipStore(ctx.db);
  const tiers = new TierStore(ctx.db);
  /** ELAN's resolution: times are kept to the millisecond, so boundaries round-trip through .eaf */
  const toMs = (t: number) => Math.round(t * 1000) / 1000;
  let ffmpegInfo: FfmpegInfo | undefined;
  const ffmpeg = (): string => {
    ffmpegInfo ??= findFfmpeg(ctx.settings.get<string>('ffmpeg.path'));
    if (!ffmpegInfo.path)
      throw new AppError(
        'UNSUPPORTED',
        'ffmpeg was not found: reinstall (it ships with the app) or set its path (cider clips set-ffmpeg PATH, or CIDER_FFMPEG)',
      );
    return ffmpegInfo.path;
  };
  const changed = (projectId: number) => ctx.events.emit({ type: 'clips.changed', projectId });

  const detail = (id: number): ClipDetail => {
    const clip = store.get(id);
    const transcript = store.transcript(id);
    return { ...clip, transcript, words: transcript ? transcriptWords(transcript.segments) : [] };
  };

  /** record what the extraction job left on disk, for every clip it was given */
  const recordFeatures = (clipIds: number[]) => {
    for (const id of clipIds) {
      for (const m of ['text', 'audio', 'vision'] as Modality[]) {
        const r = readFeatureRecord(ctx.dataDir, id, m);
        if (!r) continue;
        try {
          store.upsertFeature(id, {
            modality: m,
            version: r.version,
            fingerprint: r.fingerprint,
            available: r.available,
            reason: r.reason,
            rate: r.rate,
            frames: r.frames,
            dims: r.dims,
            presentFraction: r.presentFraction ?? null,
            aligned: !!r.aligned,
          });
        } catch {
          // the clip was removed while the job ran
        }
      }
    }
  };
  ctx.runner.setKindHooks('clips.extract', {
    cleanup: (job) => {
      const ids = job.params.clips.map((c) => c.id);
      recordFeatures(ids);
      if (job.projectId !== null) changed(job.projectId);
    },
  });

  const importOne = async (projectId: number, file: string, transcript: string | null, result: ImportResult) => {
    const existing = store.findByPath(projectId, file);
    if (existing !== null) {
      result.skipped.push({ file, clipId: existing });
      return;
    }
    let probe;
    try {
      probe = await probeVideo(ffmpeg(), file);
    } catch (e) {
      const info = e instanceof AppError ? e : new AppError('INVALID_INPUT', `${file}: ${(e as Error).message}`);
      if (info.code !== 'INVALID_INPUT') throw info;
      result.failed.push({ file, message: info.message });
      return;
    }
    const clip = store.insert({
      projectId,
      name: basename(file),
      sourcePath: file,
      container: probe.container,
      durationSec: probe.durationSec,
      width: probe.video?.width ?? null,
      height: probe.video?.height ?? null,
      fps: probe.video?.fps ?? null,
      videoCodec: probe.video?.codec ?? null,
      audioCodec: probe.audio?.codec ?? null,
      audioRate: probe.audio?.rate ?? null,
      hasVideo: probe.video !== null,
      hasAudio: probe.audio !== null,
      fileSize: probe.fileSize,
    });
    if (transcript) {
      try {
        const t = readTranscriptFile(transcript);
        store.setTranscript(clip.id, {
          format: t.format,
          sourcePath: transcript,
          timed: t.timed,
          segments: t.segments,
        });
      } catch (e) {
        result.failed.push({
          file: transcript,
          message: `${(e as Error).message} (the video ${basename(file)} was imported without a transcript)`,
        });
      }
    }
    result.imported.push(store.get(clip.id));
  };

  const handlers: Handlers<void>['clips'] = {
    list: ({ projectId }) => {
      ctx.projects.get(projectId);
      return store.list(projectId);
    },
    get: ({ id }) => detail(id),
    import: async ({ projectId, paths, transcript, recursive }) => {
      ctx.projects.get(projectId);
      ffmpeg();
      const result: ImportResult = { imported: [], skipped: [], failed: [] };
      const videos: string[] = [];
      for (const raw of paths) {
        const p = resolve(raw);
        let st;
        try {
          st = statSync(p);
        } catch {
          result.failed.push({ file: p, message: `${p}: file not found` });
          continue;
        }
        if (st.isDirectory()) {
          const found = listVideos(p, recursive);
          if (!found.length)
            result.failed.push({
              file: p,
              message: `${p}: no video files (${VIDEO_EXTENSIONS.join(', ')}) in this folder`,
            });
          videos.push(...found);
        } else videos.push(p);
      }
      if (transcript && videos.length !== 1)
        throw new AppError(
          'BAD_REQUEST',
          `a transcript file goes with exactly one video; ${videos.length} were given (put same-named .srt/.vtt/.txt files beside the videos instead)`,
        );
      for (const v of videos)
        await importOne(projectId, v, transcript ? resolve(transcript) : siblingTranscript(v), result);
      if (result.imported.length) changed(projectId);
      return result;
    },
    setTranscript: ({ id, path, text, format }) => {
      const clip = store.get(id);
      if ((path === undefined) === (text === undefined))
        throw new AppError('BAD_REQUEST', 'give either a transcript file (path) or its text');
      const t = path !== undefined ? readTranscriptFile(resolve(path)) : parseTranscript(text!, format ?? 'txt');
      store.setTranscript(id, {
        format: t.format,
        sourcePath: path !== undefined ? resolve(path) : null,
        timed: t.timed,
        segments: t.segments,
      });
      changed(clip.projectId);
      return detail(id);
    },
    remove: ({ id }) => {
      const clip = store.get(id);
      store.remove(id);
      rmSync(clipDir(ctx.dataDir, id), { recursive: true, force: true });
      changed(clip.projectId);
      return { removed: true as const };
    },
    extract: ({ projectId, clipIds, modalities, bertDir, textLength, visionRate, force }) => {
      ctx.projects.get(projectId);
      const clips = clipIds ? clipIds.map((id) => store.get(id)) : store.list(projectId);
      for (const c of clips)
        if (c.projectId !== projectId) throw new AppError('BAD_REQUEST', `clip ${c.id} belongs to another project`);
      if (!clips.length)
        throw new AppError('CONFLICT', 'this project has no clips to extract features from; import some first');
      // an explicit folder, else the one set for clips, else the default registered text encoder
      const bert = bertDir
        ? resolve(bertDir)
        : (ctx.settings.get<string>('clips.bertDir') ?? new ModelRegistry(ctx.settings).defaultPath());
      if (bert && !existsSync(bert.endsWith('.txt') ? bert : join(bert, 'vocab.txt')))
        throw new AppError('INVALID_INPUT', `${bert}: no vocab.txt there (choose a BERT model folder)`);
      const params: JobParams<'clips.extract'> = {
        clips: clips.map((c) => ({
          id: c.id,
          name: c.name,
          path: c.sourcePath,
          hasAudio: c.hasAudio,
          hasVideo: c.hasVideo,
          width: c.width,
          height: c.height,
          segments: store.transcript(c.id)?.segments ?? [],
        })),
        ffmpeg: ffmpeg(),
        bertDir: bert,
        modalities,
        textLength,
        visionRate,
        force,
      };
      return ctx.runner.submit('clips.extract', params, projectId);
    },
    features: ({ id, modality, maxFrames }): FeatureTrack | null => {
      store.get(id);
      const r = readFeatureRecord(ctx.dataDir, id, modality);
      if (!r || !r.available || !r.frames || r.rate === null) return null;
      const data = readFeatureFrames(ctx.dataDir, id, modality);
      const step = Math.max(1, Math.ceil(r.frames / maxFrames));
      const values: number[] = [];
      for (let t = 0; t < r.frames; t += step)
        for (let d = 0; d < r.dims; d++) values.push(Math.round(data[t * r.dims + d] * 1e4) / 1e4);
      return {
        modality,
        version: r.version,
        rate: r.rate / step,
        names: r.names,
        frames: Math.ceil(r.frames / step),
        values,
        step,
      };
    },
    waveform: async ({ id, points }) => {
      const clip = store.get(id);
      if (!clip.hasAudio) return null;
      const cache = join(clipDir(ctx.dataDir, id), `waveform-${points}.json`);
      if (existsSync(cache)) {
        const c = JSON.parse(readFileSync(cache, 'utf8')) as {
          min: number[];
          max: number[];
          durationSec: number;
          size: number;
          mtimeMs: number;
        };
        const st = statSync(clip.sourcePath);
        if (c.size === st.size && c.mtimeMs === st.mtimeMs)
          return { min: c.min, max: c.max, durationSec: c.durationSec };
      }
      const pcm = await decodePcm(ffmpeg(), clip.sourcePath, 8000);
      const peaks = { ...waveformPeaks(pcm, points), durationSec: pcm.length / 8000 };
      mkdirSync(dirname(cache), { recursive: true });
      const st = statSync(clip.sourcePath);
      writeFileSync(cache, JSON.stringify({ ...peaks, size: st.size, mtimeMs: st.mtimeMs }));
      return peaks;
    },
    annotators: ({ projectId }) => {
      ctx.projects.get(projectId);
      return store.annotators(projectId);
    },
    addAnnotator: ({ projectId, name }) => {
      ctx.projects.get(projectId);
      const a = store.createAnnotator(projectId, name);
      changed(projectId);
      return a;
    },
    annotations: ({ clipId, projectId }) => {
      if (clipId === undefined && projectId === undefined)
        throw new AppError('BAD_REQUEST', 'give clipId or projectId');
      return store.annotations({ clipId, projectId });
    },
    saveAnnotations: ({ clipId, annotatorId, items }) => {
      const saved = store.saveAnnotations(clipId, annotatorId, items);
      changed(store.get(clipId).projectId);
      return saved;
    },
    agreement: ({ projectId }) => {
      ctx.projects.get(projectId);
      return projectAgreement(store.annotations({ projectId }), store.annotators(projectId));
    },
    tiers: ({ projectId }) => {
      ctx.projects.get(projectId);
      return tiers.list(projectId);
    },
    createTier: ({ projectId, name, kind, labels }) => {
      ctx.projects.get(projectId);
      const t = tiers.create(projectId, { name, kind, labels });
      changed(projectId);
      return t;
    },
    removeTier: ({ id }) => {
      const t = tiers.get(id);
      tiers.remove(id);
      changed(t.projectId);
      return { removed: true as const };
    },
    segments: ({ clipId, tierId, annotatorId }) => {
      store.get(clipId);
      return tiers.segments({ clipId, tierId, annotatorId });
    },
    saveSegments: ({ clipId, tierId, annotatorId, segments }) => {
      const clip = store.get(clipId);
      const saved = tiers.saveTrack(
        { clipId, tierId, annotatorId, projectId: clip.projectId, durationSec: clip.durationSec },
        segments.map((s) => ({ start: toMs(s.start), end: toMs(s.end), value: s.value })),
      );
      changed(clip.projectId);
      return saved;
    },
    tierAgreement: ({ projectId }) => {
      ctx.projects.get(projectId);
      return tierAgreement(tiers.list(projectId), tiers.segments({ projectId }));
    },
    exportEaf: ({ id, path }) => {
      const d = detail(id);
      const xml = exportEaf(
        {
          name: d.name,
          mediaUrl: pathToFileURL(d.sourcePath).href,
          mimeType: VIDEO_MIME[extname(d.sourcePath).toLowerCase()] ?? 'video/*',
          durationSec: d.durationSec,
          segments: d.transcript?.segments ?? [],
        },
        store.annotations({ clipId: id }),
        store.annotators(d.projectId),
        new Date(),
        { tiers: tiers.list(d.projectId), segments: tiers.segments({ clipId: id }) },
      );
      if (path) {
        const file = resolve(path);
        try {
          writeFileSync(file, xml);
        } catch (e) {
          throw new AppError(
            'INVALID_INPUT',
            `${file}: cannot write it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
          );
        }
      }
      return { path: path ? resolve(path) : null, xml };
    },
    importEaf: ({ id, path }) => {
      const d = detail(id);
      const file = resolve(path);
      let xml: string;
      try {
        xml = readFileSync(file, 'utf8');
      } catch (e) {
        throw new AppError(
          'INVALID_INPUT',
          `${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
        );
      }
      let content;
      try {
        content = importEaf(xml, d.transcript?.segments ?? [], file);
      } catch (e) {
        throw new AppError('INVALID_INPUT', (e as Error).message);
      }
      const names = new Set<string>();
      let tierSegments = 0;
      const tierNames = new Set<string>();
      ctx.db.transaction(() => {
        // tiers first: a tier clash (same name, other kind or labels) refuses the whole file
        const byName = new Map<string, number>();
        for (const def of content.tiers) {
          const have = tiers.byName(d.projectId, def.name);
          if (have) {
            if (have.kind !== def.kind)
              throw new AppError(
                'INVALID_INPUT',
                `${file}: tier "${def.name}" is a ${def.kind} tier there and a ${have.kind} tier in this project`,
              );
            const missing = def.labels.filter((l) => !have.labels.includes(l));
            if (missing.length)
              throw new AppError(
                'INVALID_INPUT',
                `${file}: tier "${def.name}" has labels this project's tier lacks: ${missing.join(', ')}`,
              );
            byName.set(def.name.toLowerCase(), have.id);
          } else byName.set(def.name.toLowerCase(), tiers.create(d.projectId, def).id);
          tierNames.add(def.name);
        }
        for (const track of content.tracks) {
          const who = store.annotatorByName(d.projectId, track.annotator);
          names.add(who.name);
          tiers.saveTrack(
            {
              clipId: id,
              tierId: byName.get(track.tier.name.toLowerCase())!,
              annotatorId: who.id,
              projectId: d.projectId,
              durationSec: d.durationSec,
            },
            track.segments,
          );
          tierSegments += track.segments.length;
        }
        if (content.segments.length) {
          const corrections = new Map(
            (d.transcript?.segments ?? []).map((s) => [`${s.start}:${s.end}:${s.text}`, s.correction ?? null]),
          );
          store.setTranscript(id, {
            format: 'eaf',
            sourcePath: file,
            timed: true,
            segments: content.segments.map((s) => ({
              ...s,
              correction: corrections.get(`${s.start}:${s.end}:${s.text}`) ?? null,
            })),
          });
        }
        for (const a of content.annotations) {
          const who = store.annotatorByName(d.projectId, a.annotator);
          names.add(who.name);
          store.upsertAnnotation(id, who.id, {
            segment: a.segment,
            score: a.score,
            note: a.note,
            correction: a.correction,
          });
        }
      })();
      changed(d.projectId);
      return {
        segments: content.segments.length,
        annotations: content.annotations.length,
        annotators: [...names],
        tiers: [...tierNames],
        tierSegments,
        ignoredTiers: content.ignoredTiers,
      };
    },
    exportCsv: ({ projectId, path }) => {
      ctx.projects.get(projectId);
      const clips = store.list(projectId).map((c) => ({ ...c, segments: store.transcript(c.id)?.segments ?? [] }));
      const csv = annotationsToCsv(clips, store.annotations({ projectId }), store.annotators(projectId), {
        tiers: tiers.list(projectId),
        segments: tiers.segments({ projectId }),
      });
      if (path) {
        const file = resolve(path);
        try {
          writeFileSync(file, csv);
        } catch (e) {
          throw new AppError(
            'INVALID_INPUT',
            `${file}: cannot write it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
          );
        }
      }
      return { path: path ? resolve(path) : null, csv };
    },
    importCsv: ({ projectId, path }) => {
      ctx.projects.get(projectId);
      const file = resolve(path);
      let rows;
      try {
        rows = csvToAnnotations(readFileSync(file, 'utf8'), file);
      } catch (e) {
        throw new AppError(
          'INVALID_INPUT',
          (e as NodeJS.ErrnoException).code
            ? `${file}: cannot read it (${(e as NodeJS.ErrnoException).code})`
            : (e as Error).message,
        );
      }
      const clips = store.list(projectId);
      const names = new Set<string>();
      ctx.db.transaction(() => {
        for (const r of rows) {
          const clip =
            clips.find(
              (c) => (r.clipId !== null && c.id === r.clipId) || (r.sourcePath && c.sourcePath === r.sourcePath),
            ) ?? clips.find((c) => r.clip && c.name === r.clip);
          if (!clip)
            throw new AppError(
              'INVALID_INPUT',
              `${file}: line ${r.line}: no clip "${r.clip || r.sourcePath || r.clipId}" in this project`,
            );
          const who = store.annotatorByName(projectId, r.annotator);
          names.add(who.name);
          store.upsertAnnotation(clip.id, who.id, {
            segment: r.segment,
            score: r.score,
            note: r.note,
            correction: r.correction,
          });
        }
      })();
      changed(projectId);
      return { annotations: rows.length, annotators: [...names], skippedTierRows: rows.tierRows ?? 0 };
    },
    exportDataset: async (args) => {
      ctx.projects.get(args.projectId);
      const chosen = args.clipIds ? args.clipIds.map((id) => store.get(id)) : store.list(args.projectId);
      const anns = store.annotations({ projectId: args.projectId });
      const defaultTier = tiers.list(args.projectId).find((t) => t.isDefault)!;
      const labelled: ExportClip[] = [];
      const unlabelled: string[] = [];
      for (const c of chosen) {
        const score = exportScore(
          anns.filter((a) => a.clipId === c.id),
          tiers.segments({ clipId: c.id, tierId: defaultTier.id }),
        );
        if (score === null) {
          unlabelled.push(c.name);
          continue;
        }
        const t = store.transcript(c.id);
        labelled.push({
          id: c.id,
          name: c.name,
          text: t ? transcriptText(t.segments) : '',
          score,
        });
      }
      if (!labelled.length)
        throw new AppError('CONFLICT', 'none of these clips has a sentiment score yet; annotate them first');
      const datasets = new DatasetStore(ctx.db, datasetsRoot(ctx.dataDir));
      if (args.register && datasets.nameTaken(args.name))
        throw new AppError('CONFLICT', `a dataset named "${args.name}" already exists`);
      const stamp = `${Date.now()}-${process.pid}`;
      const finalDir = args.folder ? resolve(args.folder) : clipsDatasetStaging(ctx.dataDir, stamp);
      const builder = await StoreBuilder.create(finalDir);
      let built;
      try {
        built = await buildClipsDataset(builder, labelled, {
          dataDir: ctx.dataDir,
          name: args.name,
          splits: args.splits,
          seed: args.seed,
          aligned: args.aligned,
          maxAudioFrames: args.maxAudioFrames,
          maxVisionFrames: args.maxVisionFrames,
        });
        if (unlabelled.length)
          built.warnings.push(
            `${unlabelled.length} clip(s) without a score were left out: ${unlabelled.slice(0, 10).join(', ')}`,
          );
        built.manifest.warnings = built.warnings;
        await builder.commit(built.manifest);
      } catch (e) {
        await builder.abort();
        throw e instanceof AppError ? e : new AppError('INVALID_INPUT', (e as Error).message);
      }
      let datasetId: number | null = null;
      let folder = finalDir;
      if (args.register && !args.folder) {
        const m = built.manifest;
        const d = datasets.commit(finalDir, datasetFolderName(`c${stamp.split('-')[0]}`, args.name), {
          name: args.name,
          kind: 'iid',
          parentId: null,
          format: 'clips',
          sourceFiles: labelled.map((c) => store.get(c.id).sourcePath),
          aligned: args.aligned,
          dims: m.dims,
          splits: {
            train: { count: m.splits.train.count, labels: m.splits.train.labelCounts },
            valid: { count: m.splits.valid.count, labels: m.splits.valid.labelCounts },
            test: { count: m.splits.test.count, labels: m.splits.test.labelCounts },
          },
          ood: null,
          extras: [],
          warnings: built.warnings,
        });
        rmSync(dirname(finalDir), { recursive: true, force: true });
        datasetId = d.id;
        folder = datasets.dir(d);
        ctx.events.emit({ type: 'datasets.changed' });
      }
      const m = built.manifest;
      return {
        folder,
        name: args.name,
        aligned: args.aligned,
        counts: { train: m.splits.train.count, valid: m.splits.valid.count, test: m.splits.test.count },
        dims: { L: m.dims.L!, Ta: m.dims.Ta, da: m.dims.da, Tv: m.dims.Tv, dv: m.dims.dv },
        seed: args.seed,
        clipIds: built.assignment,
        warnings: built.warnings,
        datasetId,
      };
    },
    setFfmpeg: ({ path }) => {
      const info = findFfmpeg(path ? resolve(path) : null);
      if (path && info.source !== 'setting')
        throw new AppError('INVALID_INPUT', `${resolve(path)}: not an ffmpeg binary that runs here`);
      ctx.settings.set('ffmpeg.path', path ? resolve(path) : null);
      ffmpegInfo = info;
      return { path: info.path, version: info.version, source: info.source };
    },
    setBertDir: ({ bertDir }) => {
      if (bertDir && !existsSync(join(resolve(bertDir), 'vocab.txt')))
        throw new AppError('INVALID_INPUT', `${resolve(bertDir)}: no vocab.txt in this folder`);
      ctx.settings.set('clips.bertDir', bertDir ? resolve(bertDir) : null);
      return { bertDir: bertDir ? resolve(bertDir) : null };
    },
  };

  return {
    handlers,
    store,
    tiers,
    mediaFile(id) {
      const c: Clip = store.get(id);
      return {
        path: c.sourcePath,
        mime: VIDEO_MIME[extname(c.sourcePath).toLowerCase()] ?? 'application/octet-stream',
      };
    },
  };
}
