/** `cider train`, `cider runs`, `cider eval`: training runs and their evaluation from the command line. */
import type { TextEncoderModel } from '../../shared/contract/models';
import type {
  EvaluationRecord,
  RunEpoch,
  RunRecord,
  TextSourceSpec,
  TrainingOptionsInput,
} from '../../shared/contract/training';
import {
  EVAL_PROTOCOLS,
  SELECTION_METRICS,
  TAU_RULES,
  type SelectionMetricName,
  type TauRule,
} from '../../shared/contract/training';
import { TAU_RULE_LABELS as TAU_RULE_NAMES } from '../../main/ml/eval/maci';
import { resultOf, type JobRecordOf } from '../../shared/jobs';
import { parseRates } from '../../main/ml/eval/sweep';
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
import { call, follow, jobLine, print, printList, type CliIo, type Command, resolveDataset } from '../io';

/** what `list` says when there is nothing to list */
const NO_RUNS = 'no runs (start one with "cider train --dataset DATASET")';

export const TRAINING_SPECS: Record<string, CommandSpec> = {
  train: {
    usage: [
      'train --dataset DATASET [--task 3|7] [--epochs N] [--batch-size B] [--seed S] [--patience P]',
      '      [--text features|frozen[:PATH|NAME]|finetune[:PATH|NAME]] [--lr X] [--micro-batch N] [--d N] [--layers N] [--heads N]',
      '      [--validation complete|rmfm:RATE] [--positional temporal|reference] [--no-accumulate] [--name NAME]',
      '      [--no-mssd] [--loss-weights JOINT,ATTN,RECON] [--selection-metric Non0_acc_2|Acc_3|F1_3|Acc_7|validation_loss]',
      '      [--confounders KEY,KEY,KEY --prior KEY]',
    ],
    summary: 'train CIDer on a dataset (a job; Ctrl-C stops it, "runs resume" continues)',
    options: {
      dataset: { type: 'string', value: 'DATASET', help: 'the dataset (id or name; required)' },
      task: { type: 'integer', choices: ['3', '7'], help: '3- or 7-class task' },
      epochs: { type: 'integer', value: 'N', help: 'maximum epochs' },
      'batch-size': { type: 'integer', value: 'B', help: 'batch size' },
      seed: { type: 'integer', value: 'S', help: 'random seed' },
      patience: { type: 'integer', value: 'P', help: 'early-stopping patience in epochs' },
      text: { type: 'string', value: 'SPEC', help: 'features | frozen[:PATH|NAME] | finetune[:PATH|NAME]' },
      lr: { type: 'number', value: 'X', help: 'learning rate' },
      'micro-batch': { type: 'integer', value: 'N', help: 'micro-batch size (memory)' },
      d: { type: 'integer', value: 'N', help: 'model width' },
      layers: { type: 'integer', value: 'N', help: 'transformer layers' },
      heads: { type: 'integer', value: 'N', help: 'attention heads' },
      validation: {
        type: 'string',
        value: 'complete|rmfm:RATE',
        help: 'the validation view used to pick the best epoch',
      },
      positional: { type: 'string', choices: ['temporal', 'reference'], help: 'positional encoding' },
      'no-accumulate': { type: 'boolean', help: "don't accumulate the full view's gradient" },
      'no-mssd': { type: 'boolean', help: 'complete view only: no missing view, no self-distillation (ablation)' },
      'loss-weights': {
        type: 'string',
        value: 'JOINT,ATTN,RECON',
        help: "MSSD's three loss weights (default 0.5,0.1,0.6; 0 switches one off)",
      },
      'selection-metric': {
        type: 'string',
        choices: [...SELECTION_METRICS],
        help: "drives early stopping, the best checkpoint and MACI's tau (ties: validation loss)",
      },
      confounders: { type: 'string', value: 'KEY,KEY,...', help: "the dataset's confounder arrays (with --prior)" },
      prior: { type: 'string', value: 'KEY', help: "the dataset's class-prior array (with --confounders)" },
      name: { type: 'string', value: 'NAME', help: "the run's name" },
      project: { type: 'integer', value: 'ID', help: 'the project the run belongs to' },
    },
  },
  runs: {
    usage: ['runs [list]', 'runs show RUN', 'runs stop RUN | runs resume RUN [--epochs N]'],
    summary: "list training runs; a run's epochs (losses, validation metrics) and evaluations; stop or resume one",
    subcommands: ['list', 'show', 'stop', 'resume'],
    options: { epochs: { type: 'integer', value: 'N', help: 'resume: the new maximum epochs' } },
  },
  eval: {
    usage: [
      'eval RUN [--protocol RMFM[,RMM,...]] [--rates 0:1:0.1] [--modality-rates T,A,V] [--seed S] [--checkpoint best|last]',
      '         [--tau-rule validation|balanced|reference]',
    ],
    summary: 'evaluate on the test split: complete, RMFM, RMFM_same, SMM, RMM, TMFM, STMFM, MACI',
    options: {
      protocol: {
        type: 'string',
        value: 'P[,P...]',
        help: `protocols: ${EVAL_PROTOCOLS.join(', ')} (default complete)`,
      },
      rates: { type: 'string', value: 'FROM:TO:STEP', help: 'missing rates, e.g. 0:1:0.1 or 0.1,0.5' },
      'modality-rates': { type: 'string', value: 'T,A,V', help: 'per-modality rates for SMM' },
      seed: { type: 'integer', value: 'S', help: 'mask seed' },
      checkpoint: { type: 'string', choices: ['best', 'last'], help: 'which checkpoint (default best)' },
      'tau-rule': {
        type: 'string',
        choices: [...TAU_RULES],
        help: 'MACI: the rule whose tau gives the reported figures (default validation; all three taus are shown)',
      },
    },
  },
};

