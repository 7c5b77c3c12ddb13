/** `cider ablate`: the paper's ablation set on one dataset, one seed, one table. */
import type { AblationRecord, AblationRow } from '../../shared/contract/ablation';
import { ABLATION_VARIANTS } from '../../shared/contract/ablation';
import type { TrainingOptionsInput } from '../../shared/contract/training';
import type { AppServices } from '../../main/services/app';
import { flagBoolean, flagNumber, flagString, UsageError, type CommandSpec, type ParsedArgs } from '../args';
import { EXECUTOR_OPTIONS, executorFromFlags, printSbatchPreview } from './cluster';
import { call, follow, jobLine, print, type CliIo, type Command, resolveDataset } from '../io';
import { parseRates } from '../../main/ml/eval/sweep';

export const ABLATION_SPECS: Record<string, CommandSpec> = {
  ablate: {
    usage: [
      'ablate --dataset DATASET [--ood DATASET_ID] [--variants full,no-mssd,no-joint,no-attention,no-reconstruction]',
      '       [--task 3|7] [--epochs N] [--batch-size B] [--seed S] [--patience P] [--d N] [--text SPEC]',
      '       [--tau-rule validation|balanced|reference] [--rates 0:1:0.1]',
      '       [--executor local|slurm|queue] [--partition P] [--time HH:MM:SS] [--cpus N] [--mem 8G] [--gpus N]',
      '       [--shared-dir DIR] [--dry-run] [--queue redis://HOST:PORT]',
      'ablate list | ablate show ABLATION',
    ],
    summary:
      "the paper's ablation set with one seed (a job; each variant a run), then one table:\nIID and OOD test metrics plain (= w/o MACI) and debiased, and AUILC under RMFM",
    subcommands: ['list', 'show'],
    options: {
      dataset: { type: 'string', value: 'DATASET', help: 'the IID dataset (id or name; required)' },
      ood: { type: 'integer', value: 'DATASET_ID', help: 'the OOD dataset (default: its OOD version)' },
      variants: { type: 'string', value: 'LIST', help: 'comma-separated variants (default: all)' },
      task: { type: 'integer', choices: ['3', '7'], help: '3- or 7-class task' },
      epochs: { type: 'integer', value: 'N', help: 'maximum epochs per variant' },
      'batch-size': { type: 'integer', value: 'B', help: 'batch size' },
      seed: { type: 'integer', value: 'S', help: 'the one seed every variant trains with' },
      patience: { type: 'integer', value: 'P', help: 'early-stopping patience' },
      d: { type: 'integer', value: 'N', help: 'model width' },
      layers: { type: 'integer', value: 'N', help: 'transformer layers' },
      heads: { type: 'integer', value: 'N', help: 'attention heads' },
      text: { type: 'string', value: 'SPEC', help: 'features | frozen[:NAME] | finetune[:NAME]' },
      'tau-rule': {
        type: 'string',
        choices: ['validation', 'balanced', 'reference'],
        help: "how MACI's tau is chosen for the debiased columns",
      },
      rates: { type: 'string', value: 'A:B:STEP', help: 'RMFM rates for AUILC (default 0:1:0.1)' },
      name: { type: 'string', value: 'NAME', help: "the ablation's name" },
      project: { type: 'integer', value: 'ID', help: 'the project the runs belong to' },
      ...EXECUTOR_OPTIONS,
    },
  },
};

const fmt = (x: number | null | undefined) =>
  x === null || x === undefined || !Number.isFinite(x) ? '  n/a ' : x.toFixed(4);

function cell(row: AblationRow, side: 'iid' | 'ood', m: string): string {
  const s = row[side];
  if (!s) return '        -        ';
  return `${fmt(s.plain[m])}/${s.debiased ? fmt(s.debiased[m]) : '  n/a '}`;
}

export function ablationLines(a: AblationRecord): string[] {
  const h = a.headline;
  const first = a.rows.find((r) => r.iid && r.ood);
  const out = [
    `ablation ${a.id}: ${a.name} (seed ${a.seed}, ${a.rows.length} variants), ${a.job.status}`,
    `  selection metric ${a.selectionMetric}; ${a.tauNote}`,
    `  cells: plain/debiased (plain = w/o MACI); AUILC over RMFM rates ${a.rmfmRates[0]}..${a.rmfmRates[a.rmfmRates.length - 1]} on the IID test split, plain`,
  ];
  if (first)
    out.push(
      `  IID = ${first.iid!.datasetName} test (n=${first.iid!.count}); OOD = ${first.ood!.datasetName} test (n=${first.ood!.count}, ${first.ood!.removed} samples the runs trained/validated on removed)`,
    );
  if (a.textNote) out.push(`  ${a.textNote}`);
  const head = [
    'variant'.padEnd(30),
    'run'.padStart(5),
    'status'.padEnd(10),
    ...h.map((m) => `IID ${m}`.padEnd(17)),
    ...h.map((m) => `OOD ${m}`.padEnd(17)),
    ...h.map((m) => `AUILC ${m}`.padEnd(16)),
    'tau',
  ];
  out.push(`  ${head.join(' ')}`);
  for (const r of a.rows)
    out.push(
      `  ${[
        r.label.padEnd(30),
        (r.runId === null ? '-' : String(r.runId)).padStart(5),
        r.status.padEnd(10),
        ...h.map((m) => cell(r, 'iid', m).padEnd(17)),
        ...h.map((m) => cell(r, 'ood', m).padEnd(17)),
        ...h.map((m) => fmt(r.auilcRmfm?.[m]).padEnd(16)),
        r.tau === null ? (a.tauRule === 'reference' ? 'test' : 'n/a') : r.tau.toFixed(1),
      ].join(' ')}`,
    );
  return out;
}

