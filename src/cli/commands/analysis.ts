/** `cider explain`, `cider robustness`, `cider compare-ood`: the analysis service from the command line. */
import type {
  CounterfactualResult,
  Explanation,
  MeanSd,
  RobustnessRunsRecord,
  MissingSetting,
  OodComparison,
  RobustnessSweep,
  SplitSide,
} from '../../shared/contract/analysis';
import { resultOf, type JobRecordOf } from '../../shared/jobs';
import { parseRates } from '../../main/ml/eval/sweep';
import {
  flagBoolean,
  flagNumber,
  flagString,
  unknownSubcommand,
  UsageError,
  type CommandSpec,
  type ParsedArgs,
} from '../args';
import { call, follow, jobLine, print, type Command } from '../io';
import { EXECUTOR_OPTIONS, executorFromFlags, printSbatchPreview } from './cluster';

const checkpoint = { type: 'string', choices: ['best', 'last'], help: 'which checkpoint (default best)' } as const;

export const ANALYSIS_SPECS: Record<string, CommandSpec> = {
  explain: {
    usage: [
      'explain RUN (--sample SPLIT:INDEX [--dataset ID] | --clip ID) [--drop text,audio,vision | --missing T,A,V [--seed S]] [--tokens ID,ID,...]',
    ],
    summary:
      'class probabilities, exact modality Shapley values, attention by segment pair,\nbias words, and the counterfactual / debiased prediction (of --tokens if given)',
    options: {
      sample: { type: 'string', value: 'SPLIT:INDEX', help: 'a dataset sample, e.g. test:12' },
      dataset: { type: 'integer', value: 'ID', help: "the sample's dataset (default: the run's)" },
      clip: { type: 'integer', value: 'ID', help: 'a clip instead of a sample' },
      drop: { type: 'string', value: 'text,audio,vision', help: 'modalities to drop entirely' },
      missing: { type: 'string', value: 'T,A,V', help: 'per-modality missing rates in [0, 1]' },
      seed: { type: 'integer', value: 'S', help: 'mask seed for --missing (default 1111)' },
      tokens: { type: 'string', value: 'ID,ID,...', help: 'token ids of an edited text, [CLS] ... [SEP]' },
    },
  },
  robustness: {
    usage: [
      'robustness RUN [--protocols RMFM,RMM,SMM:T,RMFM_same:1/0/0,...] [--rates 0:1:0.1] [--seed S] [--checkpoint best|last]',
      'robustness --runs RUN,RUN,... [those options] [--executor local|slurm|queue] [--partition P] [--time HH:MM:SS]',
      '       [--cpus N] [--mem 8G] [--gpus N] [--shared-dir DIR] [--dry-run] [--queue redis://HOST:PORT]',
      'robustness list | robustness show JOB',
    ],
    summary:
      'metric vs missing rate per protocol on the test split, with AUILC (a job); --runs: the sweep of\neach run (e.g. one per seed), here or on a cluster, then each run and mean ± sd across runs',
    subcommands: ['list', 'show'],
    options: {
      protocols: { type: 'string', value: 'P,P,...', help: 'protocols to sweep' },
      rates: { type: 'string', value: 'FROM:TO:STEP', help: 'missing rates, e.g. 0:1:0.1' },
      seed: { type: 'integer', value: 'S', help: 'mask seed' },
      checkpoint,
      runs: { type: 'string', value: 'RUN,RUN,...', help: 'several runs: one sweep each, then mean ± sd across them' },
      ...EXECUTOR_OPTIONS,
    },
  },
  'compare-ood': {
    usage: [
      'compare-ood RUN [--ood DATASET_ID] [--with RUN2] [--tau-rule validation|balanced|reference] [--checkpoint best|last]',
    ],
    summary:
      "the run's IID and OOD test splits side by side, plain and debiased (a job); test samples the\nrun trained/validated on are removed (counts shown); --with RUN2: the paper's protocol, RUN2\ntrained on the OOD dataset scores the OOD test beside RUN",
    options: {
      ood: { type: 'integer', value: 'DATASET_ID', help: "the OOD dataset (default: the run dataset's OOD version)" },
      with: { type: 'integer', value: 'RUN2', help: "a run trained on the OOD dataset (the paper's protocol)" },
      'tau-rule': {
        type: 'string',
        choices: ['validation', 'balanced', 'reference'],
        help: "how MACI's tau is chosen (default validation)",
      },
      checkpoint,
    },
  },
};

