/** `cider clips ...`: import videos, extract features, agreement, exchange, dataset export. */
import type { Clip, DatasetExportResult, ImportResult, ProjectAgreement } from '../../shared/clips';
import type { JobRecordOf } from '../../shared/jobs';
import type { AppServices } from '../../main/services/app';
import {
  flagBoolean,
  flagNumber,
  flagString,
  unknownSubcommand,
  UsageError,
  type CommandSpec,
  type ParsedArgs,
} from '../args';
import { call, follow, jobLine, print, printList, type Command } from '../io';

export const CLIPS_SPECS: Record<string, CommandSpec> = {
  clips: {
    usage: [
      'clips import PATH... [--project ID] [--transcript FILE] [--recursive]',
      'clips list [--project ID]',
      'clips extract [--project ID] [--bert DIR] [--vision-rate FPS] [--force]',
      'clips agreement [--project ID]',
      'clips export-eaf CLIP FILE | clips import-eaf CLIP FILE',
      'clips export-csv FILE [--project ID] | clips import-csv FILE [--project ID]',
      'clips export-dataset NAME [--project ID] [--splits 0.7,0.15,0.15] [--seed N] [--aligned]',
    ],
    summary:
      "import videos (.mp4 .webm .mov .mkv, a same-named .srt/.vtt/.txt is the transcript), list them, extract\nfeatures (a job), Krippendorff's alpha and kappas, ELAN/CSV exchange, export as a dataset",
    subcommands: [
      'import',
      'list',
      'extract',
      'agreement',
      'export-eaf',
      'import-eaf',
      'export-csv',
      'import-csv',
      'export-dataset',
    ],
    options: {
      project: { type: 'integer', value: 'ID', help: 'the project (default: the only one)' },
      transcript: { type: 'string', value: 'FILE', help: 'import: the transcript of a single video' },
      recursive: { type: 'boolean', help: 'import: look into sub-folders' },
      bert: { type: 'string', value: 'DIR', help: 'extract: a BERT folder for text features' },
      'vision-rate': { type: 'number', value: 'FPS', help: 'extract: vision frames per second' },
      force: { type: 'boolean', help: 'extract: recompute cached features' },
      splits: {
        type: 'string',
        value: 'TRAIN,VALID,TEST',
        help: 'export-dataset: proportions (default 0.7,0.15,0.15)',
      },
      seed: { type: 'integer', value: 'N', help: 'export-dataset: split seed' },
      aligned: { type: 'boolean', help: 'export-dataset: word-aligned features' },
    },
  },
};

async function projectOf(app: AppServices, args: ParsedArgs): Promise<number> {
  const given = flagNumber(args, 'project');
  if (given !== undefined) return given;
  const list = await call<{ id: number }[]>(app, 'projects.list', {});
  if (!list.length) throw new UsageError('no project yet: create one with "cider projects create NAME"');
  if (list.length > 1) throw new UsageError('several projects: choose one with --project ID ("cider projects list")');
  return list[0].id;
}

const mark = (c: Clip, m: 'text' | 'audio' | 'vision') =>
  c.modalities[m].available ? m : `no ${m} (${c.modalities[m].reason})`;
export const clipLine = (c: Clip) =>
  `${String(c.id).padStart(5)}  ${c.name.padEnd(28)} ${c.durationSec.toFixed(1).padStart(6)} s  ${mark(c, 'text')}, ${mark(c, 'audio')}, ${mark(c, 'vision')}`;
const fmt = (x: number | null | undefined) => (x === null || x === undefined ? 'n/a' : x.toFixed(3));