export const ABLATION_COMMANDS: Record<string, Command> = {
  async ablate(app: AppServices, args: ParsedArgs, io: CliIo) {
    const sub = args.positionals[1];
    if (sub === 'list') {
      const list = await call<AblationRecord[]>(app, 'ablation.list', {});
      print(io, args, list, () =>
        list.length ? list.map((a) => `${String(a.id).padStart(5)}  ${a.name}  ${a.job.status}`) : ['no ablations'],
      );
      return 0;
    }
    if (sub === 'show') {
      const id = Number(args.positionals[2]);
      if (!Number.isInteger(id) || id <= 0) throw new UsageError('ablate show needs an ABLATION id');
      const a = await call<AblationRecord>(app, 'ablation.get', { id });
      print(io, args, a, () => ablationLines(a));
      return 0;
    }
    if (sub !== undefined) throw new UsageError(`unknown subcommand "ablate ${sub}"`);
    const ref = flagString(args, 'dataset');
    if (!ref) throw new UsageError('ablate needs --dataset DATASET (id or name)');
    const task = flagNumber(args, 'task');
    if (task !== undefined && task !== 3 && task !== 7) throw new UsageError('--task must be 3 or 7');
    const variants = flagString(args, 'variants')
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    for (const v of variants ?? [])
      if (!(ABLATION_VARIANTS as readonly string[]).includes(v))
        throw new UsageError(`--variants: "${v}" is not one of ${ABLATION_VARIANTS.join(', ')}`);
    let rmfmRates: number[] | undefined;
    const spec = flagString(args, 'rates');
    try {
      rmfmRates = spec ? parseRates(spec) : undefined;
    } catch (e) {
      throw new UsageError(`--rates: ${(e as Error).message}`);
    }
    const textSpec = flagString(args, 'text');
    let text: TrainingOptionsInput['text'];
    if (textSpec !== undefined) {
      const m = /^(frozen|finetune):(.+)$/.exec(textSpec);
      if (textSpec === 'features') text = { kind: 'features' };
      else if (m) text = { kind: m[1] as 'frozen' | 'finetune', modelDir: m[2] };
      else throw new UsageError('--text must be features, frozen:PATH or finetune:PATH');
    }
    const executor = executorFromFlags(args);
    if (flagBoolean(args, 'dry-run'))
      return printSbatchPreview(app, io, executor, 'ablation.sbatchPreview', {
        trials: new Set(variants ?? ABLATION_VARIANTS).size,
        name: flagString(args, 'name') ?? 'cider ablation',
      });
    const dataset = await resolveDataset(app, ref);
    const options: TrainingOptionsInput = {
      task: task as 3 | 7 | undefined,
      seed: flagNumber(args, 'seed'),
      maxEpochs: flagNumber(args, 'epochs'),
      batchSize: flagNumber(args, 'batch-size'),
      patience: flagNumber(args, 'patience'),
      model: { d: flagNumber(args, 'd'), layers: flagNumber(args, 'layers'), heads: flagNumber(args, 'heads') },
      ...(text ? { text } : {}),
    };
    const started = await call<AblationRecord>(app, 'ablation.start', {
      datasetId: dataset.id,
      oodDatasetId: flagNumber(args, 'ood'),
      variants,
      tauRule: flagString(args, 'tau-rule'),
      rmfmRates,
      options,
      projectId: flagNumber(args, 'project'),
      name: flagString(args, 'name'),
      executor,
    });
    io.err(
      `ablation ${started.id}: ${started.name}; ${started.rows.length} variants, one run each, trained ${started.executor.kind === 'local' ? 'here' : `on ${started.executor.kind}`}; Ctrl-C stops it`,
    );
    const job = await follow(app, started.job, io);
    const a = await call<AblationRecord>(app, 'ablation.get', { id: started.id });
    print(io, args, a, () => [...ablationLines(a), ...(job.status === 'succeeded' ? [] : [jobLine(job)])]);
    return job.status === 'succeeded' && a.rows.every((r) => r.status === 'completed') ? 0 : 1;
  },
};