const fmt = (x: number | null | undefined, digits = 4) =>
  x === null || x === undefined || !Number.isFinite(x) ? 'n/a' : x.toFixed(digits);
const pct = (xs: readonly number[]) => xs.map((x) => `${(100 * x).toFixed(1)}%`.padStart(7)).join(' ');

function runArg(args: ParsedArgs, what: string): number {
  const id = Number(args.positionals[1]);
  if (!Number.isInteger(id) || id <= 0) throw new UsageError(`${what} needs a RUN id`);
  return id;
}

function targetArg(args: ParsedArgs) {
  const sample = flagString(args, 'sample');
  const clip = flagNumber(args, 'clip');
  if ((sample === undefined) === (clip === undefined))
    throw new UsageError('give exactly one of --sample SPLIT:INDEX and --clip ID');
  if (clip !== undefined) return { kind: 'clip' as const, clipId: clip };
  const m = /^(train|valid|test):(\d+)$/.exec(sample!);
  if (!m) throw new UsageError(`--sample must be SPLIT:INDEX (e.g. test:12), got "${sample}"`);
  return {
    kind: 'sample' as const,
    split: m[1] as 'train' | 'valid' | 'test',
    index: Number(m[2]),
    datasetId: flagNumber(args, 'dataset'),
  };
}

function missingArg(args: ParsedArgs): MissingSetting {
  const drop = flagString(args, 'drop');
  const rates = flagString(args, 'missing');
  if (drop && rates) throw new UsageError('give --drop or --missing, not both');
  if (drop) {
    const names = drop.split(',').map((s) => s.trim());
    for (const n of names)
      if (!['text', 'audio', 'vision'].includes(n))
        throw new UsageError(`--drop takes text, audio, vision; got "${n}"`);
    return {
      mode: 'toggles',
      text: !names.includes('text'),
      audio: !names.includes('audio'),
      vision: !names.includes('vision'),
    };
  }
  if (rates) {
    const [text, audio, vision] = rates.split(',').map(Number);
    if (![text, audio, vision].every((x) => x >= 0 && x <= 1))
      throw new UsageError('--missing takes three rates T,A,V in [0, 1]');
    return {
      mode: 'rates',
      text,
      audio,
      vision,
      seed: flagNumber(args, 'seed') ?? 1111,
    };
  }
  return { mode: 'complete' };
}

export function explanationLines(x: Explanation, cf: CounterfactualResult | null): string[] {
  const names = x.classNames;
  const out = [`${x.label}  (run ${x.runId}, ${x.engine})`, `  text: ${x.textNote}`];
  out.push(
    `  words: ${x.tokens.map((t) => (t.dropped ? '[UNK]' : t.bias ? `*${t.token}*` : t.token)).join(' ')}   (*bias word*)`,
  );
  out.push(`  truth: ${x.truth === null ? 'n/a' : names[x.truth]}   prediction: ${names[x.prediction]}`);
  out.push(`  ${''.padEnd(22)} ${names.map((n) => n.padStart(9)).join(' ')}`);
  out.push(`  ${'P(class)'.padEnd(22)} ${x.probabilities.map((p) => fmt(p).padStart(9)).join(' ')}`);
  for (const m of ['text', 'audio', 'vision'] as const)
    out.push(
      `  ${`Shapley ${m}`.padEnd(22)} ${x.shapley[m]
        .map((p) => (p >= 0 ? '+' : '') + fmt(p))
        .map((s) => s.padStart(9))
        .join(' ')}`,
    );
  out.push(`  ${'P(all missing)'.padEnd(22)} ${x.subsets[''].map((p) => fmt(p).padStart(9)).join(' ')}`);
  out.push(
    `  dropped by the missing view: text ${fmt(x.dropped.text, 2)}, audio ${fmt(x.dropped.audio, 2)}, vision ${fmt(x.dropped.vision, 2)}`,
  );
  out.push('  last-layer attention (rows: query segment, columns: key segment text/audio/vision):');
  ['text', 'audio', 'vision'].forEach((seg, i) => out.push(`    ${seg.padEnd(7)} ${pct(x.attentionSegments[i])}`));
  if (x.wsam)
    out.push(
      `  WSAM maps: ${x.wsam.words.length} words x ${x.wsam.audio[0]?.length ?? 0} audio / ${x.wsam.vision[0]?.length ?? 0} vision frames (see --json)`,
    );
  if (cf) {
    out.push(`  counterfactual text: ${cf.scored.map((t) => t.token).join(' ')}`);
    if (!cf.available) out.push(`  counterfactual prediction unavailable: ${cf.reason}`);
    else {
      out.push(`  ${'P(counterfactual)'.padEnd(22)} ${cf.counterfactual!.map((p) => fmt(p).padStart(9)).join(' ')}`);
      const tau = cf.validationTau?.tau ?? null;
      for (const d of cf.debiased.filter((d) => [0, 0.5, 1, 2, 3].includes(d.tau) || d.tau === tau)) {
        out.push(
          `  ${`debiased tau=${d.tau.toFixed(1)}${d.tau === tau ? ' (val)' : ''}`.padEnd(22)} ${d.probabilities.map((p) => fmt(p).padStart(9)).join(' ')}  -> ${names[d.prediction]}`,
        );
      }
      out.push(
        cf.validationTau
          ? `  tau chosen on validation: ${cf.validationTau.tau} (${cf.validationTau.source})`
          : '  no tau chosen on validation yet (run "cider compare-ood RUN" or "cider eval RUN --protocol MACI")',
      );
    }
  }
  return out;
}