export const CLIPS_COMMANDS: Record<string, Command> = {
  async clips(app, args, io) {
    const sub = args.positionals[1] ?? 'list';
    const rest = args.positionals.slice(2);
    if (sub === 'import') {
      if (!rest.length) throw new UsageError('clips import needs at least one PATH');
      const r = await call<ImportResult>(app, 'clips.import', {
        projectId: await projectOf(app, args),
        paths: rest,
        transcript: flagString(args, 'transcript'),
        recursive: flagBoolean(args, 'recursive'),
      });
      print(io, args, r, () => [
        ...r.imported.map(clipLine),
        ...r.skipped.map((s) => `skipped (already imported as clip ${s.clipId}): ${s.file}`),
        ...r.failed.map((f) => `failed: ${f.message}`),
        `${r.imported.length} imported, ${r.skipped.length} skipped, ${r.failed.length} failed`,
      ]);
      return r.failed.length && !r.imported.length ? 1 : 0;
    }
    if (sub === 'list') {
      await printList(
        app,
        args,
        io,
        { method: 'clips.list', args: { projectId: await projectOf(app, args) } },
        clipLine,
        'no clips',
      );
      return 0;
    }
    if (sub === 'extract') {
      const job = await call<JobRecordOf<'clips.extract'>>(app, 'clips.extract', {
        projectId: await projectOf(app, args),
        bertDir: flagString(args, 'bert'),
        visionRate: flagNumber(args, 'vision-rate'),
        force: flagBoolean(args, 'force'),
      });
      const done = await follow(app, job, io);
      print(io, args, done, () => [jobLine(done)]);
      return done.status === 'succeeded' ? 0 : 1;
    }
    if (sub === 'agreement') {
      const a = await call<ProjectAgreement>(app, 'clips.agreement', { projectId: await projectOf(app, args) });
      print(io, args, a, () => [
        `annotators: ${a.annotators.map((x) => x.name).join(', ') || 'none'}; units rated by two or more: ${a.units}`,
        `Krippendorff's alpha (interval, scores): ${fmt(a.alphaInterval)}; nominal on 3/7 classes: ${fmt(a.alpha3)} / ${fmt(a.alpha7)}`,
        `${a.kappa3?.method === 'fleiss' ? "Fleiss'" : "Cohen's"} kappa 3-class: ${fmt(a.kappa3?.value)}, 7-class: ${fmt(a.kappa7?.value)}`,
        ...a.clips.map(
          (c) =>
            `  clip ${c.clipId}: mean ${fmt(c.meanScore)}, range ${fmt(c.scoreRange)}, same 3-class ${fmt(c.pairAgreement3)}`,
        ),
      ]);
      return 0;
    }
    if (sub === 'export-eaf' || sub === 'import-eaf') {
      const [clip, file] = rest;
      if (!clip || !file) throw new UsageError(`clips ${sub} needs CLIP (id) and FILE`);
      const r = await call<unknown>(app, sub === 'export-eaf' ? 'clips.exportEaf' : 'clips.importEaf', {
        id: Number(clip),
        path: file,
      });
      print(io, args, sub === 'export-eaf' ? { path: file } : r, () => [
        sub === 'export-eaf' ? `wrote ${file}` : `read ${file}: ${JSON.stringify(r)}`,
      ]);
      return 0;
    }
    if (sub === 'export-csv' || sub === 'import-csv') {
      const [file] = rest;
      if (!file) throw new UsageError(`clips ${sub} needs FILE`);
      const r = await call<unknown>(app, sub === 'export-csv' ? 'clips.exportCsv' : 'clips.importCsv', {
        projectId: await projectOf(app, args),
        path: file,
      });
      print(io, args, sub === 'export-csv' ? { path: file } : r, () => [
        sub === 'export-csv' ? `wrote ${file}` : `read ${file}: ${JSON.stringify(r)}`,
      ]);
      return 0;
    }
    if (sub === 'export-dataset') {
      const name = rest[0];
      if (!name) throw new UsageError('clips export-dataset needs a NAME');
      const parts = (flagString(args, 'splits') ?? '0.7,0.15,0.15').split(',').map(Number);
      if (parts.length !== 3 || parts.some((x) => !Number.isFinite(x) || x < 0))
        throw new UsageError('--splits takes three proportions: train,valid,test');
      const r = await call<DatasetExportResult>(app, 'clips.exportDataset', {
        projectId: await projectOf(app, args),
        name,
        splits: { train: parts[0], valid: parts[1], test: parts[2] },
        seed: flagNumber(args, 'seed'),
        aligned: flagBoolean(args, 'aligned'),
      });
      print(io, args, r, () => [
        `dataset "${r.name}"${r.datasetId !== null ? ` (id ${r.datasetId})` : ''}: train ${r.counts.train}, valid ${r.counts.valid}, test ${r.counts.test}; L ${r.dims.L}, audio ${r.dims.Ta}x${r.dims.da}, vision ${r.dims.Tv}x${r.dims.dv}${r.aligned ? ' (aligned)' : ''}`,
        `folder: ${r.folder}`,
        ...r.warnings.map((w) => `warning: ${w}`),
      ]);
      return 0;
    }
    throw unknownSubcommand('clips', sub, CLIPS_SPECS.clips);
  },
};
