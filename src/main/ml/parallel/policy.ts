/**
 * How many threads a training step uses by default. Light on purpose (no TF.js): the training
 * service records the choice in a run's options when the run is created, so a seeded run repeats
 * exactly wherever it is rerun or resumed (the dropout masks depend on how the batch is split).
 */
import { availableParallelism } from 'node:os';

/** Smallest batch worth splitting across threads (smaller ones run on one thread). */
export const MIN_PARALLEL_BATCH = 32;

/** Threads a training step should use by default: both cores for batches big enough. */
export function defaultTrainWorkers(batchSize: number): number {
  return batchSize >= MIN_PARALLEL_BATCH ? Math.min(2, availableParallelism()) : 1;
}
