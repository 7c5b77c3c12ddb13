/**
 * `cider`: the headless command line over the same services as the desktop app and web mode.
 * Each command builds the app services on the chosen data folder, calls the contract's methods
 * through the same dispatcher, and prints a table (or JSON with --json).
 */
import { fileURLToPath } from 'node:url';
import { AppError } from '../shared/errors';
import { resultOf, type JobRecord, type JobRecordOf } from '../shared/jobs';
import { createApp, type AppServices } from '../main/services/app';
import { call, follow, jobLine, print, type CliIo, type Command } from './io';
import { resolveDataDir } from '../main/services/paths';
import { DEFAULT_PORT, startWebServer } from '../main/server/web';
import { flagNumber, flagString, parseArgs, UsageError, type ParsedArgs } from './args';
import { DATASET_COMMANDS, DATASETS_HELP } from './commands/datasets';
import { TRAINING_COMMANDS, TRAINING_HELP } from './commands/training';
import { ANALYSIS_COMMANDS, ANALYSIS_HELP } from './commands/analysis';
import { CLIPS_COMMANDS, CLIPS_HELP } from './commands/clips';
import { REPORTS_COMMANDS, REPORTS_HELP } from './commands/reports';
import { SEARCH_COMMANDS, SEARCH_HELP } from './commands/search';
import { MODELS_COMMANDS, MODELS_HELP } from './commands/models';

const HELP = `cider: CIDer Studio on the command line

usage: cider <command> [options]

commands:
  doctor                      versions, TensorFlow.js backend and why, data folder, ffmpeg
  projects list               list projects
  projects create NAME [--description TEXT]
  jobs list [--project ID]    list jobs
  jobs logs ID                print a job's log
  jobs cancel ID              cancel a queued or running job
  selftest [--size N] [--iterations N]
                              measure the backend's matmul throughput (runs as a job)
${MODELS_HELP}${DATASETS_HELP}${TRAINING_HELP}${ANALYSIS_HELP}${SEARCH_HELP}${CLIPS_HELP}${REPORTS_HELP}  web [--port N] [--host H]   serve the app and its API on http://127.0.0.1 (default port ${DEFAULT_PORT})

options for every command:
  --data-dir DIR              the data folder (default: $CIDER_DATA_DIR, else the per-user app folder)
  --json                      print JSON instead of text
`;

const COMMANDS: Record<string, Command> = {
  async doctor(app, args, io) {
    const s = await call<Awaited<ReturnType<AppServices['handlers']['app']['status']>>>(app, 'app.status', {});
    print(io, args, s, () => [
      `CIDer Studio ${s.appVersion} (${s.mode}), Node ${s.node}, ${s.platform}`,
      `TensorFlow.js ${s.backend.tfjsVersion}, backend: ${s.backend.name}${s.backend.gpu ? ' (GPU)' : ''}`,
      `  why: ${s.backend.reason}`,
      `data folder: ${s.dataDir}`,
      `database: ${s.databaseFile} (schema ${s.schemaVersion})`,
      `ffmpeg: ${s.ffmpeg.path ? `${s.ffmpeg.path} (${s.ffmpeg.version})` : 'not found (set CIDER_FFMPEG to a binary)'}`,
    ]);
    return 0;
  },
  async projects(app, args, io) {
    const sub = args.positionals[1] ?? 'list';
    if (sub === 'list') {
      const list = await call<{ id: number; name: string; description: string }[]>(app, 'projects.list', {});
      print(io, args, list, () =>
        list.length ? list.map((p) => `${String(p.id).padStart(5)}  ${p.name}`) : ['no projects'],
      );
      return 0;
    }
    if (sub === 'create') {
      const name = args.positionals[2];
      if (!name) throw new UsageError('projects create needs a NAME');
      const p = await call<{ id: number; name: string }>(app, 'projects.create', {
        name,
        description: flagString(args, 'description'),
      });
      print(io, args, p, () => [`created project ${p.id}: ${p.name}`]);
      return 0;
    }
    throw new UsageError(`unknown subcommand "projects ${sub}"`);
  },
  async jobs(app, args, io) {
    const sub = args.positionals[1] ?? 'list';
    if (sub === 'list') {
      const list = await call<JobRecord[]>(app, 'jobs.list', { projectId: flagNumber(args, 'project') });
      print(io, args, list, () => (list.length ? list.map(jobLine) : ['no jobs']));
      return 0;
    }
    const id = Number(args.positionals[2]);
    if (!Number.isInteger(id) || id <= 0) throw new UsageError(`jobs ${sub} needs a job ID`);
    if (sub === 'logs') {
      const logs = await call<{ time: string; level: string; message: string }[]>(app, 'jobs.logs', { id });
      print(io, args, logs, () => logs.map((l) => `${l.time} ${l.level.padEnd(5)} ${l.message}`));
      return 0;
    }
    if (sub === 'cancel') {
      const j = await call<JobRecord>(app, 'jobs.cancel', { id });
      print(io, args, j, () => [jobLine(j)]);
      return 0;
    }
    throw new UsageError(`unknown subcommand "jobs ${sub}"`);
  },
  async selftest(app, args, io) {
    const job = await call<JobRecordOf<'backend.selftest'>>(app, 'jobs.selfTest', {
      size: flagNumber(args, 'size'),
      iterations: flagNumber(args, 'iterations'),
    });
    const done = await follow(app, job, io);
    print(io, args, done, () => {
      if (done.status !== 'succeeded') return [jobLine(done)];
      const r = resultOf(done);
      return [
        `${r.backend}: ${r.size}x${r.size} matmul ${r.msPerMatMul.toFixed(2)} ms, ${r.gflops.toFixed(2)} GFLOP/s`,
      ];
    });
    return done.status === 'succeeded' ? 0 : 1;
  },
  ...DATASET_COMMANDS,
  ...TRAINING_COMMANDS,
  ...ANALYSIS_COMMANDS,
  ...CLIPS_COMMANDS,
  ...REPORTS_COMMANDS,
  ...SEARCH_COMMANDS,
  ...MODELS_COMMANDS,
};

