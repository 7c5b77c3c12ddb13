/**
 * Runs view state as a pure reducer (test/unit/renderer/runs-reducer.test.ts): every run, the ones
 * chosen for comparison with their epochs and test evaluations, and the comparison's selectors
 * (settings that differ, curves overlaid, final metrics).
 */
import type { EvaluationRecord, RunEpoch, RunRecord, TrainingOptions } from '../../../shared/contract/training';
import { CHART_COLORS, type ChartSeries } from '../components/chartScale';

export interface RunsState {
  list: RunRecord[];
  loading: boolean;
  /** chosen for comparison, in the order chosen */
  compare: number[];
  epochs: Record<number, RunEpoch[]>;
  evaluations: Record<number, EvaluationRecord[]>;
  /** the metric whose curves are overlaid */
  curve: string;
  error: string | null;
}

export type RunsAction =
  | { type: 'loaded'; list: RunRecord[] }
  | { type: 'toggle'; id: number }
  | { type: 'detailLoaded'; id: number; epochs: RunEpoch[]; evaluations: EvaluationRecord[] }
  | { type: 'curve'; name: string }
  | { type: 'error'; message: string | null };

export const initialRuns: RunsState = {
  list: [],
  loading: true,
  compare: [],
  epochs: {},
  evaluations: {},
  curve: 'validation:selection',
  error: null,
};

export function runsReducer(state: RunsState, action: RunsAction): RunsState {
  switch (action.type) {
    case 'loaded': {
      const ids = new Set(action.list.map((r) => r.id));
      return { ...state, list: action.list, loading: false, compare: state.compare.filter((id) => ids.has(id)) };
    }
    case 'toggle':
      return {
        ...state,
        compare: state.compare.includes(action.id)
          ? state.compare.filter((id) => id !== action.id)
          : [...state.compare, action.id],
      };
    case 'detailLoaded':
      return {
        ...state,
        epochs: { ...state.epochs, [action.id]: action.epochs },
        evaluations: { ...state.evaluations, [action.id]: action.evaluations },
      };
    case 'curve':
      return { ...state, curve: action.name };
    case 'error':
      return { ...state, error: action.message };
  }
}

/** the runs being compared, in the order chosen */
export const compared = (s: RunsState): RunRecord[] => s.compare.flatMap((id) => s.list.filter((r) => r.id === id));

/** an options object flattened to dotted keys ('model.dropouts.relu' -> 0.1) */
export function flattenOptions(o: unknown, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  if (o === null || typeof o !== 'object') return { [prefix]: String(o) };
  for (const [k, v] of Object.entries(o)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) Object.assign(out, flattenOptions(v, key));
    else out[key] = v === undefined ? '-' : Array.isArray(v) ? v.join(', ') : String(v);
  }
  return out;
}

export interface SettingRow {
  key: string;
  values: string[];
  differs: boolean;
}

/** every setting of the compared runs (the dataset first); `onlyDiffs` keeps the ones that differ */
export function settingsDiff(runs: RunRecord[], onlyDiffs = true): SettingRow[] {
  const flat = runs.map((r) => ({
    dataset: r.datasetFolder.split(/[\\/]/).filter(Boolean).at(-1) ?? r.datasetFolder,
    ...flattenOptions(r.options as TrainingOptions),
  }));
  const keys = [...new Set(flat.flatMap((f) => Object.keys(f)))];
  const rows = keys.map((key) => {
    const values = flat.map((f) => (f as Record<string, string>)[key] ?? '-');
    return { key, values, differs: new Set(values).size > 1 };
  });
  return onlyDiffs ? rows.filter((r) => r.differs) : rows;
}

/** the curves one can overlay: 'loss:<component>' and 'validation:<metric>' ('validation:selection' = each run's selection metric) */
export function curveNames(s: RunsState): string[] {
  const es = compared(s).flatMap((r) => s.epochs[r.id] ?? []);
  const losses = [...new Set(es.flatMap((e) => Object.keys(e.losses)))].map((k) => `loss:${k}`);
  const metrics = [...new Set(es.flatMap((e) => Object.keys(e.validation)))].map((k) => `validation:${k}`);
  return ['validation:selection', ...metrics, ...losses];
}

/** one series per compared run for the chosen curve, over epochs */
export function overlaidCurves(s: RunsState, curve = s.curve): ChartSeries[] {
  const [kind, name] = curve.split(':');
  return compared(s).map((r, i) => ({
    name: `#${r.id} ${r.name}`,
    color: CHART_COLORS[i % CHART_COLORS.length],
    points: (s.epochs[r.id] ?? []).map((e) => {
      const y =
        kind === 'loss'
          ? e.losses[name as keyof RunEpoch['losses']]
          : e.validation[name === 'selection' ? r.selectionMetric : name];
      return { x: e.epoch, y: typeof y === 'number' ? y : NaN };
    }),
  }));
}

export interface FinalMetrics {
  runId: number;
  /** validation metrics at the best epoch */
  validation: Record<string, number>;
  bestEpoch: number | null;
  /** the newest complete-view test evaluation, if any */
  test: Record<string, number> | null;
}

export function finalMetrics(s: RunsState, run: RunRecord): FinalMetrics {
  const epochs = s.epochs[run.id] ?? [];
  const best = epochs.find((e) => e.epoch === run.bestEpoch) ?? null;
  const complete = (s.evaluations[run.id] ?? []).filter((e) => e.protocol === 'complete').at(-1);
  return {
    runId: run.id,
    validation: best?.validation ?? {},
    bestEpoch: run.bestEpoch,
    test: complete?.points[0]?.metrics ?? null,
  };
}

/** metric names over the compared runs' final metrics, the selection metrics first */
export function metricNames(finals: FinalMetrics[]): string[] {
  const names = [...new Set(finals.flatMap((f) => [...Object.keys(f.validation), ...Object.keys(f.test ?? {})]))];
  const first = ['Non0_acc_2', 'Acc_7'];
  return [...first.filter((n) => names.includes(n)), ...names.filter((n) => !first.includes(n))];
}