const fmt = (x: number | null | undefined, digits = 4) =>
  x === null || x === undefined || !Number.isFinite(x) ? 'n/a' : x.toFixed(digits);

/** The training switches an ablation changes, when they differ from the paper's defaults. */
export function ablationSettings(o: RunRecord['options']): string {
  const w = o.lossWeights;
  const parts: string[] = [];
  if (o.mssd === false) parts.push('no MSSD');
  else if (w.joint !== 0.5 || w.attention !== 0.1 || w.reconstruction !== 0.6)
    parts.push(`loss weights ${w.joint}/${w.attention}/${w.reconstruction}`);
  return parts.join(', ');
}

export function runLine(r: RunRecord): string {
  const text = r.options.text.kind === 'features' ? 'features' : `${r.options.text.kind}`;
  const ablation = ablationSettings(r.options);
  return `${String(r.id).padStart(5)}  ${r.name.padEnd(28)} ${r.status.padEnd(11)} ${String(r.options.task)}-class  text ${text.padEnd(8)} epochs ${String(r.epochsDone).padStart(3)}/${r.options.maxEpochs}  best ${r.selectionMetric} ${fmt(r.bestMetric)}${r.bestEpoch ? ` @${r.bestEpoch}` : ''}  ${r.engine ?? ''}${ablation ? `  (${ablation})` : ''}`;
}

/** `features`, `frozen:PATH|NAME`, `finetune:PATH|NAME` (NAME: a folder registered with `cider models add`). */
async function parseText(app: AppServices, spec: string): Promise<TextSourceSpec> {
  if (spec === 'features') return { kind: 'features' };
  const m = /^(frozen|finetune)(?::(.+))?$/.exec(spec);
  if (!m) throw new UsageError(`--text must be features, frozen[:PATH|NAME] or finetune[:PATH|NAME], got "${spec}"`);
  const models = await call<TextEncoderModel[]>(app, 'models.list', {});
  const ref = m[2];
  const named = ref ? models.find((x) => x.name.toLowerCase() === ref.toLowerCase()) : models.find((x) => x.isDefault);
  if (!ref && !named)
    throw new UsageError(`--text ${m[1]} without a folder needs a default text encoder: "cider models add PATH"`);
  return { kind: m[1] as 'frozen' | 'finetune', modelDir: named?.path ?? ref! };
}

