/**
 * Runs view state as a pure reducer (test/unit/renderer/runs-reducer.test.ts): every run, the ones
 * chosen for comparison with their epochs and test evaluations, and the comparison's selectors
 * (settings that differ, curves overlaid, final metrics).
 */
import type { EvaluationRecord, RunEpoch, RunRecord, TrainingOptions } from '../../../shared/contract/training';
import type { AppEvent } from '../../../shared/types';
import type { JobKind, JobRecord } from '../../../shared/jobs';
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
  /**
   * work a row's button started, shown from the click on (before the server answers): the job is
   * null until the call returns it, then follows its events until it finishes
   */
  pending: Record<number, PendingWork>;
  /** a row action's failure, shown in that row */
  rowErrors: Record<number, string>;
}

export interface PendingWork {
  action: RowAction;
  job: JobRecord | null;
}
export type RowAction = 'evaluate' | 'resume' | 'stop';
const ROW_ACTION_JOB_KIND: Record<RowAction, JobKind | null> = { evaluate: 'evaluate', resume: 'train', stop: null };
export const ROW_ACTION_LABEL: Record<RowAction, string> = {
  evaluate: 'evaluating on test',
  resume: 'resuming',
  stop: 'stopping',
};

export type RunsAction =
  | { type: 'loaded'; list: RunRecord[] }
  | { type: 'toggle'; id: number }
  | { type: 'detailLoaded'; id: number; epochs: RunEpoch[]; evaluations: EvaluationRecord[] }
  | { type: 'curve'; name: string }
  | { type: 'error'; message: string | null }
  | { type: 'rowStarting'; id: number; action: RowAction }
  | { type: 'rowStarted'; id: number; job: JobRecord | null }
  | { type: 'rowFailed'; id: number; message: string }
  | { type: 'event'; event: AppEvent };

export const initialRuns: RunsState = {
  list: [],
  loading: true,
  compare: [],
  epochs: {},
  evaluations: {},
  curve: 'validation:selection',
  error: null,
  pending: {},
  rowErrors: {},
};

const JOB_DONE = ['succeeded', 'failed', 'cancelled', 'interrupted'];
const without = <T>(r: Record<number, T>, id: number): Record<number, T> => {
  const { [id]: _, ...rest } = r;
  return rest;
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
    case 'rowStarting':
      return {
        ...state,
        pending: { ...state.pending, [action.id]: { action: action.action, job: null } },
        rowErrors: without(state.rowErrors, action.id),
      };
    case 'rowStarted': {
      const p = state.pending[action.id];
      // gone: the job's last event came before the call's answer
      if (!p) return state;
      // a call without a job (stop) or a job that already finished: nothing left to follow
      if (!action.job || JOB_DONE.includes(action.job.status))
        return { ...state, pending: without(state.pending, action.id) };
      // an event may have overtaken the call's answer: keep the newer record
      const job = p.job?.id === action.job.id ? p.job : action.job;
      return { ...state, pending: { ...state.pending, [action.id]: { ...p, job } } };
    }
    case 'rowFailed':
      return {
        ...state,
        pending: without(state.pending, action.id),
        rowErrors: { ...state.rowErrors, [action.id]: action.message },
      };
    case 'event': {
      const e = action.event;
      if (e.type !== 'job.updated') return state;
      // by job id, or (the event overtook the call's answer) by the run and kind the job is for
      const entry = Object.entries(state.pending).find(([id, p]) =>
        p.job
          ? p.job.id === e.job.id
          : 'runId' in e.job.params &&
            e.job.params.runId === Number(id) &&
            e.job.kind === ROW_ACTION_JOB_KIND[p.action],
      );
      if (!entry) return state;
      const id = Number(entry[0]);
      if (!JOB_DONE.includes(e.job.status))
        return { ...state, pending: { ...state.pending, [id]: { ...entry[1], job: e.job } } };
      return {
        ...state,
        pending: without(state.pending, id),
        rowErrors:
          e.job.status === 'failed' && e.job.error
            ? { ...state.rowErrors, [id]: `${ROW_ACTION_LABEL[entry[1].action]} failed: ${e.job.error.message}` }
            : state.rowErrors,
      };
    }
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
