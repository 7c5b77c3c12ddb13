/**
 * The report's analysis sections from the analysis service (src/shared/contract/analysis.ts),
 * called through the contract like any other client: per pinned clip or sample, the exact Shapley
 * contributions of each modality (analysis.explain) and the automatic and saved counterfactual texts
 * with their predictions (analysis.counterfactual, analysis.edits); per run, the latest IID vs OOD
 * comparison (analysis.oodComparisons) and robustness sweep (analysis.sweeps). A build of the app
 * without that service answers UNKNOWN_METHOD, which becomes "not available" with the reason.
 *
 * Only the fields read here are typed (a structural subset of the analysis contract's results).
 */
import type { Envelope } from '../../shared/errors';
import type {
  ContributionRow,
  CounterfactualEditRow,
  OodComparison,
  LeftOutPin,
  PinnedRef,
  PinnedSection,
  ReportSection,
  RobustnessCurve,
} from '../../shared/contract/reports';
import type { RunRecord } from '../../shared/contract/training';
import type { AnalysisSource } from './model';

export type CallContract = (methodId: string, args: unknown) => Promise<Envelope<unknown>>;

type Target = { kind: 'clip'; clipId: number } | { kind: 'sample'; split: 'train' | 'valid' | 'test'; index: number };
interface TokenLike {
  token: string;
  special: boolean;
}
interface ExplanationLike {
  label: string;
  classNames: string[];
  probabilities: number[];
  prediction: number;
  shapley: Record<'text' | 'audio' | 'vision', number[]>;
  tokens: TokenLike[];
}
interface CounterfactualLike {
  classNames: string[];
  available: boolean;
  reason: string | null;
  scored: TokenLike[];
  factual: number[];
  counterfactual: number[] | null;
  debiased: { tau: number; prediction: number }[];
  validationTau: { tau: number; source: string } | null;
}
interface TextEditLike {
  name: string;
  target: Target & { datasetId?: number };
  tokenIds: number[];
}
interface SplitSideLike {
  datasetName: string;
  plain: Record<string, number>;
  debiased: Record<string, number> | null;
  overlap?: { note: string };
}
interface OodComparisonLike {
  id: number;
  iid: SplitSideLike;
  ood: SplitSideLike;
  selectedTau: number | null;
  selectionMetric: string;
  tauRule?: string;
  paired?: { runId: number; runName: string; ood: SplitSideLike } | null;
}
interface SweepLike {
  id: number;
  seed: number;
  checkpoint: string;
  engine: string;
  textNote: string;
  curves: {
    protocol: string;
    rates: number[];
    metrics: Record<string, number[]>;
    auilc: Record<string, number | null>;
    skipped?: string;
  }[];
}

const targetOf = (p: PinnedRef): Target =>
  'clipId' in p ? { kind: 'clip', clipId: p.clipId } : { kind: 'sample', split: p.split, index: p.index };