/** `--loss-weights JOINT,ATTN,RECON`: MSSD's three loss weights, each >= 0. */
export function parseLossWeights(spec: string | undefined): TrainingOptionsInput['lossWeights'] | undefined {
  if (spec === undefined) return undefined;
  const parts = spec.split(',').map((x) => Number(x.trim()));
  if (parts.length !== 3 || parts.some((x) => !Number.isFinite(x) || x < 0))
    throw new UsageError(`--loss-weights takes three numbers >= 0, JOINT,ATTN,RECON (e.g. 0.5,0.1,0.6), got "${spec}"`);
  return { joint: parts[0], attention: parts[1], reconstruction: parts[2] };
}

function runId(args: ParsedArgs, at: number, what: string): number {
  const id = Number(args.positionals[at]);
  if (!Number.isInteger(id) || id <= 0) throw new UsageError(`${what} needs a RUN id`);
  return id;
}

function epochLines(epochs: RunEpoch[], metric: string): string[] {
  if (!epochs.length) return ['  no finished epoch'];
  const names = Object.keys(epochs[0].validation);
  return [
    `  epoch  ${'loss'.padStart(8)} ${'complete'.padStart(8)} ${'missing'.padStart(8)} ${'joint'.padStart(7)} ${'attn'.padStart(7)} ${'recon'.padStart(7)}  ${names.map((n) => n.padStart(10)).join(' ')}    s`,
    ...epochs.map((e) => {
      const l = e.losses;
      const recon = l.reconText + l.reconAudio + l.reconVision;
      return `  ${String(e.epoch).padStart(5)}  ${fmt(l.total).padStart(8)} ${fmt(l.taskFull).padStart(8)} ${fmt(l.taskMissing).padStart(8)} ${fmt(l.joint).padStart(7)} ${fmt(l.attention).padStart(7)} ${fmt(recon).padStart(7)}  ${names
        .map((n) => fmt(e.validation[n]).padStart(10))
        .join(' ')} ${(e.durationMs / 1000).toFixed(1).padStart(5)}${e.improved ? `  best ${metric}` : ''}`;
    }),
  ];
}

export function evaluationLines(e: EvaluationRecord): string[] {
  const names = Object.keys(e.points[0]?.metrics ?? {});
  const out = [
    `evaluation ${e.id}: ${e.protocol} on the ${e.split} split (${e.checkpoint} checkpoint, mask seed ${e.seed}), engine ${e.engine}`,
    `  text: ${e.textNote}`,
  ];
  out.push(
    `  ${'rate'.padEnd(8)} ${names.map((n) => n.padStart(10)).join(' ')}${e.protocol === 'MACI' ? '   tau' : ''}`,
  );
  for (const p of e.points) {
    const rate = p.rate === null ? 'complete' : String(p.rate);
    out.push(
      `  ${rate.padEnd(8)} ${names.map((n) => fmt(p.metrics[n]).padStart(10)).join(' ')}${p.maci ? `  ${p.maci.selectedTau.toFixed(1).padStart(4)}` : ''}`,
    );
  }
  if (e.auilc) out.push(`  ${'AUILC'.padEnd(8)} ${names.map((n) => fmt(e.auilc![n]).padStart(10)).join(' ')}`);
  if (e.protocol === 'MACI') {
    const rule = e.points[0]?.maci?.tauRule ?? 'validation';
    out.push(
      `  tau rule: ${TAU_RULE_NAMES[rule]} (the tau column); every rule's tau and ${names[0] ?? 'metric'} on test:`,
    );
    for (const p of e.points) {
      const m = p.maci;
      if (!m?.taus || !m.testByRule) continue;
      const first = names[0];
      const cell = (r: TauRule) => {
        const tau = m.taus![r];
        const v = m.testByRule![r];
        return `${r} ${tau === null || tau === undefined ? 'n/a' : tau.toFixed(1)} (${fmt(v?.[first])})`;
      };
      out.push(
        `  ${String(p.rate).padEnd(8)} ${TAU_RULES.map(cell).join('  ')}  plain ${fmt(m.testWithoutDebiasing[first])}`,
      );
    }
    const bal = e.points[0]?.maci?.balanced;
    if (bal) out.push(`  ${bal.description}`);
    out.push(
      `  the validation rules choose tau by ${e.points[0]?.maci?.selectionMetric ?? 'the task default (Non0_acc_2 / Acc_7)'} (ties: validation loss); beside it the ` +
        (e.points[0]?.maci?.referenceProtocol.label ?? 'reference protocol') +
        ':',
    );
    for (const p of e.points)
      out.push(
        `  ${String(p.rate).padEnd(8)} ${names.map((n) => fmt(p.maci?.referenceProtocol.values[n]?.value).padStart(10)).join(' ')}`,
      );
  }
  return out;
}

