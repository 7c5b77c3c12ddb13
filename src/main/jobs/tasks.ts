/**
 * Where each job kind's code lives (the kinds themselves are the catalogue in
 * src/shared/jobs.ts). Loaded lazily inside the worker so that starting a job only pays for the
 * modules that job needs.
 */
import type { JobKind } from '../../shared/jobs';
import type { Task } from './protocol';

export const TASKS: { [K in JobKind]: () => Promise<Task<K>> } = {
  'backend.selftest': async () => (await import('./tasks/selftest')).selfTestTask,
  'dataset.import': async () => (await import('./tasks/datasets')).datasetImportTask,
  'dataset.splitOod': async () => (await import('./tasks/datasets')).datasetSplitOodTask,
  'clips.extract': async () => (await import('./tasks/clipsExtract')).clipsExtractTask,
  train: async () => (await import('./tasks/training')).trainTask,
  evaluate: async () => (await import('./tasks/training')).evaluateTask,
  'analysis.robustness': async () => (await import('./tasks/analysis')).robustnessTask,
  'analysis.compareOod': async () => (await import('./tasks/analysis')).compareOodTask,
  search: async () => (await import('./tasks/search')).searchTask,
  ablation: async () => (await import('./tasks/ablation')).ablationTask,
  'analysis.robustnessRuns': async () => (await import('./tasks/robustnessRuns')).robustnessRunsTask,
};
