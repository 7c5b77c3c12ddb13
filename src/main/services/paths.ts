/**
 * The data folder: --data-dir, else CIDER_DATA_DIR, else the platform's per-user application
 * folder (the same one Electron's app.getPath('userData') gives for "CIDer Studio"), so the
 * desktop app, web mode and the CLI share one library unless told otherwise.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export const PRODUCT_NAME = 'CIDer Studio';

export function defaultDataDir(
  platform: NodeJS.Platform = process.platform,
  env: NodeJS.ProcessEnv = process.env,
): string {
  if (platform === 'win32') return join(env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'), PRODUCT_NAME);
  if (platform === 'darwin') return join(homedir(), 'Library', 'Application Support', PRODUCT_NAME);
  return join(env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), PRODUCT_NAME);
}

export function resolveDataDir(flag?: string | null, env: NodeJS.ProcessEnv = process.env, fallback?: string): string {
  if (flag) return resolve(flag);
  if (env.CIDER_DATA_DIR) return resolve(env.CIDER_DATA_DIR);
  return fallback ?? defaultDataDir();
}
