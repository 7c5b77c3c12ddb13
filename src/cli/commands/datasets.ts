/** `cider import`, `cider datasets`, `cider split-ood`: benchmark datasets from the command line. */
import type { Dataset } from '../../shared/contract/datasets';
import { resultOf, type JobRecordOf } from '../../shared/jobs';
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
import type { AppServices } from '../../main/services/app';

const project = { type: 'integer', value: 'ID', help: 'the project the job belongs to' } as const;

/** what `list` says when there is nothing to list */
const NO_DATASETS = 'no datasets (import one with "cider import FILE --name NAME")';

export const DATASETS_SPECS: Record<string, CommandSpec> = {
  import: {
    usage: [
      'import FILE... [--name NAME] [--ood-of DATASET] [--extra NPY,...] [--folds JSON] [--aligned | --unaligned]',
    ],
    summary:
      'import an MMSA pickle / joblib file (or a .csd set with --folds) as a dataset (a job); aligned\ndata is judged from the shapes and lengths unless --aligned/--unaligned says so',
    options: {
      name: { type: 'string', value: 'NAME', help: "the dataset's name (default: the first file's name)" },
      'ood-of': {
        type: 'string',
        value: 'DATASET',
        help: 'import as the OOD version of this IID dataset (id or name)',
      },
      extra: { type: 'string', value: 'NPY,...', help: 'confounder / prior .npy files stored with the dataset' },
      folds: {
        type: 'string',
        value: 'JSON',
        help: '.csd sets: a JSON file {train: [ids], valid: [...], test: [...]}',
      },
      aligned: { type: 'boolean', help: 'treat the data as word-aligned (checked against the shapes)' },
      unaligned: { type: 'boolean', help: 'treat the data as unaligned' },
      project,
    },
  },
  datasets: {
    usage: ['datasets [list]', 'datasets remove DATASET [--force]'],
    summary:
      'list datasets with split sizes and 3-class label counts; remove one and its feature files\n(refused while runs use it, unless --force, which marks those runs)',
    subcommands: ['list', 'remove'],
    options: {
      force: { type: 'boolean', help: 'remove even if runs use the dataset (they are marked; not while one trains)' },
    },
  },
  'split-ood': {
    usage: ['split-ood DATASET --seed N [--name NAME] [--strength S]'],
    summary: 'build a seeded OOD repartition of an IID dataset (a job)',
    options: {
      seed: { type: 'integer', value: 'N', help: 'the repartition seed (required)' },
      name: { type: 'string', value: 'NAME', help: "the new dataset's name" },
      strength: {
        type: 'number',
        value: 'S',
        help: "0 keeps the pool's label mix in test, 1 swaps negative and positive (default 1)",
      },
      project,
    },
  },
};

const splits = (d: Dataset) => `${d.splits.train.count}/${d.splits.valid.count}/${d.splits.test.count}`;
const counts3 = (d: Dataset) =>
  (['train', 'valid', 'test'] as const).map((s) => `${s} ${d.splits[s].labels.three.join('/')}`).join('  ');

export function datasetLine(d: Dataset): string {
  return `${String(d.id).padStart(5)}  ${d.name.padEnd(28)} ${d.kind.padEnd(4)} ${d.format.padEnd(11)} ${splits(d).padEnd(16)} 3-class ${counts3(d)}`;
}

/** DATASET as an id or a name */
async function resolve(app: AppServices, ref: string | undefined, what: string): Promise<Dataset> {
  if (!ref) throw new UsageError(`${what} needs a DATASET (id or name)`);
  const list = await call<Dataset[]>(app, 'datasets.list', {});
  const byName = list.find((d) => d.name.toLowerCase() === ref.toLowerCase());
  if (byName) return byName;
  if (/^\d+$/.test(ref)) return call<Dataset>(app, 'datasets.get', { id: Number(ref) });
  throw new UsageError(`no dataset named "${ref}" (see "cider datasets")`);
}

async function finish(
  app: AppServices,
  args: ParsedArgs,
  io: Parameters<Command>[2],
  job: JobRecordOf<'dataset.import' | 'dataset.splitOod'>,
): Promise<number> {
  const done = await follow(app, job, io);
  print(io, args, done, () => {
    if (done.status !== 'succeeded') return [jobLine(done)];
    const d = resultOf(done);
    return [
      `dataset ${d.id}: ${d.name} (${d.kind}, ${splits(d)} train/valid/test)`,
      ...d.warnings.map((w) => `  warning: ${w}`),
    ];
  });
  return done.status === 'succeeded' ? 0 : 1;
}

export const DATASET_COMMANDS: Record<string, Command> = {
  async import(app, args, io) {
    const files = args.positionals.slice(1);
    if (!files.length) throw new UsageError('import needs a FILE');
    const oodOf = flagString(args, 'ood-of');
    const parent = oodOf ? await resolve(app, oodOf, '--ood-of') : undefined;
    const extras = (flagString(args, 'extra') ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    if (flagBoolean(args, 'aligned') && flagBoolean(args, 'unaligned'))
      throw new UsageError('give at most one of --aligned and --unaligned');
    const alignment = flagBoolean(args, 'aligned')
      ? 'aligned'
      : flagBoolean(args, 'unaligned')
        ? 'unaligned'
        : undefined;
    for (const f of ['aligned', 'unaligned'])
      if (typeof args.flags.get(f) === 'string' && args.flags.get(f) !== 'true')
        throw new UsageError(`--${f} takes no value (put it after the FILE)`);
    const job = await call<JobRecordOf<'dataset.import'>>(app, 'datasets.import', {
      files,
      alignment,
      name: flagString(args, 'name'),
      ...(parent ? { kind: 'ood', parentId: parent.id } : {}),
      extras,
      folds: flagString(args, 'folds'),
      projectId: flagNumber(args, 'project'),
    });
    return finish(app, args, io, job);
  },
  async datasets(app, args, io) {
    const sub = args.positionals[1] ?? 'list';
    if (sub === 'list') {
      await printList(app, args, io, { method: 'datasets.list' }, datasetLine, NO_DATASETS);
      return 0;
    }
    if (sub === 'remove') {
      const d = await resolve(app, args.positionals[2], 'datasets remove');
      const r = await call<{ removed: true; markedRuns: number[] }>(app, 'datasets.remove', {
        id: d.id,
        force: flagBoolean(args, 'force'),
      });
      print(io, args, r, () => [
        `removed dataset ${d.id}: ${d.name}`,
        ...(r.markedRuns.length ? [`marked run(s) ${r.markedRuns.join(', ')}: their dataset is gone`] : []),
      ]);
      return 0;
    }
    throw unknownSubcommand('datasets', sub, DATASETS_SPECS.datasets);
  },
  async 'split-ood'(app, args, io) {
    const d = await resolve(app, args.positionals[1], 'split-ood');
    const seed = flagNumber(args, 'seed');
    if (seed === undefined) throw new UsageError('split-ood needs --seed N');
    const job = await call<JobRecordOf<'dataset.splitOod'>>(app, 'datasets.splitOod', {
      id: d.id,
      seed,
      name: flagString(args, 'name'),
      strength: flagNumber(args, 'strength'),
      projectId: flagNumber(args, 'project'),
    });
    return finish(app, args, io, job);
  },
};
