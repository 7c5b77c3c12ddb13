/**
 * The layout of the data folder: every path under <dataDir> the app reads or writes, in one place.
 * Where the data folder itself is (--data-dir, CIDER_DATA_DIR, the platform's per-user folder) is
 * services/paths.ts; what lies inside it is here. Pure path arithmetic: nothing is created.
 */
import { join } from 'node:path';

/** the SQLite database (WAL): main owns it; job workers open their own connections */
export function databaseFile(dataDir: string): string {
  return join(dataDir, 'cider.sqlite');
}

/** imported and built datasets, one folder each (named by datasetFolderName in store/datasets.ts) */
export function datasetsRoot(dataDir: string): string {
  return join(dataDir, 'datasets');
}
/** where a dataset job builds its store before main moves it into datasetsRoot */
export function stagingDir(dataDir: string, jobId: number): string {
  return join(datasetsRoot(dataDir), '.staging', `job-${jobId}`);
}
export function stagedStore(dataDir: string, jobId: number): string {
  return join(stagingDir(dataDir, jobId), 'store');
}
/** where a dataset exported from annotated clips is built before it is registered */
export function clipsDatasetStaging(dataDir: string, stamp: string): string {
  return join(datasetsRoot(dataDir), '.staging', `clips-${stamp}`, 'store');
}

/** training runs: <runsRoot>/r<id> holds a run's checkpoints and ONNX export */
export function runsRoot(dataDir: string): string {
  return join(dataDir, 'runs');
}
export function runFolder(dataDir: string, runId: number): string {
  return join(runsRoot(dataDir), `r${runId}`);
}

/** frozen-BERT text features, cached across runs */
export function textCacheDir(dataDir: string): string {
  return join(dataDir, 'cache', 'text-features');
}

/** a clip's extracted features and derived files */
export function clipDir(dataDir: string, clipId: number): string {
  return join(dataDir, 'clips', String(clipId));
}