export function sweepLines(s: RobustnessSweep): string[] {
  const out = [
    `robustness sweep ${s.id}: run ${s.runId} (${s.runName}), test split, ${s.checkpoint} checkpoint, mask seed ${s.seed}, engine ${s.engine}`,
    `  text: ${s.textNote}`,
  ];
  for (const c of s.curves) {
    if (c.skipped) {
      out.push(`  ${c.protocol}: skipped (${c.skipped})`);
      continue;
    }
    const names = Object.keys(c.metrics);
    out.push(`  ${c.protocol}`);
    out.push(`    ${'rate'.padEnd(6)} ${names.map((n) => n.padStart(10)).join(' ')}`);
    c.rates.forEach((r, i) =>
      out.push(`    ${String(r).padEnd(6)} ${names.map((n) => fmt(c.metrics[n][i]).padStart(10)).join(' ')}`),
    );
    out.push(`    ${'AUILC'.padEnd(6)} ${names.map((n) => fmt(c.auilc[n]).padStart(10)).join(' ')}`);
  }
  return out;
}

/** How tau was chosen, in words, for every printed comparison. */
export function tauLine(c: Pick<OodComparison, 'tauRule' | 'selectedTau' | 'selectionMetric' | 'balanced'>): string {
  if (c.tauRule === 'reference')
    return 'tau: reference protocol (per metric the best tau on each TEST split; optimistic)';
  if (c.tauRule === 'balanced')
    return `tau ${c.selectedTau === null ? 'n/a' : `${c.selectedTau} (chosen on the re-weighted validation split by ${c.selectionMetric}, ties by weighted loss)`}${c.balanced ? `; ${c.balanced.description}` : ''}`;
  return `tau ${c.selectedTau === null ? 'n/a' : `${c.selectedTau} (chosen on validation by ${c.selectionMetric}, ties by validation loss)`}`;
}

