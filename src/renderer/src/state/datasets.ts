/**
 * Datasets view state as a pure reducer: (state, action) => state, tested without a browser
 * (test/unit/renderer/datasets-reducer.test.ts), plus the selectors the view draws from.
 */
import type { BiasWordList, Dataset, DatasetSplit, SampleDetail, SamplePage } from '../../../shared/contract/datasets';
import type { AppEvent } from '../../../shared/types';
import { isJobOf, type JobRecord, type JobRecordOf } from '../../../shared/jobs';

export const PAGE_SIZE = 20;

export interface DatasetsState {
  list: Dataset[];
  loading: boolean;
  selectedId: number | null;
  /** jobs of kind dataset.*, newest first */
  jobs: JobRecord[];
  bias: { task: 3 | 7; k: number; list: BiasWordList | null; error: string | null };
  browser: {
    split: DatasetSplit;
    offset: number;
    page: SamplePage | null;
    index: number | null;
    sample: SampleDetail | null;
  };
  error: string | null;
}

export type DatasetsAction =
  | { type: 'loaded'; list: Dataset[] }
  | { type: 'jobsLoaded'; jobs: JobRecord[] }
  | { type: 'select'; id: number | null }
  | { type: 'event'; event: AppEvent }
  | { type: 'jobStarted'; job: JobRecord }
  | { type: 'biasTask'; task: 3 | 7 }
  | { type: 'biasK'; k: number }
  | { type: 'biasLoaded'; list: BiasWordList }
  | { type: 'biasFailed'; message: string }
  | { type: 'browseSplit'; split: DatasetSplit }
  | { type: 'browsePage'; offset: number }
  | { type: 'pageLoaded'; page: SamplePage }
  | { type: 'openSample'; index: number | null }
  | { type: 'sampleLoaded'; sample: SampleDetail }
  | { type: 'removed'; id: number }
  | { type: 'error'; message: string | null };

const freshBrowser = (split: DatasetSplit = 'train'): DatasetsState['browser'] => ({
  split,
  offset: 0,
  page: null,
  index: null,
  sample: null,
});

export const initialDatasets: DatasetsState = {
  list: [],
  loading: true,
  selectedId: null,
  jobs: [],
  bias: { task: 3, k: 20, list: null, error: null },
  browser: freshBrowser(),
  error: null,
};

export const isDatasetJob = (j: JobRecord): j is JobRecordOf<'dataset.import' | 'dataset.splitOod'> =>
  isJobOf(j, 'dataset.import', 'dataset.splitOod');

/** a new selection starts with nothing loaded for it */
function selectDataset(state: DatasetsState, id: number | null): DatasetsState {
  if (id === state.selectedId) return state;
  return {
    ...state,
    selectedId: id,
    bias: { ...state.bias, list: null, error: null },
    browser: freshBrowser(state.browser.split),
  };
}

