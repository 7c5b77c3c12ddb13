/**
 * Start-up failure handling. Whatever stops the app from starting (a store that cannot open, a
 * native module built for another runtime, a data folder that cannot be written) ends in a native
 * error box naming the cause and the fix, a line in the log, and a non-zero exit: never a process
 * left running without a window.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { AppError } from '../../shared/errors';
import type { ShellApp, ShellDialog } from './types';

export interface StartupFailure {
  title: string;
  /** what went wrong, then what to do about it */
  message: string;
}

/** The exit code of a failed start (1 is what Electron uses for an uncaught exception). */
export const STARTUP_FAILURE_EXIT_CODE = 1;

/** Turns the error into the box's text: the cause (the error's own message names the file) and the fix. */
export function explainStartupFailure(
  error: unknown,
  where: { dataDir?: string; logFile?: string } = {},
): StartupFailure {
  const e = error instanceof Error ? error : new Error(String(error));
  const code = (e as NodeJS.ErrnoException).code;
  const folder = where.dataDir ? ` (${where.dataDir})` : '';
  let fix: string;
  if (e instanceof AppError && e.code === 'UNSUPPORTED')
    fix =
      'Install the newer version of CIDer Studio that wrote this library, or start with another data folder (--data-dir).';
  else if (e instanceof AppError && e.code === 'INVALID_INPUT')
    fix = `The library's database cannot be used. Move the file named above out of the data folder${folder} to start with a fresh library (keep it: it may be recoverable), or start with another data folder (--data-dir).`;
  else if (
    code === 'ERR_DLOPEN_FAILED' ||
    /NODE_MODULE_VERSION|was compiled against a different Node\.js version/.test(e.message)
  )
    fix =
      'A native module does not match this build of the app. Reinstall CIDer Studio (from source: npm ci, then npm run build).';
  else if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS')
    fix = `The data folder${folder} cannot be written. Give your user write access to it, or start with another data folder (--data-dir).`;
  else if (code === 'ENOSPC')
    fix = `The disk holding the data folder${folder} is full. Free some space and start again.`;
  else
    fix =
      'This is probably a bug. Please report it with the log file' + (where.logFile ? ` (${where.logFile})` : '') + '.';
  const logLine = where.logFile ? `\n\nDetails are in the log: ${where.logFile}` : '';
  return { title: 'CIDer Studio could not start', message: `${e.message}\n\n${fix}${logLine}` };
}

/** A log sink writing timestamped lines to a file (and stderr); a log that cannot be written never hides the original error. */
export function fileLog(
  file: string,
  mirror: (line: string) => void = (l) => console.error(l),
): (message: string) => void {
  return (message) => {
    const line = `${new Date().toISOString()} ${message}`;
    mirror(line);
    try {
      mkdirSync(dirname(file), { recursive: true });
      appendFileSync(file, line + '\n');
    } catch {
      // the box and stderr still carry the message
    }
  };
}

/**
 * Runs the start-up sequence; on any failure shows the error box, logs the stack and exits non-zero.
 * Resolves true when the app started.
 */
export async function runStartup(
  deps: {
    app: ShellApp;
    dialog: ShellDialog;
    log: (message: string) => void;
    logFile?: string;
    dataDir?: () => string | undefined;
  },
  start: () => Promise<void> | void,
): Promise<boolean> {
  try {
    await start();
    return true;
  } catch (error) {
    const failure = explainStartupFailure(error, { dataDir: deps.dataDir?.(), logFile: deps.logFile });
    deps.log(`start-up failed: ${(error as Error)?.stack ?? String(error)}`);
    try {
      deps.dialog.showErrorBox(failure.title, failure.message);
    } finally {
      deps.app.exit(STARTUP_FAILURE_EXIT_CODE);
    }
    return false;
  }
}
