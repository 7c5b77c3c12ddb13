/**
 * Names of a run's files and of the text-feature cache, in a module without TF.js so that services
 * can name them without loading the engine at start-up.
 */
import path from 'node:path';

export const BEST_CHECKPOINT = 'best.safetensors';
export const LAST_CHECKPOINT = 'last.safetensors';

/** Where frozen text features are cached, per data folder. */
export function textCacheDir(dataDir: string): string {
  return path.join(dataDir, 'cache', 'text-features');
}