async function followTraining(
  app: AppServices,
  args: ParsedArgs,
  io: CliIo,
  started: { run: RunRecord; job: JobRecordOf<'train'> },
): Promise<number> {
  io.err(
    `run ${started.run.id}: ${started.run.name} (job ${started.job.id}); Ctrl-C stops it, "cider runs resume ${started.run.id}" continues`,
  );
  const done = await follow(app, started.job, io);
  const run = await call<RunRecord>(app, 'runs.get', { id: started.run.id });
  const epochs = await call<RunEpoch[]>(app, 'runs.epochs', { id: run.id });
  print(io, args, { run, epochs, job: done }, () => [
    runLine(run),
    ...epochLines(epochs, run.selectionMetric),
    ...(done.status === 'succeeded' ? [] : [jobLine(done)]),
  ]);
  return done.status === 'succeeded' ? 0 : 1;
}

export const TRAINING_COMMANDS: Record<string, Command> = {
  async train(app, args, io) {
    const ref = flagString(args, 'dataset');
    if (!ref) throw new UsageError('train needs --dataset DATASET (id or name)');
    const dataset = await resolveDataset(app, ref);
    const task = flagNumber(args, 'task');
    if (task !== undefined && task !== 3 && task !== 7) throw new UsageError('--task must be 3 or 7');
    const validation = flagString(args, 'validation');
    let validationOpt: TrainingOptionsInput['validation'];
    if (validation !== undefined) {
      const m = /^rmfm:([\d.]+)$/i.exec(validation);
      if (validation === 'complete') validationOpt = { view: 'complete' };
      else if (m) validationOpt = { view: 'RMFM', rate: Number(m[1]) };
      else throw new UsageError('--validation must be complete or rmfm:RATE');
    }
    const text = flagString(args, 'text');
    const confounderKeys = flagString(args, 'confounders');
    const priorKey = flagString(args, 'prior');
    if ((confounderKeys === undefined) !== (priorKey === undefined))
      throw new UsageError(
        '--confounders KEY,KEY,... and --prior KEY go together (arrays attached to the dataset with "cider import --extra")',
      );
    const positional = flagString(args, 'positional');
    const lossWeights = parseLossWeights(flagString(args, 'loss-weights'));
    const selectionMetric = flagString(args, 'selection-metric');
    if (selectionMetric !== undefined && !(SELECTION_METRICS as readonly string[]).includes(selectionMetric))
      throw new UsageError(`--selection-metric must be one of ${SELECTION_METRICS.join(', ')}`);
    const options: TrainingOptionsInput = {
      task: task as 3 | 7 | undefined,
      maxEpochs: flagNumber(args, 'epochs'),
      batchSize: flagNumber(args, 'batch-size'),
      seed: flagNumber(args, 'seed'),
      patience: flagNumber(args, 'patience'),
      learningRate: flagNumber(args, 'lr'),
      microBatchSize: flagNumber(args, 'micro-batch'),
      ...(text ? { text: await parseText(app, text) } : {}),
      ...(validationOpt ? { validation: validationOpt } : {}),
      ...(confounderKeys && priorKey
        ? { confounders: { source: 'extras' as const, dictionary: confounderKeys.split(','), prior: priorKey } }
        : {}),
      ...(flagBoolean(args, 'no-accumulate') ? { accumulateFullViewGrad: false } : {}),
      ...(flagBoolean(args, 'no-mssd') ? { mssd: false } : {}),
      ...(lossWeights ? { lossWeights } : {}),
      ...(selectionMetric ? { selectionMetric: selectionMetric as SelectionMetricName } : {}),
      model: {
        d: flagNumber(args, 'd'),
        layers: flagNumber(args, 'layers'),
        heads: flagNumber(args, 'heads'),
        positional: positional as 'temporal' | 'reference' | undefined,
      },
    };
    const started = await call<{ run: RunRecord; job: JobRecordOf<'train'> }>(app, 'runs.start', {
      datasetId: dataset.id,
      projectId: flagNumber(args, 'project'),
      name: flagString(args, 'name'),
      options,
    });
    if (started.run.options.text.kind === 'features') io.err(`note: ${FEATURES_NOTE}`);
    return followTraining(app, args, io, started);
  },
  async runs(app, args, io) {
    const sub = args.positionals[1] ?? 'list';
    if (sub === 'list') {
      await printList(app, args, io, { method: 'runs.list' }, runLine, NO_RUNS);
      return 0;
    }
    const id = runId(args, 2, `runs ${sub}`);
    if (sub === 'show') {
      const run = await call<RunRecord>(app, 'runs.get', { id });
      const epochs = await call<RunEpoch[]>(app, 'runs.epochs', { id });
      const evals = await call<EvaluationRecord[]>(app, 'runs.evaluations', { id });
      print(io, args, { run, epochs, evaluations: evals }, () => [
        runLine(run),
        `  dataset ${run.datasetFolder}`,
        `  folder ${run.folder}`,
        ...epochLines(epochs, run.selectionMetric),
        ...evals.flatMap(evaluationLines),
      ]);
      return 0;
    }
    if (sub === 'stop') {
      const run = await call<RunRecord>(app, 'runs.stop', { id });
      print(io, args, run, () => [runLine(run)]);
      return 0;
    }
    if (sub === 'resume') {
      const started = await call<{ run: RunRecord; job: JobRecordOf<'train'> }>(app, 'runs.resume', {
        id,
        maxEpochs: flagNumber(args, 'epochs'),
      });
      return followTraining(app, args, io, started);
    }
    throw unknownSubcommand('runs', sub, TRAINING_SPECS.runs);
  },
  async eval(app, args, io) {
    const id = runId(args, 1, 'eval');
    const protocols = (flagString(args, 'protocol') ?? 'complete').split(',').map((s) => s.trim());
    for (const p of protocols)
      if (!(EVAL_PROTOCOLS as readonly string[]).includes(p))
        throw new UsageError(`unknown protocol "${p}"; one of ${EVAL_PROTOCOLS.join(', ')}`);
    const ratesSpec = flagString(args, 'rates');
    let rates: number[] | undefined;
    try {
      rates = ratesSpec ? parseRates(ratesSpec) : undefined;
    } catch (e) {
      throw new UsageError(`--rates: ${(e as Error).message}`);
    }
    const mr = flagString(args, 'modality-rates');
    const modalityRates = mr
      ? (() => {
          const [text, audio, vision] = mr.split(',').map(Number);
          if (![text, audio, vision].every((x) => x >= 0 && x <= 1))
            throw new UsageError('--modality-rates takes three rates T,A,V in [0, 1]');
          return { text, audio, vision };
        })()
      : undefined;
    const job = await call<JobRecordOf<'evaluate'>>(app, 'runs.evaluate', {
      id,
      options: {
        protocols,
        rates,
        modalityRates,
        seed: flagNumber(args, 'seed'),
        checkpoint: flagString(args, 'checkpoint'),
        tauRule: flagString(args, 'tau-rule'),
      },
    });
    const done = await follow(app, job, io);
    if (done.status !== 'succeeded') {
      print(io, args, done, () => [jobLine(done)]);
      return 1;
    }
    const result = resultOf(done);
    const all = await call<EvaluationRecord[]>(app, 'runs.evaluations', { id });
    const evals = all.filter((e) => result.evaluationIds.includes(e.id));
    print(io, args, { evaluations: evals, skipped: result.skipped, engine: result.engine }, () => [
      ...evals.flatMap(evaluationLines),
      ...result.skipped.map((s) => `${s.protocol} skipped: ${s.reason}`),
    ]);
    return 0;
  },
};

const FEATURES_NOTE =
  "text comes from the dataset's precomputed BERT features. Without a BERT model a dropped token's features cannot be recomputed from [UNK]: missing views ZERO them (not the paper's protocol) and MACI is unavailable. Use --text frozen:PATH (a bert-base-uncased folder) for the reference behaviour.";