export function datasetsReducer(state: DatasetsState, action: DatasetsAction): DatasetsState {
  switch (action.type) {
    case 'loaded': {
      const next = { ...state, list: action.list, loading: false };
      const keep = state.selectedId !== null && action.list.some((d) => d.id === state.selectedId);
      return keep ? next : selectDataset(next, action.list[0]?.id ?? null);
    }
    case 'jobsLoaded':
      return { ...state, jobs: action.jobs.filter(isDatasetJob) };
    case 'select':
      return selectDataset(state, action.id);
    case 'jobStarted':
      return { ...state, error: null, jobs: upsertJob(state.jobs, action.job) };
    case 'event': {
      const e = action.event;
      if (e.type !== 'job.updated' || !isDatasetJob(e.job)) return state;
      const next = { ...state, jobs: upsertJob(state.jobs, e.job) };
      // a finished import or OOD build opens its dataset (the list itself reloads on datasets.changed)
      const made = e.job.status === 'succeeded' ? e.job.result : null;
      const prev = state.jobs.find((j) => j.id === e.job.id);
      if (made && typeof made.id === 'number' && prev?.status !== 'succeeded') {
        const withIt = next.list.some((d) => d.id === made.id) ? next.list : [...next.list, made];
        return selectDataset({ ...next, list: withIt }, made.id);
      }
      return next;
    }
    case 'biasTask':
      return action.task === state.bias.task
        ? state
        : { ...state, bias: { ...state.bias, task: action.task, list: null, error: null } };
    case 'biasK':
      return action.k === state.bias.k
        ? state
        : { ...state, bias: { ...state.bias, k: action.k, list: null, error: null } };
    case 'biasLoaded': {
      const b = state.bias;
      // an answer for a previous selection, task or K is dropped
      if (action.list.datasetId !== state.selectedId || action.list.task !== b.task || action.list.k !== b.k)
        return state;
      return { ...state, bias: { ...b, list: action.list, error: null } };
    }
    case 'biasFailed':
      return { ...state, bias: { ...state.bias, list: null, error: action.message } };
    case 'browseSplit':
      return action.split === state.browser.split ? state : { ...state, browser: freshBrowser(action.split) };
    case 'browsePage':
      return { ...state, browser: { ...state.browser, offset: Math.max(0, action.offset), page: null } };
    case 'pageLoaded': {
      const b = state.browser;
      if (action.page.split !== b.split || action.page.offset !== b.offset) return state;
      return { ...state, browser: { ...b, page: action.page } };
    }
    case 'openSample':
      return { ...state, browser: { ...state.browser, index: action.index, sample: null } };
    case 'sampleLoaded': {
      const b = state.browser;
      if (action.sample.split !== b.split || action.sample.index !== b.index) return state;
      return { ...state, browser: { ...b, sample: action.sample } };
    }
    case 'removed': {
      const list = state.list.filter((d) => d.id !== action.id);
      const next = { ...state, list };
      return state.selectedId === action.id ? selectDataset(next, list[0]?.id ?? null) : next;
    }
    case 'error':
      return { ...state, error: action.message };
  }
}

function upsertJob(jobs: JobRecord[], job: JobRecord): JobRecord[] {
  const i = jobs.findIndex((j) => j.id === job.id);
  // events can arrive out of order over a reconnect: a finished job never goes back to running
  if (i >= 0 && jobs[i].finishedAt && !job.finishedAt) return jobs;
  return i < 0 ? [job, ...jobs] : jobs.map((j) => (j.id === job.id ? job : j));
}

export function selectedDataset(state: DatasetsState): Dataset | null {
  return state.list.find((d) => d.id === state.selectedId) ?? null;
}

/**
 * The versions of the same data, for IID vs OOD comparisons: the IID dataset first, then its OOD
 * versions in creation order. For an OOD dataset imported without a parent, just itself.
 */
export function versionsOf(list: Dataset[], d: Dataset): Dataset[] {
  const root = d.parentId !== null ? (list.find((x) => x.id === d.parentId) ?? d) : d;
  return [root, ...list.filter((x) => x.parentId === root.id && x.id !== root.id)];
}

/** the list as a tree for the sidebar: each IID dataset followed by its OOD versions */
export function datasetTree(list: Dataset[]): { dataset: Dataset; depth: 0 | 1 }[] {
  const ids = new Set(list.map((d) => d.id));
  const out: { dataset: Dataset; depth: 0 | 1 }[] = [];
  for (const d of list) {
    if (d.parentId !== null && ids.has(d.parentId)) continue;
    out.push({ dataset: d, depth: 0 });
    for (const c of list) if (c.parentId === d.id) out.push({ dataset: c, depth: 1 });
  }
  return out;
}

/** per-class proportions, for comparing splits of different sizes */
export function proportions(counts: number[]): number[] {
  const n = counts.reduce((a, b) => a + b, 0);
  return counts.map((c) => (n ? c / n : 0));
}

/** "a.pkl\n b.csd " -> ["a.pkl", "b.csd"]: one path per line (a path may hold commas) */
export function parsePaths(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/** the `n` channels that move most in this sample (largest variance), in channel order */
export function liveliestChannels(series: number[][], n: number): number[] {
  const variance = series.map((ys) => {
    if (!ys.length) return 0;
    const m = ys.reduce((a, b) => a + b, 0) / ys.length;
    return ys.reduce((a, b) => a + (b - m) ** 2, 0) / ys.length;
  });
  return variance
    .map((v, c) => [v, c] as const)
    .sort((a, b) => b[0] - a[0] || a[1] - b[1])
    .slice(0, n)
    .map(([, c]) => c)
    .sort((a, b) => a - b);
}
