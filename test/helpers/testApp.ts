/**
 * The app's services on a temp data folder, for tests that drive them in-process (jobs in worker
 * threads, a real SQLite file): contract calls that throw on an error envelope, and a tiny training
 * run that waits for its job.
 */
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { createApp, type AppServices } from '../../src/main/services/app';
import type { RunRecord } from '../../src/shared/contract/training';
import type { JobRecord } from '../../src/shared/types';
import { TINY_MODEL } from './syntheticRuns';
import { tempDir } from './tmp';

/** A contract call through the app's dispatcher; an error envelope throws with the method, code and message. */
export async function callApp<T>(app: Pick<AppServices, 'dispatch'>, method: string, args: unknown): Promise<T> {
  const env = await app.dispatch(method, args);
  if (!env.ok) throw new Error(`${method}: ${env.error.code} ${env.error.message}`);
  return env.value as T;
}

/**
 * Trains a tiny model (TINY_MODEL, one epoch unless `options` says otherwise) on a dataset and
 * waits for the job to succeed; returns the run as recorded after training.
 */
export async function trainTinyRun(
  app: Pick<AppServices, 'dispatch' | 'runner'>,
  datasetId: number,
  options: Record<string, unknown> = {},
  name?: string,
): Promise<RunRecord> {
  const { run, job } = await callApp<{ run: RunRecord; job: JobRecord }>(app, 'runs.start', {
    datasetId,
    ...(name === undefined ? {} : { name }),
    options: { maxEpochs: 1, model: TINY_MODEL, ...options },
  });
  const done = await app.runner.wait(job.id);
  assert.equal(done.status, 'succeeded', JSON.stringify(done.error));
  return callApp<RunRecord>(app, 'runs.get', { id: run.id });
}

/** Services built on `dataDir` (no demo project) for `prepare`, closed afterwards whatever happens. */
export async function withApp<T>(dataDir: string, prepare: (app: AppServices) => Promise<T>): Promise<T> {
  const app = createApp({ dataDir, mode: 'cli', seedDemo: false });
  try {
    return await prepare(app);
  } finally {
    await app.close();
  }
}

/**
 * One app for the whole test file: created before the first test on a fresh temp data folder (no
 * demo project), closed after the last; `cleanup` runs after it is closed.
 */
export function useTestApp(cleanup?: () => void): {
  readonly app: AppServices;
  readonly dataDir: string;
  call<T>(method: string, args: unknown): Promise<T>;
} {
  const dataDir = tempDir();
  let app: AppServices | undefined;
  before(() => {
    app = createApp({ dataDir, mode: 'cli', seedDemo: false });
  });
  after(async () => {
    await app?.close();
    cleanup?.();
  });
  return {
    get app() {
      if (!app) throw new Error('the test app is created in before(): use it inside a test');
      return app;
    },
    dataDir,
    call: <T>(method: string, args: unknown) => callApp<T>(app!, method, args),
  };
}
