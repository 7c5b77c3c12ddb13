/**
 * The Analysis tab's state as pure functions (state, action) => state: which run and sample, the
 * missing-modality simulator's setting, the counterfactual text being edited, tau, and the runs
 * overlaid in the robustness curves. Tested without a browser (test/unit/renderer/analysis-reducer.test.ts).
 */
import type {
  CounterfactualResult,
  Explanation,
  MissingSetting,
  RobustnessSweep,
} from '../../../shared/contract/analysis';
import type { Point } from '../components/chartScale';

/** The shape components/LineChart's ChartSeries has (kept structural so this module stays JSX-free for the node tests). */
export interface CurveSeries {
  name: string;
  points: Point[];
  color?: string;
  dashed?: boolean;
}

export const MASK_TOKEN_ID = 103;
export const CLS_TOKEN_ID = 101;
export const SEP_TOKEN_ID = 102;

export type AnalysisSection = 'inspector' | 'robustness' | 'ood';

export interface AnalysisState {
  section: AnalysisSection;
  runId: number | null;
  split: 'train' | 'valid' | 'test';
  index: number;
  missing: MissingSetting;
  explanation: Explanation | null;
  counterfactual: CounterfactualResult | null;
  /** the counterfactual text being edited ([CLS] ... [SEP]); null = the automatic one */
  editTokens: number[] | null;
  /** word pieces shown for edited ids that the service has not named yet */
  editNames: Record<number, string>;
  selectedPosition: number | null;
  tau: number;
  /** runs whose latest sweep is overlaid */
  overlay: number[];
  metric: string;
  error: string | null;
}

export const initialAnalysis: AnalysisState = {
  section: 'inspector',
  runId: null,
  split: 'test',
  index: 0,
  missing: { mode: 'complete' },
  explanation: null,
  counterfactual: null,
  editTokens: null,
  editNames: {},
  selectedPosition: null,
  tau: 0,
  overlay: [],
  metric: 'Acc_3',
  error: null,
};

export type EditOp =
  | { kind: 'mask'; position: number }
  | { kind: 'delete'; position: number }
  | { kind: 'replace'; position: number; ids: number[]; tokens: string[] };

export type AnalysisAction =
  | { type: 'section'; section: AnalysisSection }
  | { type: 'run'; runId: number | null }
  | { type: 'target'; split?: AnalysisState['split']; index?: number }
  | { type: 'missing'; missing: MissingSetting }
  | { type: 'explained'; explanation: Explanation }
  | { type: 'counterfactual'; result: CounterfactualResult }
  | { type: 'select-token'; position: number | null }
  | { type: 'edit'; op: EditOp }
  | { type: 'reset-edit' }
  | { type: 'load-edit'; tokenIds: number[] }
  | { type: 'tau'; tau: number }
  | { type: 'overlay'; runId: number; on: boolean }
  | { type: 'metric'; metric: string }
  | { type: 'error'; message: string | null };

/** The edited text after one operation; [CLS] (first) and [SEP] (last) are never edited. */
export function applyEdit(tokens: readonly number[], op: EditOp): number[] {
  const p = op.position;
  if (p <= 0 || p >= tokens.length - 1) return [...tokens];
  if (op.kind === 'mask') return tokens.map((t, i) => (i === p ? MASK_TOKEN_ID : t));
  if (op.kind === 'delete') return tokens.filter((_, i) => i !== p);
  return [...tokens.slice(0, p), ...op.ids, ...tokens.slice(p + 1)];
}

export function analysisReducer(s: AnalysisState, a: AnalysisAction): AnalysisState {
  switch (a.type) {
    case 'section':
      return { ...s, section: a.section };
    case 'run':
      return {
        ...s,
        runId: a.runId,
        explanation: null,
        counterfactual: null,
        editTokens: null,
        selectedPosition: null,
        error: null,
        overlay: a.runId !== null && !s.overlay.includes(a.runId) ? [...s.overlay, a.runId] : s.overlay,
      };
    case 'target':
      return {
        ...s,
        split: a.split ?? s.split,
        index: Math.max(0, a.index ?? s.index),
        explanation: null,
        counterfactual: null,
        editTokens: null,
        selectedPosition: null,
      };
    case 'missing':
      // a new missing view makes a new automatic counterfactual text; an edit in progress is kept
      return { ...s, missing: a.missing };
    case 'explained':
      return { ...s, explanation: a.explanation, error: null };
    case 'counterfactual': {
      const tau = s.counterfactual === null && a.result.validationTau ? a.result.validationTau.tau : s.tau;
      return { ...s, counterfactual: a.result, tau, error: null };
    }
    case 'select-token':
      return { ...s, selectedPosition: a.position };
    case 'edit': {
      const base = s.editTokens ?? s.counterfactual?.scored.map((t) => t.id) ?? [];
      const names =
        a.op.kind === 'replace'
          ? {
              ...s.editNames,
              ...Object.fromEntries(a.op.ids.map((id, i) => [id, (a.op as { tokens: string[] }).tokens[i]])),
            }
          : s.editNames;
      return {
        ...s,
        editTokens: applyEdit(base, a.op),
        editNames: names,
        selectedPosition: null,
      };
    }
    case 'reset-edit':
      return { ...s, editTokens: null, selectedPosition: null };
    case 'load-edit':
      return { ...s, editTokens: [...a.tokenIds], selectedPosition: null };
    case 'tau':
      return {
        ...s,
        tau: Math.min(3, Math.max(0, Math.round(a.tau * 10) / 10)),
      };
    case 'overlay':
      return {
        ...s,
        overlay: a.on
          ? s.overlay.includes(a.runId)
            ? s.overlay
            : [...s.overlay, a.runId]
          : s.overlay.filter((r) => r !== a.runId),
      };
    case 'metric':
      return { ...s, metric: a.metric };
    case 'error':
      return { ...s, error: a.message };
  }
}

/** The debiased point at the current tau (the grid's nearest). */
export function debiasedAt(cf: CounterfactualResult, tau: number): CounterfactualResult['debiased'][number] | null {
  if (!cf.debiased.length) return null;
  return cf.debiased.reduce((best, d) => (Math.abs(d.tau - tau) < Math.abs(best.tau - tau) ? d : best));
}

/** One chart per protocol: the newest sweep of each overlaid run, `metric` against the missing rate. */
export function robustnessCharts(
  sweeps: readonly RobustnessSweep[],
  runIds: readonly number[],
  metric: string,
): {
  protocol: string;
  series: (CurveSeries & { auilc: number | null; runId: number })[];
}[] {
  const latest = new Map<number, RobustnessSweep>();
  for (const s of sweeps)
    if (runIds.includes(s.runId) && (!latest.has(s.runId) || latest.get(s.runId)!.id < s.id)) latest.set(s.runId, s);
  const protocols: string[] = [];
  for (const s of latest.values())
    for (const c of s.curves) if (!c.skipped && !protocols.includes(c.protocol)) protocols.push(c.protocol);
  return protocols.map((protocol) => ({
    protocol,
    series: runIds
      .filter((r) => latest.has(r))
      .flatMap((r, k) => {
        const s = latest.get(r)!;
        const c = s.curves.find((x) => x.protocol === protocol && !x.skipped);
        if (!c || !c.metrics[metric]) return [];
        return [
          {
            name: `run ${r} ${s.runName}`,
            runId: r,
            dashed: k > 0,
            auilc: c.auilc[metric] ?? null,
            points: c.rates.map((x, i) => ({
              x,
              y: c.metrics[metric][i] ?? NaN,
            })),
          },
        ];
      }),
  }));
}
