/** `cider import`, `cider datasets`, `cider split-ood`: benchmark datasets from the command line. */
import type { Dataset } from '../../shared/contract/datasets';
import { resultOf, type JobRecordOf } from '../../shared/jobs';
import { flagNumber, flagString, UsageError, type ParsedArgs } from '../args';
import { call, follow, jobLine, print, type Command } from '../io';
import type { AppServices } from '../../main/services/app';

export const DATASETS_HELP = `  import FILE... [--name NAME] [--ood-of DATASET] [--extra NPY,...] [--folds JSON]
                              import an MMSA pickle / joblib file (or a .csd set with --folds) as a dataset (a job)
  datasets [list]             list datasets with split sizes and 3-class label counts
  datasets remove DATASET     remove a dataset and its feature files
  split-ood DATASET --seed N [--name NAME] [--strength S]
                              build a seeded OOD repartition of an IID dataset (a job)
`;

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
    const job = await call<JobRecordOf<'dataset.import'>>(app, 'datasets.import', {
      files,
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
      const list = await call<Dataset[]>(app, 'datasets.list', {});
      print(io, args, list, () =>
        list.length ? list.map(datasetLine) : ['no datasets (import one with "cider import FILE --name NAME")'],
      );
      return 0;
    }
    if (sub === 'remove') {
      const d = await resolve(app, args.positionals[2], 'datasets remove');
      const r = await call<{ removed: true }>(app, 'datasets.remove', { id: d.id });
      print(io, args, r, () => [`removed dataset ${d.id}: ${d.name}`]);
      return 0;
    }
    throw new UsageError(`unknown subcommand "datasets ${sub}"`);
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
