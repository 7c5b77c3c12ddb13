/** `cider search`: a seeded random hyperparameter search over the authors' space, each trial a run. */
import type { SearchRecord, SearchTrial } from '../../shared/contract/search';
import type { TrainingOptionsInput } from '../../shared/contract/training';
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
import { call, follow, jobLine, print, type CliIo, type Command, resolveDataset } from '../io';
import { EXECUTOR_OPTIONS, executorFromFlags, printSbatchPreview } from './cluster';

export const SEARCH_SPECS: Record<string, CommandSpec> = {
  search: {
    usage: [
      'search --dataset DATASET --trials N [--seed S] [--task 3|7] [--epochs N] [--batch-size B] [--patience P] [--d N]',
      '       [--executor local|slurm|queue] [--partition P] [--time HH:MM:SS] [--cpus N] [--mem 8G] [--gpus N]',
      '       [--shared-dir DIR] [--dry-run] [--queue redis://HOST:PORT]',
      'search list | search show SEARCH',
    ],
    summary:
      "random search (seeded; not the authors' TPE) over layers, heads, dropouts and\nloss weights; each trial is a run; prints the trials best first",
    subcommands: ['list', 'show'],
    options: {
      dataset: { type: 'string', value: 'DATASET', help: 'the dataset (id or name; required)' },
      trials: { type: 'integer', value: 'N', help: 'number of trials (required)' },
      seed: { type: 'integer', value: 'S', help: 'search seed' },
      task: { type: 'integer', choices: ['3', '7'], help: '3- or 7-class task' },
      epochs: { type: 'integer', value: 'N', help: 'maximum epochs per trial' },
      'batch-size': { type: 'integer', value: 'B', help: 'batch size' },
      patience: { type: 'integer', value: 'P', help: 'early-stopping patience' },
      d: { type: 'integer', value: 'N', help: 'model width' },
      name: { type: 'string', value: 'NAME', help: "the search's name" },
      project: { type: 'integer', value: 'ID', help: 'the project the runs belong to' },
      ...EXECUTOR_OPTIONS,
    },
  },
};

const fmt = (x: number | null) => (x === null || !Number.isFinite(x) ? 'n/a' : x.toFixed(4));

export function trialLine(t: SearchTrial): string {
  const p = t.params;
  const d = p.dropouts;
  const w = p.lossWeights;
  return `  ${String(t.trial).padStart(5)}  ${t.runId === null ? '    -' : String(t.runId).padStart(5)}  ${t.status.padEnd(11)} ${fmt(t.bestMetric).padStart(7)}  layers ${p.layers} heads ${p.heads}  dropout ${[d.relu, d.residual, d.attention, d.embedding, d.output].join('/')}  weights ${[w.joint, w.attention, w.reconstruction].join('/')}`;
}

export function searchLines(s: SearchRecord): string[] {
  return [
    `search ${s.id}: ${s.name} (${s.strategy} search, seed ${s.seed}, ${s.trials} trials), ${s.job.status}`,
    `  trials best first by validation ${s.selectionMetric}; dropout relu/residual/attention/embedding/output, weights joint/attention/reconstruction`,
    `  ${'trial'.padStart(5)}  ${'run'.padStart(5)}  ${'status'.padEnd(11)} ${'best'.padStart(7)}`,
    ...s.results.map(trialLine),
  ];
}

export const SEARCH_COMMANDS: Record<string, Command> = {
  async search(app: AppServices, args: ParsedArgs, io: CliIo) {
    const sub = args.positionals[1];
    if (sub === 'list') {
      const list = await call<SearchRecord[]>(app, 'search.list', {});
      print(io, args, list, () =>
        list.length
          ? list.map(
              (s) =>
                `${String(s.id).padStart(5)}  ${s.name}  ${s.job.status}  best ${fmt(s.results[0]?.bestMetric ?? null)}`,
            )
          : ['no searches'],
      );
      return 0;
    }
    if (sub === 'show') {
      const id = Number(args.positionals[2]);
      if (!Number.isInteger(id) || id <= 0) throw new UsageError('search show needs a SEARCH id');
      const s = await call<SearchRecord>(app, 'search.get', { id });
      print(io, args, s, () => searchLines(s));
      return 0;
    }
    if (sub !== undefined) throw unknownSubcommand('search', sub, SEARCH_SPECS.search);
    const ref = flagString(args, 'dataset');
    if (!ref) throw new UsageError('search needs --dataset DATASET (id or name)');
    const trials = flagNumber(args, 'trials');
    if (trials === undefined) throw new UsageError('search needs --trials N');
    const task = flagNumber(args, 'task');
    if (task !== undefined && task !== 3 && task !== 7) throw new UsageError('--task must be 3 or 7');
    const executor = executorFromFlags(args);
    if (flagBoolean(args, 'dry-run'))
      return printSbatchPreview(app, io, executor, 'search.sbatchPreview', {
        trials,
        name: flagString(args, 'name') ?? 'cider search',
      });
    const dataset = await resolveDataset(app, ref);
    const options: TrainingOptionsInput = {
      task: task as 3 | 7 | undefined,
      maxEpochs: flagNumber(args, 'epochs'),
      batchSize: flagNumber(args, 'batch-size'),
      patience: flagNumber(args, 'patience'),
      model: { d: flagNumber(args, 'd') },
    };
    const started = await call<SearchRecord>(app, 'search.start', {
      datasetId: dataset.id,
      trials,
      seed: flagNumber(args, 'seed'),
      options,
      projectId: flagNumber(args, 'project'),
      name: flagString(args, 'name'),
      executor,
    });
    io.err(
      `search ${started.id}: ${started.name}; random search (seeded), not the authors' TPE; trials run ${started.executor.kind === 'local' ? 'here' : `on ${started.executor.kind}`}; Ctrl-C stops it`,
    );
    const job = await follow(app, started.job, io);
    const s = await call<SearchRecord>(app, 'search.get', { id: started.id });
    print(io, args, s, () => [...searchLines(s), ...(job.status === 'succeeded' ? [] : [jobLine(job)])]);
    return job.status === 'succeeded' ? 0 : 1;
  },
};
