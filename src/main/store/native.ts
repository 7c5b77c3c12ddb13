/**
 * Which better-sqlite3 binary this process loads. better-sqlite3 is not an N-API module: its .node
 * file is built for one ABI (Node 20 is v115, Electron 44 is v149). Two builds coexist on one
 * checkout: node_modules/better-sqlite3/build/Release holds Node's (npm install builds it; tests, the
 * CLI and web mode use it), native/<runtime>-v<abi>-<platform>-<arch>/ holds the others
 * (`npm run rebuild:electron` writes Electron's there; a packaged app carries it unpacked). The
 * binary is passed to better-sqlite3 through its `nativeBinding` option, and a binary of the wrong
 * ABI becomes one message naming the fix instead of a dlopen stack trace.
 */
import { existsSync } from 'node:fs';
import { AppError } from '../../shared/errors';
import { runtimeAssets, runtimeTag } from '../runtime/assets';

/** The addon object better-sqlite3 accepts as `nativeBinding` (opaque here). */
export type SqliteAddon = object;

export interface SqliteBindingChoice {
  file: string;
  /** why this file: an override, the runtime's own build, or the package's default */
  source: 'env' | 'runtime' | 'package';
}

/** The binary for this runtime: CIDER_SQLITE_BINDING, else native/<tag>/, else the package's build. */
export function chooseSqliteBinding(
  env: NodeJS.ProcessEnv = process.env,
  candidates: string[] = runtimeAssets().sqliteBindings(),
): SqliteBindingChoice {
  if (env.CIDER_SQLITE_BINDING) return { file: env.CIDER_SQLITE_BINDING, source: 'env' };
  const [own, pkg] = candidates;
  if (existsSync(own)) return { file: own, source: 'runtime' };
  return { file: pkg, source: 'package' };
}

/** The command that builds better-sqlite3 for the runtime running now. */
export function rebuildHint(versions: NodeJS.ProcessVersions = process.versions): string {
  return versions.electron
    ? `npm run rebuild:electron (builds better-sqlite3 for Electron ${versions.electron} into native/${runtimeTag(versions)}/)`
    : `npm rebuild better-sqlite3 (builds it for Node ${versions.node}, ABI v${versions.modules})`;
}

/** Explain a failed load of a native binary: wrong ABI, not a binary for this system, or missing. */
export function explainLoadFailure(file: string, error: Error, versions = process.versions): string {
  const first = error.message.split('\n')[0];
  const runtime = versions.electron ? `Electron ${versions.electron}` : `Node ${versions.node}`;
  const abi = /NODE_MODULE_VERSION (\d+)\. This version of Node\.js requires\s+NODE_MODULE_VERSION (\d+)/.exec(
    error.message,
  );
  const problem = abi
    ? `it was built for ABI v${abi[1]} but ${runtime} needs ABI v${abi[2]}`
    : /Cannot find module|ENOENT|No such file or directory/.test(error.message)
      ? 'the file does not exist'
      : /invalid ELF header|file too short|not a valid Win32 application|not a mach-o file|wrong ELF class|slice is not valid mach-o|unknown file type/i.test(
            error.message,
          )
        ? `it is not a native module for ${process.platform}-${process.arch} (${first.replace(`${file}: `, '')})`
        : `it could not be loaded (${first})`;
  return `${file}: cannot load SQLite's native module (better-sqlite3) under ${runtime}: ${problem}. Fix: ${rebuildHint(versions)}, or point CIDER_SQLITE_BINDING at a build for ABI v${versions.modules}.`;
}

const loaded = new Map<string, SqliteAddon>();

/** Load (once per file) the better-sqlite3 addon for this runtime, or throw one clear AppError. */
export function loadSqliteAddon(choice: SqliteBindingChoice = chooseSqliteBinding()): SqliteAddon {
  const hit = loaded.get(choice.file);
  if (hit) return hit;
  let addon: SqliteAddon;
  try {
    // dlopen, not require: a file of any name is loaded as a native module, never parsed as JavaScript
    const module = { exports: {} as SqliteAddon };
    process.dlopen(module, choice.file);
    addon = module.exports;
  } catch (e) {
    throw new AppError('UNSUPPORTED', explainLoadFailure(choice.file, e as Error), {
      file: choice.file,
      source: choice.source,
      runtime: runtimeTag(),
    });
  }
  loaded.set(choice.file, addon);
  return addon;
}
