/**
 * `cider`: the headless command line over the same services as the desktop app and web mode.
 * Each command builds the app services on the chosen data folder, calls the contract's methods
 * through the same dispatcher, and prints a table (or JSON with --json).
 */
import { homedir } from 'node:os';
import { delimiter } from 'node:path';
import { AppError } from '../shared/errors';
import { resultOf, type JobRecord, type JobRecordOf } from '../shared/jobs';
// the app (database, services, ML runtimes) and the web server load only when a command needs them,
// so `cider help` starts at once
import type { AppServices } from '../main/services/app';
import { call, follow, jobLine, print, printable, printList, type CliIo, type Command } from './io';
import { resolveDataDir } from '../main/services/paths';
import { DEFAULT_PORT } from '../main/server/constants';
import { runtimeAssets } from '../main/runtime/assets';
import { fileLogger, installLastResort, webLogFile } from '../main/server/lastResort';
import {
  commandHelp,
  commandSummary,
  flagNumber,
  flagString,
  globalOptionsHelp,
  findCommand as findCommandIn,
  parseCommand,
  undeclaredOption,
  unknownCommand,
  unknownSubcommand,
  UsageError,
  type CommandSpec,
  type ParsedArgs,
} from './args';
import { DATASET_COMMANDS, DATASETS_SPECS } from './commands/datasets';
import { TRAINING_COMMANDS, TRAINING_SPECS } from './commands/training';
import { ANALYSIS_COMMANDS, ANALYSIS_SPECS } from './commands/analysis';
import { CLIPS_COMMANDS, CLIPS_SPECS } from './commands/clips';
import { REPORTS_COMMANDS, REPORTS_SPECS } from './commands/reports';
import { SEARCH_COMMANDS, SEARCH_SPECS } from './commands/search';
import { ABLATION_COMMANDS, ABLATION_SPECS } from './commands/ablation';
import { MODELS_COMMANDS, MODELS_SPECS } from './commands/models';
import { CLUSTER_SPECS, runClusterCommand } from './commands/cluster';

const CORE_SPECS: Record<string, CommandSpec> = {
  doctor: { usage: ['doctor'], summary: 'versions, TensorFlow.js backend and why, data folder, ffmpeg', options: {} },
  projects: {
    usage: ['projects list', 'projects create NAME [--description TEXT]'],
    summary: 'list or create projects',
    subcommands: ['list', 'create'],
    options: { description: { type: 'string', value: 'TEXT', help: "the new project's description" } },
  },
  jobs: {
    usage: ['jobs list [--project ID]', 'jobs logs ID | jobs cancel ID'],
    summary: "list jobs, print a job's log, cancel a queued or running job",
    subcommands: ['list', 'logs', 'cancel'],
    options: { project: { type: 'integer', value: 'ID', help: "only this project's jobs" } },
  },
  selftest: {
    usage: ['selftest [--size N] [--iterations N]'],
    summary: "measure the backend's matmul throughput (runs as a job)",
    options: {
      size: { type: 'integer', value: 'N', help: 'matrix size (N x N)' },
      iterations: { type: 'integer', value: 'N', help: 'how many multiplications to time' },
    },
  },
};

const WEB_SPEC: CommandSpec = {
  usage: ['web [--port N] [--host H] [--allow DIR[:DIR...]]'],
  summary: `serve the app and its API on http://127.0.0.1 (default port ${DEFAULT_PORT})`,
  options: {
    port: { type: 'integer', value: 'N', help: `the port (default ${DEFAULT_PORT}, or any free one if taken)` },
    host: { type: 'string', value: 'H', help: 'the address to listen on (default 127.0.0.1)' },
    'static-dir': { type: 'string', value: 'DIR', help: 'the built renderer (default out/renderer)' },
    allow: {
      type: 'string',
      value: `DIR[${delimiter}DIR...]`,
      help: "folders the browser's file chooser may show (default: your home folder)",
    },
  },
};

/** every command's declaration, in the order `cider help` lists them */
const SPECS: Record<string, CommandSpec> = {
  ...CORE_SPECS,
  ...MODELS_SPECS,
  ...DATASETS_SPECS,
  ...TRAINING_SPECS,
  ...ANALYSIS_SPECS,
  ...SEARCH_SPECS,
  ...ABLATION_SPECS,
  ...CLIPS_SPECS,
  ...REPORTS_SPECS,
  ...CLUSTER_SPECS,
  web: WEB_SPEC,
};

