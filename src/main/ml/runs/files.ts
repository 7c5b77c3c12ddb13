/**
 * Names of a run's files, in a module without TF.js so that services can name them without loading
 * the engine at start-up (where the text-feature cache is: store/paths.ts).
 */

export const BEST_CHECKPOINT = 'best.safetensors';
export const LAST_CHECKPOINT = 'last.safetensors';
