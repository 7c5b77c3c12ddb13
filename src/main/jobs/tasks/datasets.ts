/**
 * Dataset jobs, run in a worker: 'dataset.import' (an MMSA pickle / joblib file or a .csd set,
 * plus optional confounder and prior .npy files) and 'dataset.splitOod' (an OOD repartition of an
 * IID dataset). Each writes a complete feature store into its job's staging folder
 * (<dataDir>/datasets/.staging/job-<id>/store) and returns a summary; main then moves the folder
 * into place and records it in SQLite in one step (services/datasets.ts, the runner's commit hook).
 * The worker never touches the database; a failed or cancelled job leaves only its staging
 * folder, which main removes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { AppError } from '../../../shared/errors';
import type { DatasetSplit, OodBuild } from '../../../shared/contract/datasets';
import type { JobParams, StagedDataset } from '../../../shared/jobs';
import {
  attachExtra,
  buildOodSplits,
  CsdSequence,
  DataImportError,
  FeatureStore,
  importCsd,
  importMmsa,
  readClassPrior,
  readConfounderVector,
  readNpyHeader,
  SPLITS,
  type DatasetManifest,
  type ImportProgress,
  type OodRecord,
} from '../../data';
import type { TaskContext } from '../protocol';
import { stagedStore, stagingDir } from '../../store/paths';

function summarize(dir: string, m: DatasetManifest, ood: OodRecord | null): StagedDataset {
  return {
    staged: dir,
    format: m.source.kind,
    sourceFiles: m.source.files,
    aligned: m.aligned,
    dims: m.dims,
    splits: Object.fromEntries(
      SPLITS.map((s) => [
        s,
        {
          count: m.splits[s].count,
          labels: { three: m.splits[s].labelCounts.three, seven: m.splits[s].labelCounts.seven },
        },
      ]),
    ) as StagedDataset['splits'],
    ood: ood ? oodBuild(ood) : null,
    extras: Object.keys(m.extras ?? {}),
    warnings: m.warnings,
  };
}

/** the build record without its per-sample provenance (that stays in the folder's manifest) */
function oodBuild(r: OodRecord): OodBuild {
  return {
    method: r.method,
    seed: r.seed,
    strength: r.strength,
    sizes: r.sizes,
    pool3: r.pool3,
    targetTest3: r.targetTest3,
    plannedTest3: r.plannedTest3,
    biasAgreement: r.biasAgreement,
    biasWordCount: r.biasWordCount,
  };
}

/** progress at most every 100 ms (a streaming read reports far more often) */
function throttled(ctx: TaskContext): (fraction: number, message: string, force?: boolean) => void {
  let last = 0;
  return (fraction, message, force) => {
    const now = Date.now();
    if (!force && now - last < 100) return;
    last = now;
    ctx.progress(Math.min(1, Math.max(0, fraction)), message);
  };
}

function importProgress(report: ReturnType<typeof throttled>): (p: ImportProgress) => void {
  return (p) => {
    if (p.phase === 'reading')
      report(
        (0.85 * p.done) / Math.max(1, p.total),
        `reading ${(p.done / 2 ** 20).toFixed(0)} of ${(p.total / 2 ** 20).toFixed(0)} MB`,
      );
    else if (p.phase === 'validating')
      report(0.85 + (0.13 * p.done) / Math.max(1, p.total), `writing arrays ${p.done}/${p.total}`, true);
  };
}

export async function datasetImportTask(
  p: JobParams<'dataset.import'>,
  ctx: TaskContext<'dataset.import'>,
): Promise<StagedDataset> {
  const staging = stagingDir(ctx.dataDir, ctx.jobId);
  await fs.promises.rm(staging, { recursive: true, force: true });
  await fs.promises.mkdir(staging, { recursive: true });
  const outDir = stagedStore(ctx.dataDir, ctx.jobId);
  const report = throttled(ctx);
  report(0, `importing ${p.files.map((f) => path.basename(f)).join(', ')}`, true);
  const { dir, manifest } =
    p.format === 'mmsa'
      ? await importMmsa(p.files[0], {
          outDir,
          name: p.name,
          signal: ctx.signal,
          onProgress: importProgress(report),
          alignment: p.alignment ?? 'auto',
        })
      : await importCsd({
          ...(await csdRoles(p.files)),
          folds: await readFolds(p.folds),
          outDir,
          name: p.name,
          signal: ctx.signal,
          onProgress: importProgress(report),
        });
  if (manifest.alignment) ctx.log('info', `alignment (${manifest.alignment.how}): ${manifest.alignment.reason}`);
  for (const w of manifest.warnings) ctx.log('warn', w);
  let m = manifest;
  for (const file of p.extras) {
    ctx.throwIfCancelled();
    const kind = await attachNpy(dir, file, m);
    ctx.log('info', `stored ${kind} ${path.basename(file)}`);
    m = JSON.parse(await fs.promises.readFile(path.join(dir, 'manifest.json'), 'utf8')) as DatasetManifest;
  }
  const n = SPLITS.map((s) => m.splits[s].count);
  report(1, `imported ${n.join('/')} train/valid/test samples`, true);
  return summarize(dir, m, null);
}