export type { CliIo } from './io';

export async function runCli(
  argv: string[],
  io: CliIo = { out: (l) => console.log(l), err: (l) => console.error(l) },
): Promise<number> {
  let args: ParsedArgs;
  try {
    args = parseArgs(argv);
  } catch (e) {
    io.err((e as Error).message);
    return 2;
  }
  const cmd = args.positionals[0];
  if (!cmd || cmd === 'help' || args.flags.has('help')) {
    io.out(HELP);
    return cmd || args.flags.has('help') ? 0 : 2;
  }
  if (cmd === 'web') return runWeb(args, io);
  const command = COMMANDS[cmd];
  if (!command) {
    io.err(`unknown command "${cmd}"; run "cider help"`);
    return 2;
  }
  let app: AppServices | undefined;
  try {
    app = createApp({ dataDir: resolveDataDir(flagString(args, 'data-dir')), mode: 'cli' });
    return await command(app, args, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`${e.message}\nrun "cider help" for usage`);
      return 2;
    }
    io.err(e instanceof AppError ? `error (${e.code}): ${e.message}` : `error: ${(e as Error).stack ?? String(e)}`);
    return 1;
  } finally {
    await app?.close();
  }
}

async function runWeb(args: ParsedArgs, io: CliIo): Promise<number> {
  const dataDir = resolveDataDir(flagString(args, 'data-dir'));
  const app = createApp({ dataDir, mode: 'web', log: io.err });
  const host = flagString(args, 'host') ?? '127.0.0.1';
  const web = await startWebServer({
    app,
    staticDir: flagString(args, 'static-dir') ?? fileURLToPath(new URL('../../out/renderer', import.meta.url)),
    host,
    port: flagNumber(args, 'port'),
  });
  if (app.interruptedAtStart.length)
    io.out(`jobs interrupted when the app last stopped: ${app.interruptedAtStart.join(', ')}`);
  io.out(`CIDer Studio web mode, data folder ${dataDir}`);
  if (host !== '127.0.0.1' && host !== 'localhost' && host !== '::1')
    io.out(
      `warning: listening on ${host}, not loopback only; anyone who can reach it and has the token can use the app`,
    );
  io.out(`open: ${web.loginUrl}`);
  io.out(`token: ${web.token}`);
  io.out(`listening on ${web.host}:${web.port}`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  io.out('stopping...');
  await web.close();
  await app.close();
  return 0;
}
