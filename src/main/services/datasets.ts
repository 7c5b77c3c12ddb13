/**
 * The datasets service: handlers for src/shared/contract/datasets.ts, from a factory given the
 * ServiceContext. Imports and OOD builds run as jobs (jobs/tasks/datasets.ts) that stage a
 * complete feature store; the runner's commit hook (here, on the main thread, the only SQLite
 * owner) moves it into <dataDir>/datasets and inserts the row in one step. Reads (samples, bias
 * words) open the dataset's feature store and fetch only the rows asked for.
 *
 * Bias-word strings: an MMSA file holds BERT token ids and the raw text but no vocabulary. A word
 * is recovered by aligning them: in every training sample whose raw text splits into exactly as
 * many basic words (BERT's basic tokenization: lower-case, accents stripped, punctuation split)
 * as it has non-special token ids, the k-th word is a vote for the k-th id; an id takes the word
 * with most votes. Ids whose samples never align (WordPiece split the word) are shown as ids.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Handlers } from '../../shared/api';
import { AppError } from '../../shared/errors';
import type { JobRecordOf, StagedDataset } from '../../shared/jobs';
import { nameSchema } from '../../shared/contract/method';
import type { BiasWordList, Dataset, FeatureTrack, SampleDetail, SampleSummary } from '../../shared/contract/datasets';
import { FeatureStore, type SplitReader } from '../data/featureStore';
import { biasWords, SPECIAL_TOKEN_IDS, tokenClassCounts } from '../data/labels';
import { detectImportFormat } from '../data/importFormat';
import { datasetsRoot, stagedStore, stagingDir } from '../store/paths';
import { datasetFolderName, DatasetStore } from '../store/datasets';
import type { ServiceContext } from './app';

export function datasetsService(ctx: ServiceContext): { handlers: Handlers<void>['datasets']; store: DatasetStore } {
  const store = new DatasetStore(ctx.db, datasetsRoot(ctx.dataDir));
  removeLeftovers(ctx, store.root);
  const biasCache = new Map<string, BiasWordList>();

  const commit = (
    job: JobRecordOf<'dataset.import'> | JobRecordOf<'dataset.splitOod'>,
    staged: StagedDataset,
  ): Dataset => {
    const p = job.params;
    const d = store.commit(stagedStore(ctx.dataDir, job.id), datasetFolderName(`d${job.id}`, p.name), {
      name: p.name,
      kind: p.kind ?? (staged.ood ? 'ood' : 'iid'),
      parentId: p.parentId ?? null,
      format: staged.format,
      sourceFiles: staged.sourceFiles,
      aligned: staged.aligned,
      dims: staged.dims,
      splits: staged.splits,
      ood: staged.ood,
      extras: staged.extras,
      warnings: staged.warnings,
    });
    ctx.events.emit({ type: 'datasets.changed' });
    return d;
  };
  const cleanup = (job: { id: number }) => fs.rmSync(stagingDir(ctx.dataDir, job.id), { recursive: true, force: true });
  ctx.runner.setKindHooks('dataset.import', { commit, cleanup });
  ctx.runner.setKindHooks('dataset.splitOod', { commit, cleanup });

  const open = async <T>(d: Dataset, fn: (s: FeatureStore) => Promise<T>): Promise<T> => {
    let s: FeatureStore;
    try {
      s = await FeatureStore.open(store.dir(d));
    } catch (e) {
      throw new AppError(
        'INVALID_INPUT',
        `dataset "${d.name}": its feature store ${store.dir(d)} cannot be read (${(e as Error).message})`,
      );
    }
    try {
      return await fn(s);
    } finally {
      await s.close();
    }
  };
  const checkName = (name: string) => {
    // a default name comes from a file name, which may hold anything a name must not
    const valid = nameSchema('a dataset').safeParse(name);
    if (!valid.success)
      throw new AppError(
        'INVALID_INPUT',
        `${valid.error.issues[0].message} (the name "${JSON.stringify(name).slice(1, -1)}" comes from the file name; choose another)`,
      );
    if (store.nameTaken(name)) throw new AppError('CONFLICT', `a dataset named "${name}" already exists`);
  };

  const handlers: Handlers<void>['datasets'] = {
    list: () => store.list(),
    get: ({ id }) => store.get(id),

    import: ({ files, name, kind, parentId, extras, folds, alignment, projectId }) => {
      if (projectId !== undefined) ctx.projects.get(projectId);
      const abs = files.map((f) => path.resolve(f));
      const format = detectImportFormat(abs);
      const extraFiles = extras.map((f) => path.resolve(f));
      for (const f of extraFiles)
        if (!fs.existsSync(f)) throw new AppError('INVALID_INPUT', `${f}: file not found`, { file: f });
      const foldsFile = folds === undefined ? undefined : path.resolve(folds);
      if (format === 'csd' && !foldsFile)
        throw new AppError(
          'INVALID_INPUT',
          'a .csd set needs its folds: a JSON file {"train": [ids], "valid": [ids], "test": [ids]} (the SDK\'s standard folds)',
        );
      if (format === 'csd' && alignment !== 'auto')
        throw new AppError('INVALID_INPUT', `--${alignment} applies to MMSA pickle / joblib files, not to .csd sets`);
      if (parentId !== undefined) {
        const parent = store.get(parentId);
        if (kind !== 'ood')
          throw new AppError('INVALID_INPUT', 'only an OOD version has a parent dataset (pass kind "ood")');
        if (parent.kind !== 'iid')
          throw new AppError(
            'INVALID_INPUT',
            `dataset "${parent.name}" is itself an OOD version; choose its IID dataset`,
          );
      }
      const datasetName = name ?? path.basename(abs[0]).replace(/\.[^.]+$/, '');
      checkName(datasetName);
      return ctx.runner.submit(
        'dataset.import',
        {
          files: abs,
          name: datasetName,
          format,
          extras: extraFiles,
          ...(foldsFile ? { folds: foldsFile } : {}),
          alignment,
          kind,
          parentId: parentId ?? null,
        },
        projectId ?? null,
      );
    },

    splitOod: ({ id, seed, name, strength, targetTest3, biasWordCount, projectId }) => {
      if (projectId !== undefined) ctx.projects.get(projectId);
      const d = store.get(id);
      if (d.kind !== 'iid')
        throw new AppError(
          'INVALID_INPUT',
          `dataset "${d.name}" is already an OOD version; build OOD splits from its IID dataset`,
        );
      const datasetName = name ?? `${d.name} OOD seed ${seed}`;
      checkName(datasetName);
      return ctx.runner.submit(
        'dataset.splitOod',
        {
          sourceDir: store.dir(d),
          name: datasetName,
          seed,
          kind: 'ood',
          parentId: d.id,
          ...(strength !== undefined ? { strength } : {}),
          ...(targetTest3 ? { targetTest3 } : {}),
          ...(biasWordCount ? { biasWordCount } : {}),
        },
        projectId ?? null,
      );
    },

    remove: ({ id, force }) => {
      const { markedRuns } = store.remove(id, { force });
      for (const k of biasCache.keys()) if (k.startsWith(`${id}:`)) biasCache.delete(k);
      ctx.events.emit({ type: 'datasets.changed' });
      return { removed: true as const, markedRuns };
    },

    biasWords: async ({ id, task, k }) => {
      const d = store.get(id);
      const key = `${id}:${d.createdAt}:${task}:${k}`;
      const cached = biasCache.get(key);
      if (cached) return cached;
      const list = await open(d, async (s) => {
        const train = s.split('train');
        const L = s.manifest.dims.L;
        if (L === null || !train.has('textBert'))
          throw new AppError(
            'INVALID_INPUT',
            `dataset "${d.name}" has no token ids (text_bert), so it has no bias-word dictionary; tokenize its text first`,
          );
        const tokens = (await train.read('textBert')) as Int32Array;
        const labels = task === 3 ? await train.labels3() : await train.labels7();
        const words = biasWords(tokenClassCounts(tokens, L, labels, task), task, k);
        const { rawText } = await train.samples();
        const names = alignWords(tokens, L, rawText, new Set(words.map((w) => w.id)));
        const out: BiasWordList = {
          datasetId: id,
          task,
          k,
          wordSource: rawText.some((t) => t.trim()) ? 'raw-text-alignment' : 'none',
          words: words.map((w) => ({
            id: w.id,
            word: names.get(w.id) ?? null,
            counts: w.counts,
            total: w.total,
            cv: w.cv,
          })),
        };
        return out;
      });
      if (biasCache.size > 32) biasCache.delete(biasCache.keys().next().value!);
      biasCache.set(key, list);
      return list;
    },

    samples: async ({ id, split, offset, limit }) => {
      const d = store.get(id);
      return open(d, async (s) => {
        const r = s.split(split);
        const start = Math.min(offset, r.count);
        const end = Math.min(r.count, start + limit);
        return { split, offset: start, total: r.count, samples: await summaries(r, start, end) };
      });
    },

    sample: async ({ id, split, index, points }) => {
      const d = store.get(id);
      return open(d, async (s): Promise<SampleDetail> => {
        const r = s.split(split);
        if (index >= r.count)
          throw new AppError(
            'NOT_FOUND',
            `dataset "${d.name}": split '${split}' has ${r.count} samples; there is no sample ${index}`,
          );
        const [summary] = await summaries(r, index, index + 1);
        let tokenIds: number[] | null = null;
        if (r.has('textBert')) {
          const L = r.rowShape('textBert')[1];
          const tb = (await r.read('textBert', index, index + 1)) as Int32Array;
          tokenIds = [];
          for (let t = 0; t < L; t++) if (tb[L + t]) tokenIds.push(tb[t]);
        }
        const track = async (name: 'audio' | 'vision', frames: number): Promise<FeatureTrack> => {
          const [T, dch] = r.rowShape(name);
          const x = (await r.read(name, index, index + 1)) as Float32Array;
          return downsample(x, dch, Math.min(frames, T), points);
        };
        return {
          ...summary,
          split,
          tokenIds,
          audio: await track('audio', summary.lengths.audio),
          vision: await track('vision', summary.lengths.vision),
        };
      });
    },
  };
  return { handlers, store };
}

async function summaries(r: SplitReader, start: number, end: number): Promise<SampleSummary[]> {
  if (end <= start) return [];
  const { ids, rawText } = await r.samples();
  const reg = (await r.read('regression', start, end)) as Float32Array;
  const y3 = (await r.read('labels3', start, end)) as Uint8Array;
  const y7 = (await r.read('labels7', start, end)) as Uint8Array;
  const al = (await r.read('audioLengths', start, end)) as Int32Array;
  const vl = (await r.read('visionLengths', start, end)) as Int32Array;
  let textLen: number[] | null = null;
  if (r.has('textBert')) {
    const L = r.rowShape('textBert')[1];
    const tb = (await r.read('textBert', start, end)) as Int32Array;
    textLen = [];
    for (let i = 0; i < end - start; i++) {
      let n = 0;
      for (let t = 0; t < L; t++) n += tb[i * 3 * L + L + t] ? 1 : 0;
      textLen.push(n);
    }
  }
  const out: SampleSummary[] = [];
  for (let i = start; i < end; i++) {
    const k = i - start;
    out.push({
      index: i,
      id: ids[i],
      text: rawText[i],
      regression: reg[k],
      label3: y3[k],
      label7: y7[k],
      lengths: { text: textLen ? textLen[k] : null, audio: al[k], vision: vl[k] },
    });
  }
  return out;
}

/** the first `frames` frames of a (T, d) row, as at most `points` bin means per channel */
export function downsample(x: Float32Array, d: number, frames: number, points: number): FeatureTrack {
  const n = Math.min(points, frames);
  const xs: number[] = [];
  const series: number[][] = Array.from({ length: d }, () => []);
  for (let b = 0; b < n; b++) {
    const f0 = Math.floor((b * frames) / n);
    const f1 = Math.max(f0 + 1, Math.floor(((b + 1) * frames) / n));
    xs.push((f0 + f1 - 1) / 2);
    for (let c = 0; c < d; c++) {
      let sum = 0;
      for (let f = f0; f < f1; f++) sum += x[f * d + c];
      series[c].push(sum / (f1 - f0));
    }
  }
  return { frames, channels: d, x: xs, series };
}