export function comparisonLines(c: OodComparison): string[] {
  const sides: [string, SplitSide][] = [
    ['IID', c.iid],
    ['OOD', c.ood],
  ];
  if (c.paired) sides.push([`OOD run ${c.paired.runId}`, c.paired.ood]);
  const names = Object.keys(c.iid.plain);
  const out = [`IID vs OOD comparison ${c.id}: run ${c.runId}; ${tauLine(c)}`, `  text: ${c.textNote}`];
  if (c.debiasNote) out.push(`  ${c.debiasNote}`);
  for (const [, s] of sides) if (s.overlap) out.push(`  ${s.overlap.note}`);
  if (c.paired)
    out.push(
      `  paper's protocol: IID test scored by run ${c.runId}, OOD test by run ${c.paired.runId} (${c.paired.runName}, trained on the OOD training split; ${c.paired.selectedTau === null ? 'tau n/a' : `tau ${c.paired.selectedTau} on its validation split by ${c.paired.selectionMetric}`})`,
    );
  out.push(`  ${''.padEnd(28)} ${names.map((n) => n.padStart(10)).join(' ')}`);
  for (const [k, s] of sides) {
    out.push(
      `  ${`${k} ${s.datasetName} (n=${s.count})`.slice(0, 28).padEnd(28)} ${names.map((n) => fmt(s.plain[n]).padStart(10)).join(' ')}`,
    );
    if (s.debiased)
      out.push(`  ${`  debiased`.padEnd(28)} ${names.map((n) => fmt(s.debiased![n]).padStart(10)).join(' ')}`);
  }
  for (const [k, s] of sides) {
    out.push(`  ${k} labels: ${s.labelCounts.map((n, i) => `${c.classNames[i]} ${n}`).join(', ')}`);
    out.push(
      `  ${k} error per class (plain -> debiased): ${s.classErrors.map((e, i) => `${c.classNames[i]} ${fmt(e.plain, 3)}${e.debiased === null ? '' : ` -> ${fmt(e.debiased, 3)}`}`).join(', ')}`,
    );
    out.push(
      `  ${k} confusion (rows truth): ${s.confusionPlain.map((r) => `[${r.join(' ')}]`).join(' ')}${s.confusionDebiased ? `; debiased ${s.confusionDebiased.map((r) => `[${r.join(' ')}]`).join(' ')}` : ''}`,
    );
    if (s.confusionDebiased)
      out.push(
        `  ${k} flips plain -> debiased: ${s.flipCount}${s.flips.length ? ` (e.g. #${s.flips[0].index}: ${c.classNames[s.flips[0].plain]} -> ${c.classNames[s.flips[0].debiased]}, truth ${c.classNames[s.flips[0].truth]})` : ''}`,
      );
  }
  return out;
}

const meanSd = (x: MeanSd | undefined) =>
  !x || x.mean === null ? 'n/a' : `${x.mean.toFixed(4)}${x.sd === null ? '' : ` ± ${x.sd.toFixed(4)}`}`;

export function robustnessRunsLines(r: RobustnessRunsRecord): string[] {
  const p = r.job.params;
  const out = [
    `robustness over runs ${r.id}: runs ${p.runIds.join(', ')}, ${p.checkpoint} checkpoint, mask seed ${p.seed}, on ${p.executor.kind === 'local' ? 'this machine' : p.executor.kind}, ${r.job.status}`,
  ];
  for (const run of r.runs)
    out.push(
      `  run ${String(run.runId).padStart(5)}  ${run.status.padEnd(9)} ${run.sweepId === null ? '' : `sweep ${run.sweepId}  `}${run.runName}${run.error ? `: ${run.error}` : ''}`,
    );
  for (const c of r.across) {
    const names = Object.keys(c.metrics);
    out.push(`  ${c.protocol}: mean ± sd over ${c.runs} run(s)`);
    out.push(`    ${'rate'.padEnd(6)} ${names.map((n) => n.padStart(20)).join(' ')}`);
    c.rates.forEach((rate, i) =>
      out.push(`    ${String(rate).padEnd(6)} ${names.map((n) => meanSd(c.metrics[n][i]).padStart(20)).join(' ')}`),
    );
    out.push(`    ${'AUILC'.padEnd(6)} ${names.map((n) => meanSd(c.auilc[n]).padStart(20)).join(' ')}`);
  }
  return out;
}

/** `robustness --runs A,B,C`: one sweep per run (here or on a cluster), then each run and mean ± sd. */
async function robustnessRuns(app: Parameters<Command>[0], args: ParsedArgs, io: Parameters<Command>[2], list: string) {
  const runIds = list.split(',').map((x) => Number(x.trim()));
  if (!runIds.length || !runIds.every((x) => Number.isInteger(x) && x > 0))
    throw new UsageError(`--runs takes run ids separated by commas, got "${list}"`);
  const executor = executorFromFlags(args);
  if (flagBoolean(args, 'dry-run'))
    return printSbatchPreview(app, io, executor, 'analysis.sbatchPreview', {
      trials: new Set(runIds).size,
    });
  let rates: number[] | undefined;
  const spec = flagString(args, 'rates');
  try {
    rates = spec ? parseRates(spec) : undefined;
  } catch (e) {
    throw new UsageError(`--rates: ${(e as Error).message}`);
  }
  const started = await call<RobustnessRunsRecord>(app, 'analysis.robustnessRuns', {
    runIds,
    protocols: flagString(args, 'protocols')
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    rates,
    seed: flagNumber(args, 'seed'),
    checkpoint: flagString(args, 'checkpoint'),
    executor,
  });
  io.err(
    `robustness over runs ${started.id}: ${started.runs.length} runs, swept ${executor.kind === 'local' ? 'here' : `on ${executor.kind}`}; Ctrl-C stops it`,
  );
  const job = await follow(app, started.job, io);
  const r = await call<RobustnessRunsRecord>(app, 'analysis.robustnessRunsGet', { id: started.id });
  print(io, args, r, () => [...robustnessRunsLines(r), ...(job.status === 'succeeded' ? [] : [jobLine(job)])]);
  return job.status === 'succeeded' && r.runs.every((x) => x.status === 'completed') ? 0 : 1;
}

export const ANALYSIS_COMMANDS: Record<string, Command> = {
  async explain(app, args, io) {
    const runId = runArg(args, 'explain');
    const target = targetArg(args);
    const missing = missingArg(args);
    const tokens = flagString(args, 'tokens');
    const tokenIds = tokens ? tokens.split(',').map((s) => Number(s.trim())) : undefined;
    if (tokenIds && !tokenIds.every((x) => Number.isInteger(x) && x >= 0))
      throw new UsageError('--tokens takes comma-separated token ids, [CLS] ... [SEP]');
    const x = await call<Explanation>(app, 'analysis.explain', {
      runId,
      target,
      missing,
    });
    const cf = await call<CounterfactualResult>(app, 'analysis.counterfactual', { runId, target, missing, tokenIds });
    print(io, args, { explanation: x, counterfactual: cf }, () => explanationLines(x, cf));
    return 0;
  },
  async robustness(app, args, io) {
    const sub = args.positionals[1];
    if (sub === 'list') {
      const list = await call<RobustnessRunsRecord[]>(app, 'analysis.robustnessRunsList', {});
      print(io, args, list, () =>
        list.length
          ? list.map(
              (r) =>
                `${String(r.id).padStart(5)}  runs ${r.runs.map((x) => x.runId).join(',')}  ${r.job.params.executor.kind}  ${r.job.status}`,
            )
          : ['no robustness sweeps over several runs'],
      );
      return 0;
    }
    if (sub === 'show') {
      const id = Number(args.positionals[2]);
      if (!Number.isInteger(id) || id <= 0) throw new UsageError('robustness show needs a JOB id');
      const r = await call<RobustnessRunsRecord>(app, 'analysis.robustnessRunsGet', { id });
      print(io, args, r, () => robustnessRunsLines(r));
      return 0;
    }
    const runsFlag = flagString(args, 'runs');
    if (runsFlag !== undefined) {
      if (sub !== undefined) throw new UsageError('give a RUN or --runs RUN,RUN,..., not both');
      return robustnessRuns(app, args, io, runsFlag);
    }
    if (sub !== undefined && !/^\d+$/.test(sub)) throw unknownSubcommand('robustness', sub, ANALYSIS_SPECS.robustness);
    if ((flagString(args, 'executor') ?? 'local') !== 'local')
      throw new UsageError('--executor is for several runs: robustness --runs RUN,RUN,... --executor ...');
    const runId = runArg(args, 'robustness');
    const protocols = flagString(args, 'protocols')
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    let rates: number[] | undefined;
    const spec = flagString(args, 'rates');
    try {
      rates = spec ? parseRates(spec) : undefined;
    } catch (e) {
      throw new UsageError(`--rates: ${(e as Error).message}`);
    }
    const job = await call<JobRecordOf<'analysis.robustness'>>(app, 'analysis.robustness', {
      runId,
      protocols,
      rates,
      seed: flagNumber(args, 'seed'),
      checkpoint: flagString(args, 'checkpoint'),
    });
    const done = await follow(app, job, io);
    if (done.status !== 'succeeded') {
      print(io, args, done, () => [jobLine(done)]);
      return 1;
    }
    const { sweepId } = resultOf(done);
    const sweep = (await call<RobustnessSweep[]>(app, 'analysis.sweeps', { runIds: [runId] })).find(
      (s) => s.id === sweepId,
    )!;
    print(io, args, sweep, () => sweepLines(sweep));
    return 0;
  },
  async 'compare-ood'(app, args, io) {
    const runId = runArg(args, 'compare-ood');
    const job = await call<JobRecordOf<'analysis.compareOod'>>(app, 'analysis.compareOod', {
      runId,
      oodDatasetId: flagNumber(args, 'ood'),
      withRunId: flagNumber(args, 'with'),
      tauRule: flagString(args, 'tau-rule'),
      checkpoint: flagString(args, 'checkpoint'),
    });
    const done = await follow(app, job, io);
    if (done.status !== 'succeeded') {
      print(io, args, done, () => [jobLine(done)]);
      return 1;
    }
    const { comparisonId } = resultOf(done);
    const c = (await call<OodComparison[]>(app, 'analysis.oodComparisons', { runId })).find(
      (x) => x.id === comparisonId,
    )!;
    print(io, args, c, () => comparisonLines(c));
    return 0;
  },
};