const HELP = `cider: CIDer Studio on the command line

usage: cider <command> [options]      (cider <command> --help: its options)

commands:
${Object.values(SPECS).map(commandSummary).join('')}
options for every command:
${globalOptionsHelp()}
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
      await printList<{ id: number; name: string }>(
        app,
        args,
        io,
        { method: 'projects.list' },
        (p) => `${String(p.id).padStart(5)}  ${p.name}`,
        'no projects',
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
    throw unknownSubcommand('projects', sub, CORE_SPECS.projects);
  },
  async jobs(app, args, io) {
    const sub = args.positionals[1] ?? 'list';
    if (sub === 'list') {
      await printList(
        app,
        args,
        io,
        { method: 'jobs.list', args: { projectId: flagNumber(args, 'project') } },
        jobLine,
        'no jobs',
      );
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
    throw unknownSubcommand('jobs', sub, CORE_SPECS.jobs);
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
  ...ABLATION_COMMANDS,
  ...MODELS_COMMANDS,
};

export type { CliIo } from './io';

const findCommand = (argv: string[]): number => findCommandIn(argv, SPECS);

export async function runCli(
  argv: string[],
  io: CliIo = { out: (l) => console.log(l), err: (l) => console.error(l) },
): Promise<number> {
  // decided before parsing, so that a usage error is JSON too when --json was asked for
  const json = argv.includes('--json');
  const fail = (code: string, message: string, status: number): number => {
    if (json) io.err(JSON.stringify({ ok: false, error: { code, message } }));
    else if (status === 2)
      io.err(
        `${message}\nrun "cider ${SPECS[argv[findCommand(argv)]] ? `${argv[findCommand(argv)]} --help` : 'help'}" for usage`,
      );
    else io.err(printable(`error (${code}): ${message}`));
    return status;
  };
  let args: ParsedArgs;
  let command: Command | undefined;
  try {
    const at = findCommand(argv);
    const cmd = at < 0 ? undefined : argv[at];
    if (cmd !== undefined && cmd !== 'help' && !SPECS[cmd]) {
      throw unknownCommand(cmd, [...Object.keys(SPECS), 'help'], undeclaredOption(argv[at - 1], SPECS));
    }
    const spec = cmd && cmd !== 'help' ? SPECS[cmd] : undefined;
    args = parseCommand(argv, spec);
    if (args.flags.has('version')) {
      // the version module only: not the app, its database and its ML runtimes
      const { APP_VERSION } = await import('../main/services/version');
      io.out(json ? JSON.stringify({ version: APP_VERSION }) : `cider ${APP_VERSION}`);
      return 0;
    }
    if (cmd === 'help' && args.positionals[1]) {
      const topic = SPECS[args.positionals[1]];
      if (!topic) throw unknownCommand(args.positionals[1], Object.keys(SPECS));
      io.out(commandHelp(args.positionals[1], topic));
      return 0;
    }
    if (!cmd || cmd === 'help') {
      io.out(HELP);
      return cmd || args.flags.has('help') ? 0 : 2;
    }
    if (args.flags.has('help')) {
      io.out(commandHelp(cmd, SPECS[cmd]));
      return 0;
    }
    if (cmd === 'web') return await runWeb(args, io);
    // these run on compute nodes and queue workers: they never open the data folder's database
    if (cmd === 'trial' || cmd === 'worker') return await runClusterCommand(args, io);
    command = COMMANDS[cmd];
    if (!command) throw new Error(`command "${cmd}" is declared but has no implementation`);
  } catch (e) {
    if (e instanceof UsageError) return fail('USAGE', e.message, 2);
    return fail(e instanceof AppError ? e.code : 'INTERNAL', (e as Error).message, 1);
  }
  let app: AppServices | undefined;
  try {
    const { createApp } = await import('../main/services/app');
    app = createApp({ dataDir: resolveDataDir(flagString(args, 'data-dir')), mode: 'cli' });
    return await command(app, args, io);
  } catch (e) {
    if (e instanceof UsageError) return fail('USAGE', e.message, 2);
    if (e instanceof AppError) return fail(e.code, e.message, 1);
    // unexpected: the stack helps a bug report, but not inside a JSON error
    return json
      ? fail('INTERNAL', (e as Error).message ?? String(e), 1)
      : (io.err(`error: ${(e as Error).stack ?? String(e)}`), 1);
  } finally {
    await app?.close();
  }
}

async function runWeb(args: ParsedArgs, io: CliIo): Promise<number> {
  const dataDir = resolveDataDir(flagString(args, 'data-dir'));
  const logFile = webLogFile(dataDir);
  const toFile = fileLogger(logFile);
  const log = (m: string) => {
    io.err(m);
    toFile(m);
  };
  // from here on an error nobody handled is logged, not fatal: the server and its jobs keep going
  const removeLastResort = installLastResort({ log });
  // the file browser's roots (several joined with the path delimiter)
  const allow = (flagString(args, 'allow') ?? homedir()).split(delimiter).filter(Boolean);
  const [{ createApp }, { startWebServer }] = await Promise.all([
    import('../main/services/app'),
    import('../main/server/web'),
  ]);
  const app = createApp({ dataDir, mode: 'web', log, fileRoots: allow });
  const host = flagString(args, 'host') ?? '127.0.0.1';
  const web = await startWebServer({
    app,
    staticDir: flagString(args, 'static-dir') ?? runtimeAssets().rendererDir(),
    host,
    port: flagNumber(args, 'port'),
    log,
  });
  if (app.interruptedAtStart.length)
    io.out(`jobs interrupted when the app last stopped: ${app.interruptedAtStart.join(', ')}`);
  io.out(`CIDer Studio web mode, data folder ${dataDir}`);
  io.out(`file browser limited to: ${app.fileRoots?.join(', ')}`);
  if (host !== '127.0.0.1' && host !== 'localhost' && host !== '::1')
    io.out(
      `warning: listening on ${host}, not loopback only; anyone who can reach it and has the token can use the app`,
    );
  io.out(`open: ${web.loginUrl}`);
  io.out(`token: ${web.token}`);
  io.out(`listening on ${web.host}:${web.port}`);
  io.out(`log: ${logFile}`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  io.out('stopping...');
  await web.close();
  await app.close();
  removeLastResort();
  return 0;
}
