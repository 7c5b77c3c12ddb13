/**
 * The data folder: --data-dir, else CIDER_DATA_DIR, else the platform's per-user application
 * folder named after the product ("CIDer Studio"). This is the one definition: the desktop shell
 * sets Electron's userData to defaultDataDir() (Electron would otherwise derive it from
 * package.json's name, "cider-studio"), so the desktop app, web mode and the CLI share one library
 * unless told otherwise.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export const PRODUCT_NAME = 'CIDer Studio';
/** The folder earlier desktop builds used (Electron's default from package.json's name); its data is offered to be moved. */
export const LEGACY_DATA_FOLDER_NAME = 'cider-studio';

/** The per-user application-data root the product folder lives in (Electron's app.getPath('appData')). */
export function appDataRoot(
  platform: NodeJS.Platform = process.platform,
  env: NodeJS.ProcessEnv = process.env,
): string {
  if (platform === 'win32') return env.APPDATA ?? join(homedir(), 'AppData', 'Roaming');
  if (platform === 'darwin') return join(homedir(), 'Library', 'Application Support');
  return env.XDG_CONFIG_HOME ?? join(homedir(), '.config');
}

export function defaultDataDir(
  platform: NodeJS.Platform = process.platform,
  env: NodeJS.ProcessEnv = process.env,
): string {
  return join(appDataRoot(platform, env), PRODUCT_NAME);
}

/** Where the desktop app kept its data before it used defaultDataDir(). */
export function legacyDataDir(
  platform: NodeJS.Platform = process.platform,
  env: NodeJS.ProcessEnv = process.env,
): string {
  return join(appDataRoot(platform, env), LEGACY_DATA_FOLDER_NAME);
}

/** True when the folder was chosen explicitly (flag or environment), so no default and no migration applies. */
export function explicitDataDir(flag?: string | null, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (flag) return resolve(flag);
  if (env.CIDER_DATA_DIR) return resolve(env.CIDER_DATA_DIR);
  return undefined;
}

export function resolveDataDir(flag?: string | null, env: NodeJS.ProcessEnv = process.env): string {
  return explicitDataDir(flag, env) ?? defaultDataDir(process.platform, env);
}
