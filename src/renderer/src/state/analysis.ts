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

export type SimModality = 'text' | 'audio' | 'vision';
export const SIM_MODALITIES: readonly SimModality[] = ['text', 'audio', 'vision'];
/** the evaluation's default mask seed (spec: 1111), the stream the sample's masks are drawn from */
export const SIMULATOR_SEED = 1111;

/**
 * The missing-modality simulator as the user set it: which modalities are removed outright and,
 * independently, the missing rate of each one. Removing a modality keeps its rate (ticking it
 * back restores it); moving a rate never changes what is removed.
 */
export interface SimulatorState {
  removed: Record<SimModality, boolean>;
  rates: Record<SimModality, number>;
  seed: number;
}
export const completeSimulator: SimulatorState = {
  removed: { text: false, audio: false, vision: false },
  rates: { text: 0, audio: 0, vision: 0 },
  seed: SIMULATOR_SEED,
};

/**
 * The contract's setting for a simulator state: nothing missing -> complete; only removals ->
 * toggles; any rate -> rates, a removed modality at rate 1 (the same masks: toggles are rates of 0 or 1).
 */
export function missingOf(sim: SimulatorState): MissingSetting {
  const anyRate = SIM_MODALITIES.some((m) => !sim.removed[m] && sim.rates[m] > 0);
  const anyRemoved = SIM_MODALITIES.some((m) => sim.removed[m]);
  if (!anyRate && !anyRemoved) return { mode: 'complete' };
  if (!anyRate)
    return { mode: 'toggles', text: !sim.removed.text, audio: !sim.removed.audio, vision: !sim.removed.vision };
  const rate = (m: SimModality) => (sim.removed[m] ? 1 : sim.rates[m]);
  return { mode: 'rates', text: rate('text'), audio: rate('audio'), vision: rate('vision'), seed: sim.seed };
}

/** A simulator state showing a stored setting (e.g. a saved edit's). */
export function simulatorOf(m: MissingSetting): SimulatorState {
  if (m.mode === 'complete') return completeSimulator;
  if (m.mode === 'toggles')
    return { ...completeSimulator, removed: { text: !m.text, audio: !m.audio, vision: !m.vision } };
  return {
    removed: { text: m.text >= 1, audio: m.audio >= 1, vision: m.vision >= 1 },
    rates: { text: m.text, audio: m.audio, vision: m.vision },
    seed: m.seed,
  };
}

/** What is being simulated, in words, e.g. "vision removed; audio missing at rate 0.3 (masks from seed 1111)". */
export function describeSimulator(sim: SimulatorState): string {
  const removed = SIM_MODALITIES.filter((m) => sim.removed[m]);
  const partial = SIM_MODALITIES.filter((m) => !sim.removed[m] && sim.rates[m] > 0);
  if (!removed.length && !partial.length) return 'Complete view: every modality present.';
  const parts: string[] = [];
  if (removed.length === 3) parts.push('all three modalities removed (the model sees only [CLS]/[SEP] and zeros)');
  else if (removed.length) parts.push(`${removed.join(' and ')} removed`);
  if (partial.length)
    parts.push(
      `${partial.map((m) => `${m} missing at rate ${sim.rates[m].toFixed(1)}`).join(', ')} (random frames/tokens, masks from seed ${sim.seed}, the evaluation's per-sample stream)`,
    );
  const kept = SIM_MODALITIES.filter((m) => !sim.removed[m] && !(sim.rates[m] > 0));
  if (kept.length && kept.length < 3) parts.push(`${kept.join(' and ')} complete`);
  return `Simulating: ${parts.join('; ')}.`;
}

export interface AnalysisState {
  section: AnalysisSection;
  runId: number | null;
  split: 'train' | 'valid' | 'test';
  index: number;
  /** the simulator as set; `missing` is derived from it (missingOf) */
  simulator: SimulatorState;
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
  simulator: completeSimulator,
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
  | { type: 'sim-remove'; modality: SimModality; removed: boolean }
  | { type: 'sim-rate'; modality: SimModality; rate: number }
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
    // a new missing view makes a new automatic counterfactual text; an edit in progress is kept
    case 'missing':
      return { ...s, simulator: simulatorOf(a.missing), missing: a.missing };
    case 'sim-remove':
    case 'sim-rate': {
      const sim =
        a.type === 'sim-remove'
          ? { ...s.simulator, removed: { ...s.simulator.removed, [a.modality]: a.removed } }
          : {
              ...s.simulator,
              rates: { ...s.simulator.rates, [a.modality]: Math.min(1, Math.max(0, Math.round(a.rate * 10) / 10)) },
            };
      const missing = missingOf(sim);
      // an unchanged setting keeps its object, so the view does not recompute
      return {
        ...s,
        simulator: sim,
        missing: JSON.stringify(missing) === JSON.stringify(s.missing) ? s.missing : missing,
      };
    }
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

/** The robustness protocols one can sweep, each with what it keeps and drops at missing rate p (spec section 3). */
export const PROTOCOL_HELP: Record<string, string> = {
  RMFM: "every frame and token of every modality dropped independently with probability p (the paper's task)",
  RMM: 'each whole modality dropped with probability p, independently per sample',
  'SMM:T': 'keeps text complete; audio and vision frames dropped at rate p',
  'SMM:A': 'keeps audio complete; text and vision dropped at rate p',
  'SMM:V': 'keeps vision complete; text and audio dropped at rate p',
  'SMM:TA': 'keeps text and audio complete; vision dropped at rate p',
  'SMM:TV': 'keeps text and vision complete; audio dropped at rate p',
  'SMM:AV': 'keeps audio and vision complete; text dropped at rate p',
  'RMFM_same:1/0/0': 'per-modality rates p x (1, 0, 0): only text dropped at rate p',
  TMFM: 'aligned data only: one time mask shared by the three modalities, each step dropped with probability p',
  STMFM: 'aligned data only: one contiguous block of round((len-2) x p) steps dropped in all three modalities',
};
export const ALIGNED_ONLY = ['TMFM', 'STMFM'];

/** The protocols ticked at first: the common ones, plus the time-mask ones only when the run's data is known to be aligned. */
export function defaultProtocols(aligned: boolean | null): string[] {
  return ['RMFM', 'RMM', 'SMM:T', 'SMM:AV', ...(aligned ? ALIGNED_ONLY : [])];
}

/** Overlaid runs with no stored sweep, to say so instead of leaving them silently out of the charts. */
export function runsWithoutSweep(sweeps: readonly RobustnessSweep[], runIds: readonly number[]): number[] {
  return runIds.filter((r) => !sweeps.some((s) => s.runId === r));
}
