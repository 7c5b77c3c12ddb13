/**
 * Composition root for everything below main/index.ts: the database, the stores, the job runner,
 * the event hub and the service handlers. Desktop (IPC), web (HTTP + WebSocket) and CLI all
 * build one of these and bind its `dispatch` to their transport.
 */
import { mkdirSync } from 'node:fs';
import type { Handlers } from '../../shared/api';
import type { AppStatus, BackendInfo } from '../../shared/types';
import { findFfmpeg, type FfmpegInfo } from '../media/ffmpeg';
import { JobRunner, workerThreadSpawner, type SpawnWorker } from '../jobs/runner';
import { openDatabase, SCHEMA_VERSION, type Db } from '../store/db';
import { JobStore } from '../store/jobs';
import { ProjectStore, SettingsStore } from '../store/projects';
import { createDispatcher, type Dispatch } from './dispatch';
import { datasetsService } from './datasets';
import { clipsService } from './clips';
import { trainingService } from './training';
import { reportsService } from './reports';
import { analysisViaContract } from '../reports/analysisSource';
import type { PrintToPdf } from '../reports/pdf';
import { analysisService } from './analysis';
import { searchService } from './search';
import { ablationService } from './ablation';
import { createModelHandlers } from './models';
import { EventHub } from './events';
import { databaseFile } from '../store/paths';
import { APP_VERSION } from './version';

export { APP_VERSION };
import { filesHandlers, resolveRoots, type PickPath } from './files';
import { runtimeAssets } from '../runtime/assets';

export interface AppOptions {
  dataDir: string;
  mode: AppStatus['mode'];
  /** how job workers start; defaults to a worker thread on src/main/jobs/worker.ts */
  spawnWorker?: SpawnWorker;
  maxConcurrentJobs?: number;
  /** create the demo project on a fresh database (off in tests that count projects) */
  seedDemo?: boolean;
  log?: (message: string) => void;
  /** the desktop app's PDF printer (Electron's printToPDF); web mode and the CLI print with headless Chromium */
  printToPdf?: PrintToPdf;
  /** the desktop app's native open/save dialog (Electron's dialog, bound in src/main/index.ts) */
  pickPath?: PickPath;
  /** web mode: the folders its file browser may show (`--allow DIR`) */
  fileRoots?: string[];
}

/** What every service's handlers may use. Handler factories take this and nothing global. */
export interface ServiceContext {
  db: Db;
  dataDir: string;
  mode: AppStatus['mode'];
  projects: ProjectStore;
  jobs: JobStore;
  settings: SettingsStore;
  runner: JobRunner;
  events: EventHub;
  /** the native file dialog, where there is one (desktop) */
  pickPath?: PickPath;
  /** real paths of the folders the web-mode file browser may show */
  fileRoots?: string[];
}

export interface AppServices extends ServiceContext {
  db: Db;
  dataDir: string;
  projects: ProjectStore;
  jobs: JobStore;
  settings: SettingsStore;
  runner: JobRunner;
  events: EventHub;
  dispatch: Dispatch;
  handlers: Handlers<void>;
  /** jobs found running at start-up, now marked interrupted */
  interruptedAtStart: number[];
  close(): Promise<void>;
}

export const DEMO_PROJECT = {
  name: 'Demo project',
  description:
    'A place to try CIDer Studio: import a benchmark dataset (MOSI/MOSEI pickles) or your own clips, train CIDer, and compare in-distribution and out-of-distribution results.',
};

/** The job worker's entry for the code that is running (source: the tsx bootstrap; built: worker.js beside it). */
export function defaultWorkerEntry(): URL {
  return runtimeAssets().jobWorkerEntry();
}