/** a confounder vector or a class prior, by its name (confounder_* / prior_*) or else its length */
async function attachNpy(dir: string, file: string, m: DatasetManifest): Promise<'confounder' | 'prior'> {
  const base = path.basename(file).replace(/\.npy$/i, '');
  const dims = m.dims.dl !== null ? { dl: m.dims.dl, da: m.dims.da, dv: m.dims.dv } : undefined;
  let kind: 'confounder' | 'prior' = /^prior/i.test(base) ? 'prior' : 'confounder';
  if (!/^(prior|confounder)/i.test(base)) {
    const h = await readNpyHeader(file);
    if (h.shape.length === 1 && (h.shape[0] === 3 || h.shape[0] === 7)) kind = 'prior';
  }
  const key = `${kind}/${base.replace(/[^\w.-]+/g, '_')}`;
  if (kind === 'prior')
    await attachExtra(dir, key, await readClassPrior(file), `class prior from ${path.basename(file)}`);
  else {
    const v = await readConfounderVector(file, dims);
    if (!dims && v.length <= m.dims.da + m.dims.dv)
      throw new DataImportError(
        { file: path.basename(file), field: 'confounder' },
        `has ${v.length} values; a confounder vector holds dl+da+dv values (da+dv = ${m.dims.da + m.dims.dv} here)`,
      );
    await attachExtra(dir, key, v, `confounder vector from ${path.basename(file)}`);
  }
  return kind;
}

const ROLE_PATTERNS: [role: 'audio' | 'vision' | 'labels' | 'words', pattern: RegExp][] = [
  ['labels', /label|sentiment|emotion/i],
  ['words', /word|phone/i],
  ['vision', /facet|openface|visual|vision|emotient|face/i],
  ['audio', /covarep|opensmile|audio|acoustic|wav2vec/i],
];

/** which .csd file is audio, vision, labels, words: by the sequence's root name, else the file name */
async function csdRoles(files: string[]): Promise<{ audio: string; vision: string; labels: string; words?: string }> {
  const roles: Partial<Record<'audio' | 'vision' | 'labels' | 'words', string>> = {};
  for (const f of files) {
    const q = await CsdSequence.open(f);
    const rootName = q.name;
    q.close();
    const hit =
      ROLE_PATTERNS.find(([, re]) => re.test(rootName)) ?? ROLE_PATTERNS.find(([, re]) => re.test(path.basename(f)));
    if (!hit)
      throw new DataImportError(
        { file: path.basename(f) },
        `cannot tell whether sequence '${rootName}' is audio, vision, labels or words (expected a name such as COVAREP, FACET, OpenFace, Opinion Segment Labels, words)`,
      );
    if (roles[hit[0]])
      throw new DataImportError(
        { file: path.basename(f) },
        `is a second ${hit[0]} sequence (already have ${path.basename(roles[hit[0]]!)})`,
      );
    roles[hit[0]] = f;
  }
  for (const r of ['audio', 'vision', 'labels'] as const)
    if (!roles[r])
      throw new DataImportError(
        { file: files.map((f) => path.basename(f)).join(', ') },
        `no ${r} sequence among the .csd files`,
      );
  return roles as { audio: string; vision: string; labels: string; words?: string };
}

async function readFolds(file: string | undefined): Promise<Record<DatasetSplit, string[]>> {
  if (!file)
    throw new DataImportError(
      { file: 'folds' },
      'a .csd set needs its folds: a JSON file {"train": [ids], "valid": [ids], "test": [ids]} (the SDK\'s standard folds)',
    );
  const label = path.basename(file);
  let v: unknown;
  try {
    v = JSON.parse(await fs.promises.readFile(file, 'utf8'));
  } catch (e) {
    throw new DataImportError({ file: label }, `not a readable JSON file (${(e as Error).message})`);
  }
  const out = {} as Record<DatasetSplit, string[]>;
  for (const s of SPLITS) {
    const ids = (v as Record<string, unknown> | null)?.[s];
    if (!Array.isArray(ids) || !ids.every((x) => typeof x === 'string'))
      throw new DataImportError({ file: label, split: s }, 'expected a list of segment ids');
    out[s] = ids;
  }
  return out;
}

export async function datasetSplitOodTask(
  p: JobParams<'dataset.splitOod'>,
  ctx: TaskContext<'dataset.splitOod'>,
): Promise<StagedDataset> {
  const staging = stagingDir(ctx.dataDir, ctx.jobId);
  await fs.promises.rm(staging, { recursive: true, force: true });
  await fs.promises.mkdir(staging, { recursive: true });
  const report = throttled(ctx);
  report(0, `repartitioning with seed ${p.seed}`, true);
  let src: FeatureStore;
  try {
    src = await FeatureStore.open(p.sourceDir);
  } catch (e) {
    throw new AppError('INVALID_INPUT', `the source dataset's feature store cannot be read (${(e as Error).message})`);
  }
  try {
    const { dir, manifest, record } = await buildOodSplits(src, {
      seed: p.seed,
      outDir: stagedStore(ctx.dataDir, ctx.jobId),
      name: p.name,
      strength: p.strength,
      targetTest3: p.targetTest3,
      biasWordCount: p.biasWordCount,
      signal: ctx.signal,
      onProgress: (done, total) => report((0.98 * done) / total, `writing arrays ${done}/${total}`, done === total),
    });
    ctx.log('info', `test 3-class counts ${record.achieved.test.three.join('/')} (pool ${record.pool3.join('/')})`);
    report(1, 'OOD split built', true);
    return summarize(dir, manifest, record);
  } finally {
    await src.close();
  }
}