const itemOf = (p: PinnedRef) => ('clipId' in p ? `clip ${p.clipId}` : `${p.split} sample ${p.index}`);
const argmax = (xs: number[]) => xs.reduce((b, x, i) => (x > xs[b] ? i : b), 0);
const words = (ts: TokenLike[]) =>
  ts
    .filter((t) => !t.special || t.token === '[MASK]')
    .map((t) => t.token)
    .join(' ')
    .replace(/ ##/g, '');
const sameTarget = (a: Target, b: Target) =>
  a.kind === 'clip'
    ? b.kind === 'clip' && a.clipId === b.clipId
    : b.kind === 'sample' && a.split === b.split && a.index === b.index;

class Unavailable extends Error {
  /** the service's own words, without the method name (what a reader of the report is shown for one pin) */
  constructor(
    message: string,
    readonly detail = message,
    readonly wholeService = false,
  ) {
    super(message);
  }
}

export function analysisViaContract(call: CallContract): AnalysisSource {
  const ask = async <T>(method: string, args: unknown): Promise<T> => {
    const env = await call(method, args);
    if (env.ok) return env.value as T;
    if (env.error.code === 'UNKNOWN_METHOD')
      throw new Unavailable('the analysis service is not part of this build of the app', undefined, true);
    throw new Unavailable(`${method}: ${env.error.message}`, env.error.message);
  };
  /** a pin as the user knows it: the clip's name, or the split and index of a dataset sample */
  const pinName = async (p: PinnedRef): Promise<string> => {
    if (!('clipId' in p)) return `${p.split} sample ${p.index}`;
    const env = await call('clips.get', { id: p.clipId });
    const name = env.ok ? (env.value as { name?: unknown }).name : undefined;
    return typeof name === 'string' ? `clip "${name}" (#${p.clipId})` : `clip #${p.clipId}`;
  };
  /**
   * Each pinned item on its own: one that fails is left out by name with the service's reason and
   * the others keep their rows; only a missing service (or every pin failing) empties the section.
   */
  const perPin = async <R>(
    pinned: PinnedRef[],
    rowsOf: (p: PinnedRef) => Promise<R[]>,
    noneReason: () => string,
  ): Promise<PinnedSection<R[]>> => {
    const rows: R[] = [];
    const leftOut: LeftOutPin[] = [];
    for (const p of pinned) {
      try {
        rows.push(...(await rowsOf(p)));
      } catch (e) {
        if (!(e instanceof Unavailable) || e.wholeService) throw e;
        leftOut.push({ item: await pinName(p), reason: e.detail });
      }
    }
    if (!rows.length)
      return {
        available: false,
        reason: !leftOut.length
          ? noneReason()
          : new Set(leftOut.map((l) => l.reason)).size === 1
            ? `${leftOut[0].reason} (every pinned item)`
            : `no pinned item could be analysed: ${leftOut.map((l) => `${l.item}: ${l.reason}`).join('; ')}`,
        ...(leftOut.length ? { leftOut } : {}),
      };
    return { available: true, data: rows, ...(leftOut.length ? { leftOut } : {}) };
  };
  const guard = async <T>(f: () => Promise<ReportSection<T>>): Promise<ReportSection<T>> => {
    try {
      return await f();
    } catch (e) {
      if (e instanceof Unavailable) return { available: false, reason: e.message };
      throw e;
    }
  };

  return {
    contributions: (run: RunRecord, pinned: PinnedRef[]) =>
      guard(() =>
        perPin(
          pinned,
          async (p) => {
            const x = await ask<ExplanationLike>('analysis.explain', {
              runId: run.id,
              target: targetOf(p),
            });
            const c = x.prediction;
            const row: ContributionRow = {
              item: `${itemOf(p)}: ${x.label}`,
              predicted: x.classNames[c] ?? String(c),
              probabilities: x.probabilities,
              // contributions to the predicted class's probability
              shapley: {
                text: x.shapley.text[c],
                audio: x.shapley.audio[c],
                vision: x.shapley.vision[c],
              },
            };
            return [row];
          },
          () => 'no pinned item',
        ),
      ),
    counterfactualEdits: (run: RunRecord, pinned: PinnedRef[]) =>
      guard(async () => {
        const saved = await ask<TextEditLike[]>('analysis.edits', {
          runId: run.id,
        });
        let reason: string | null = null;
        return perPin(
          pinned,
          async (p) => {
            const rows: CounterfactualEditRow[] = [];
            const target = targetOf(p);
            const x = await ask<ExplanationLike>('analysis.explain', {
              runId: run.id,
              target,
            });
            const variants: { name: string; tokenIds?: number[] }[] = [
              { name: 'automatic' },
              ...saved
                .filter((e) => sameTarget(target, e.target))
                .map((e) => ({ name: `edit "${e.name}"`, tokenIds: e.tokenIds })),
            ];
            for (const v of variants) {
              const cf = await ask<CounterfactualLike>('analysis.counterfactual', {
                runId: run.id,
                target,
                ...(v.tokenIds ? { tokenIds: v.tokenIds } : {}),
              });
              if (!cf.available || !cf.counterfactual) {
                reason = cf.reason ?? 'counterfactual predictions are unavailable for this run';
                continue;
              }
              const tau = cf.validationTau?.tau ?? 1;
              const at = cf.debiased.reduce(
                (b, d) => (Math.abs(d.tau - tau) < Math.abs(b.tau - tau) ? d : b),
                cf.debiased[0],
              );
              rows.push({
                item: `${itemOf(p)} (${v.name})`,
                text: words(x.tokens),
                counterfactualText: words(cf.scored),
                prediction: cf.classNames[argmax(cf.factual)],
                counterfactualPrediction: cf.classNames[argmax(cf.counterfactual)],
                debiasedPrediction: at ? cf.classNames[at.prediction] : 'n/a',
                tau: at?.tau ?? tau,
              });
            }
            return rows;
          },
          () => reason ?? 'no counterfactual text for the pinned clips',
        );
      }),
    oodComparison: (run: RunRecord) =>
      guard(async () => {
        const list = await ask<OodComparisonLike[]>('analysis.oodComparisons', {
          runId: run.id,
        });
        if (!list.length)
          return {
            available: false,
            reason: `no IID vs OOD comparison stored for run ${run.id} (the analysis view's OOD comparison, or cider compare-ood ${run.id})`,
          };
        const c = list.reduce((a, b) => (b.id > a.id ? b : a));
        const metrics = [...new Set([...Object.keys(c.iid.plain), ...Object.keys(c.ood.plain)])];
        const data: OodComparison = {
          iidSplit: `${c.iid.datasetName} test`,
          oodSplit: `${c.ood.datasetName} test`,
          rows: metrics.map((metric) => ({
            metric,
            iidPlain: c.iid.plain[metric] ?? null,
            iidDebiased: c.iid.debiased?.[metric] ?? null,
            oodPlain: c.ood.plain[metric] ?? null,
            oodDebiased: c.ood.debiased?.[metric] ?? null,
            ...(c.paired
              ? {
                  pairedOodPlain: c.paired.ood.plain[metric] ?? null,
                  pairedOodDebiased: c.paired.ood.debiased?.[metric] ?? null,
                }
              : {}),
          })),
          notes: [
            c.tauRule === 'reference'
              ? 'debiased: reference protocol, per metric the best tau on each TEST split (optimistic)'
              : `debiased: tau ${c.selectedTau ?? 'n/a'} chosen on the run's validation split by ${c.selectionMetric}`,
            ...[c.iid, c.ood, ...(c.paired ? [c.paired.ood] : [])].flatMap((s) => (s.overlap ? [s.overlap.note] : [])),
            ...(c.paired
              ? [
                  `paper's protocol: the OOD test also scored by run ${c.paired.runId} (${c.paired.runName}), trained on the OOD training split`,
                ]
              : []),
          ],
          pairedRun: c.paired ? { id: c.paired.runId, name: c.paired.runName } : null,
        };
        return { available: true, data };
      }),
    robustness: (run: RunRecord) =>
      guard(async () => {
        const sweeps = await ask<SweepLike[]>('analysis.sweeps', {
          runIds: [run.id],
        });
        if (!sweeps.length)
          return {
            available: false,
            reason: `no robustness sweep stored for run ${run.id}`,
          };
        const s = sweeps.reduce((a, b) => (b.id > a.id ? b : a));
        const curves: RobustnessCurve[] = s.curves
          .filter((c) => !c.skipped && c.rates.length)
          .map((c) => ({
            source: `analysis sweep ${s.id}`,
            evaluationId: s.id,
            protocol: c.protocol,
            checkpoint: s.checkpoint,
            seed: s.seed,
            engine: s.engine,
            textNote: s.textNote,
            points: c.rates.map((rate, i) => ({
              rate,
              metrics: Object.fromEntries(Object.entries(c.metrics).map(([k, v]) => [k, v[i] ?? null])),
            })),
            auilc: c.auilc,
          }));
        return { available: true, data: curves };
      }),
  };
}