export function createApp(opts: AppOptions): AppServices {
  // a wrong --allow stops start-up before anything is opened
  const fileRoots = opts.fileRoots ? resolveRoots(opts.fileRoots) : undefined;
  mkdirSync(opts.dataDir, { recursive: true });
  const dbFile = databaseFile(opts.dataDir);
  const db = openDatabase(dbFile);
  const projects = new ProjectStore(db);
  const jobs = new JobStore(db);
  const settings = new SettingsStore(db);
  const events = new EventHub();
  const interruptedAtStart = jobs.markInterrupted().map((j) => j.id);

  if ((opts.seedDemo ?? true) && !settings.get<boolean>('demo.seeded')) {
    if (projects.list().length === 0) projects.create(DEMO_PROJECT.name, DEMO_PROJECT.description);
    settings.set('demo.seeded', true);
  }

  const runner = new JobRunner({
    store: jobs,
    emit: events.emit,
    spawn: opts.spawnWorker ?? workerThreadSpawner(defaultWorkerEntry()),
    dataDir: opts.dataDir,
    maxConcurrent: opts.maxConcurrentJobs,
  });

  // This thread's TF.js backend is chosen through the one place that chooses it (ml/backends/tf.ts,
  // whose guard refuses any op before the choice): at start-up in the long-running processes
  // (desktop main, web mode); in the CLI when a command first needs it, so a listing never loads
  // TF.js. Job workers choose their own (jobs/worker.ts).
  let backend: Promise<BackendInfo> | undefined;
  const chooseBackend = () =>
    (backend ??= import('../ml/backends/tf')
      .then(({ initBackend }) => initBackend())
      .then(({ name, reason, tfjsVersion, gpu }) => ({ name, reason, tfjsVersion, gpu })));
  if (opts.mode !== 'cli') chooseBackend().catch(() => undefined);
  let ffmpeg: FfmpegInfo | undefined;
  const status = async (): Promise<AppStatus> => {
    ffmpeg ??= findFfmpeg(settings.get<string>('ffmpeg.path'));
    return {
      appVersion: APP_VERSION,
      mode: opts.mode,
      dataDir: opts.dataDir,
      databaseFile: dbFile,
      schemaVersion: SCHEMA_VERSION,
      backend: await chooseBackend(),
      ffmpeg: { path: ffmpeg.path, version: ffmpeg.version },
      node: process.versions.node,
      platform: `${process.platform}-${process.arch}`,
    };
  };

  const ctx: ServiceContext = {
    db,
    dataDir: opts.dataDir,
    mode: opts.mode,
    projects,
    jobs,
    settings,
    runner,
    events,
    pickPath: opts.pickPath,
    fileRoots,
  };
  const datasets = datasetsService(ctx);
  const clips = clipsService(ctx);
  const training = trainingService(ctx);
  // reports read the analysis service through the contract (not available in a build without it)
  const reports = reportsService(ctx, {
    status,
    printToPdf: opts.printToPdf,
    analysis: analysisViaContract((method, args) => dispatch(method, args)),
  });
  const analysis = analysisService(ctx);
  const search = searchService(ctx, training.handlers);
  const ablation = ablationService(ctx, training.handlers);
  // Each service's handlers come from its own factory (src/main/services/<service>.ts) given ctx.
  const handlers: Handlers<void> = {
    app: {
      status,
      uiState: ({ key }) => settings.get<unknown>(`ui.${key}`) ?? null,
      saveUiState: ({ key, value }) => {
        settings.set(`ui.${key}`, value);
        return { saved: true as const };
      },
    },
    projects: {
      list: () => projects.list(),
      get: ({ id }) => projects.get(id),
      create: ({ name, description }) => {
        const p = projects.create(name, description);
        events.emit({ type: 'projects.changed' });
        return p;
      },
      update: ({ id, name, description }) => {
        const p = projects.update(id, { name, description });
        events.emit({ type: 'projects.changed' });
        return p;
      },
      remove: ({ id }) => {
        projects.remove(id);
        events.emit({ type: 'projects.changed' });
        return { removed: true as const };
      },
    },
    jobs: {
      list: (f) => jobs.list(f),
      get: ({ id }) => jobs.get(id),
      logs: ({ id, limit }) => jobs.logs(id, limit),
      cancel: ({ id }) => runner.cancel(id),
      selfTest: ({ projectId, size, iterations }) => {
        if (projectId !== undefined) projects.get(projectId);
        return runner.submit('backend.selftest', { size, iterations }, projectId ?? null);
      },
    },
    datasets: datasets.handlers,
    clips: clips.handlers,
    runs: training.handlers,
    reports: reports.handlers,
    analysis: analysis.handlers,
    search: search.handlers,
    ablation: ablation.handlers,
    models: createModelHandlers(ctx),
    files: filesHandlers(ctx),
  };

  const dispatch = createDispatcher(handlers, undefined, (method, e) =>
    opts.log?.(`${method} failed: ${(e as Error)?.stack ?? String(e)}`),
  );

  return {
    ...ctx,
    dispatch,
    handlers,
    interruptedAtStart,
    async close() {
      await runner.close();
      await analysis.close();
      db.close();
    },
  };
}
