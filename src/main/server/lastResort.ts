/**
 * Web mode's last resort: an exception or rejection nobody handled is written to the data folder's
 * log (logs/web.log) instead of taking the server down with every running job. Request handlers
 * already fail closed; this catches what slips past them (a library's stray event, a timer). The
 * process keeps serving, unless errors keep coming (more than `maxPerMinute`), which means it is
 * wedged: then it exits non-zero after logging, and the jobs it was running are marked interrupted
 * at the next start, as after any crash.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';

export function webLogFile(dataDir: string): string {
  return path.join(dataDir, 'logs', 'web.log');
}

/** A line-per-entry log appender; writing never throws (a full disk must not become a crash). */
export function fileLogger(file: string): (message: string) => void {
  return (message) => {
    try {
      mkdirSync(path.dirname(file), { recursive: true });
      appendFileSync(file, `${new Date().toISOString()} ${message.replace(/\n(?!$)/g, '\n    ')}\n`);
    } catch {
      // nowhere left to report it
    }
  };
}

export interface LastResortOptions {
  log: (message: string) => void;
  maxPerMinute?: number;
  /** called when the process must stop (default: process.exit(70)) */
  fatal?: () => void;
}

/** Installs the process-wide handlers; returns a function removing them. */
export function installLastResort(opts: LastResortOptions): () => void {
  const max = opts.maxPerMinute ?? 30;
  const fatal = opts.fatal ?? (() => process.exit(70));
  const recent: number[] = [];
  const report = (kind: string, e: unknown) => {
    const now = Date.now();
    recent.push(now);
    while (recent.length && recent[0] < now - 60_000) recent.shift();
    opts.log(`${kind} (the server keeps running): ${(e as Error)?.stack ?? String(e)}`);
    if (recent.length > max) {
      opts.log(`${recent.length} unexpected errors within a minute: stopping`);
      fatal();
    }
  };
  const onException = (e: unknown) => report('uncaught exception', e);
  const onRejection = (e: unknown) => report('unhandled rejection', e);
  process.on('uncaughtException', onException);
  process.on('unhandledRejection', onRejection);
  return () => {
    process.off('uncaughtException', onException);
    process.off('unhandledRejection', onRejection);
  };
}
