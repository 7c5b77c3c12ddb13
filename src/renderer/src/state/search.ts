/**
 * Search view state as a pure reducer (test/unit/renderer/search-reducer.test.ts): the search form
 * and the searches with their trials, best first (as the service ranks them).
 */
import type { Dataset } from '../../../shared/contract/datasets';
import type { SearchRecord } from '../../../shared/contract/search';
import { executorFormErrors, initialExecutorForm, type ExecutorForm } from './executor';

export { executorOf } from './executor';

export interface SearchForm extends ExecutorForm {
  datasetId: number | null;
  trials: number;
  seed: number;
  task: 3 | 7;
  maxEpochs: number;
  batchSize: number;
  patience: number;
}

export interface SearchState {
  datasets: Dataset[];
  list: SearchRecord[];
  selectedId: number | null;
  form: SearchForm;
  error: string | null;
  /** the sbatch script of the form's SLURM settings, once asked for */
  preview: string | null;
}

export type SearchAction =
  | { type: 'datasetsLoaded'; list: Dataset[] }
  | { type: 'loaded'; list: SearchRecord[] }
  | { type: 'set'; patch: Partial<SearchForm> }
  | { type: 'started'; search: SearchRecord }
  | { type: 'select'; id: number }
  | { type: 'error'; message: string | null }
  | { type: 'preview'; script: string | null };

/** small by default: each trial is a whole run; the paper's 200 epochs apply to real experiments */
export const initialSearch: SearchState = {
  datasets: [],
  list: [],
  selectedId: null,
  form: {
    datasetId: null,
    trials: 10,
    seed: 1111,
    task: 3,
    maxEpochs: 20,
    batchSize: 128,
    patience: 10,
    ...initialExecutorForm,
  },
  error: null,
  preview: null,
};

export function searchReducer(state: SearchState, action: SearchAction): SearchState {
  switch (action.type) {
    case 'datasetsLoaded': {
      const keep = state.form.datasetId !== null && action.list.some((d) => d.id === state.form.datasetId);
      return {
        ...state,
        datasets: action.list,
        form: keep ? state.form : { ...state.form, datasetId: action.list[0]?.id ?? null },
      };
    }
    case 'loaded': {
      const keep = state.selectedId !== null && action.list.some((s) => s.id === state.selectedId);
      return { ...state, list: action.list, selectedId: keep ? state.selectedId : (action.list[0]?.id ?? null) };
    }
    case 'set':
      // a preview describes the settings it was made from
      return { ...state, form: { ...state.form, ...action.patch }, preview: null };
    case 'preview':
      return { ...state, preview: action.script };
    case 'started':
      return {
        ...state,
        error: null,
        selectedId: action.search.id,
        list: [action.search, ...state.list.filter((s) => s.id !== action.search.id)],
      };
    case 'select':
      return { ...state, selectedId: action.id };
    case 'error':
      return { ...state, error: action.message };
  }
}

export function searchFormErrors(f: SearchForm): string[] {
  const out: string[] = [];
  if (f.datasetId === null) out.push('pick a dataset');
  if (!Number.isInteger(f.trials) || f.trials < 1 || f.trials > 300) out.push('trials: 1 to 300');
  for (const k of ['maxEpochs', 'batchSize', 'patience'] as const)
    if (!Number.isInteger(f[k]) || f[k] < 1) out.push(`${k}: a positive whole number`);
  if (!Number.isInteger(f.seed) || f.seed < 0) out.push('seed: a whole number >= 0');
  return [...out, ...executorFormErrors(f)];
}

export const selectedSearch = (s: SearchState): SearchRecord | null =>
  s.list.find((x) => x.id === s.selectedId) ?? null;