/** BERT's basic tokenization, enough to line words up with ids: lower-case, strip accents, split off punctuation */
export function basicWords(text: string): string[] {
  const clean = text
    .toLowerCase()
    .normalize('NFD')
    .replace(/\p{Mn}/gu, '');
  return clean.match(/[\p{L}\p{N}_]+|[^\s\p{L}\p{N}_]/gu) ?? [];
}

/** word strings for `wanted` ids by voting over samples whose words and ids line up one to one */
export function alignWords(tokens: Int32Array, L: number, rawText: string[], wanted: Set<number>): Map<number, string> {
  const votes = new Map<number, Map<string, number>>();
  for (let i = 0; i < rawText.length; i++) {
    const ids: number[] = [];
    const base = i * 3 * L;
    for (let t = 0; t < L; t++)
      if (tokens[base + L + t] && !SPECIAL_TOKEN_IDS.has(tokens[base + t])) ids.push(tokens[base + t]);
    if (!ids.some((x) => wanted.has(x))) continue;
    const words = basicWords(rawText[i] ?? '');
    if (words.length !== ids.length) continue;
    ids.forEach((id, k) => {
      if (!wanted.has(id)) return;
      let v = votes.get(id);
      if (!v) votes.set(id, (v = new Map()));
      v.set(words[k], (v.get(words[k]) ?? 0) + 1);
    });
  }
  const out = new Map<number, string>();
  for (const [id, v] of votes) {
    const [best] = [...v.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    out.set(id, best[0]);
  }
  return out;
}

/** staging folders of jobs that no longer run, and folders a removal left behind */
function removeLeftovers(ctx: ServiceContext, root: string): void {
  const staging = path.join(root, '.staging');
  for (const name of safeReaddir(staging)) {
    const m = /^job-(\d+)$/.exec(name);
    let running = false;
    if (m) {
      try {
        const j = ctx.jobs.get(Number(m[1]));
        running = j.status === 'queued' || j.status === 'running';
      } catch {
        running = false;
      }
    }
    if (!running) fs.rmSync(path.join(staging, name), { recursive: true, force: true });
  }
  for (const name of safeReaddir(root))
    if (name.startsWith('.removing-')) fs.rmSync(path.join(root, name), { recursive: true, force: true });
}

function safeReaddir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}
