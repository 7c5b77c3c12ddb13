/**
 * CIDer model configuration (spec sections 2 and 4). Sequence lengths are part of the config
 * because the reconstruction heads map the word-level sequence (L) back to the raw audio and
 * vision lengths (Ta, Tv) with a learned Linear(L, T).
 */

export type PositionalMode = 'temporal' | 'reference';

export interface CiderDropouts {
  /** after the ReLU of the MCT feed-forward block */
  relu: number;
  /** on each MCT residual branch */
  residual: number;
  /** on the LAV attention weights only (spec 2.6) */
  attention: number;
  /** after adding the positional table */
  embedding: number;
  /** inside the joint-representation MLP */
  output: number;
}

export interface CiderConfig {
  /** aligned data skips WSAM (audio/vision already at word level) */
  aligned: boolean;
  /** C: 3 (binary task with neutral) or 7 */
  classes: number;
  /** L: text tokens, also the word-level length of audio and vision after WSAM */
  textLength: number;
  /** Ta, Tv: raw frame counts (equal to L when aligned) */
  audioLength: number;
  visionLength: number;
  dl: number;
  da: number;
  dv: number;
  d: number;
  layers: number;
  heads: number;
  dropouts: CiderDropouts;
  /**
   * 'temporal': the table row is the time step (what the method means).
   * 'reference': row = the sample's index in the batch, the reference implementation's quirk
   * (spec 2.5); only for running weights trained by the reference code and the parity fixtures.
   */
  positional: PositionalMode;
  /** cross-dataset variant: non-affine LayerNorm inside the audio/vision confounder encoders */
  crossDataset: boolean;
}

export const DEFAULT_DROPOUTS: CiderDropouts = {
  relu: 0.1,
  residual: 0.1,
  attention: 0.0,
  embedding: 0.2,
  output: 0.3,
};

export type CiderConfigInput = Pick<CiderConfig, 'aligned' | 'classes' | 'textLength' | 'dl' | 'da' | 'dv'> &
  Partial<Omit<CiderConfig, 'dropouts'>> & { dropouts?: Partial<CiderDropouts> };

export class CiderConfigError extends Error {
  constructor(problem: string) {
    super(`CIDer config: ${problem}`);
    this.name = 'CiderConfigError';
  }
}

/** The config's sizes: class count, sequence lengths and widths (each a positive integer). */
export const SIZE_KEYS = [
  'classes',
  'textLength',
  'audioLength',
  'visionLength',
  'dl',
  'da',
  'dv',
  'd',
  'layers',
  'heads',
] as const satisfies readonly (keyof CiderConfig)[];

export function makeConfig(input: CiderConfigInput): CiderConfig {
  const cfg: CiderConfig = {
    d: 32,
    layers: 3,
    heads: 8,
    positional: 'temporal',
    crossDataset: false,
    audioLength: input.textLength,
    visionLength: input.textLength,
    ...input,
    dropouts: { ...DEFAULT_DROPOUTS, ...(input.dropouts ?? {}) },
  };
  for (const k of SIZE_KEYS) {
    const v = cfg[k] as number;
    if (!Number.isInteger(v) || v <= 0) throw new CiderConfigError(`${k} must be a positive integer, got ${String(v)}`);
  }
  if (cfg.d % cfg.heads !== 0) throw new CiderConfigError(`d (${cfg.d}) must be divisible by heads (${cfg.heads})`);
  if (cfg.classes < 2) throw new CiderConfigError(`classes must be at least 2, got ${cfg.classes}`);
  if (cfg.aligned && (cfg.audioLength !== cfg.textLength || cfg.visionLength !== cfg.textLength)) {
    throw new CiderConfigError(
      `aligned data needs audioLength = visionLength = textLength (${cfg.textLength}), got ${cfg.audioLength}/${cfg.visionLength}`,
    );
  }
  if (cfg.positional !== 'temporal' && cfg.positional !== 'reference')
    throw new CiderConfigError(`positional must be 'temporal' or 'reference', got ${String(cfg.positional)}`);
  for (const [k, p] of Object.entries(cfg.dropouts)) {
    if (!(p >= 0 && p < 1)) throw new CiderConfigError(`dropout ${k} must be in [0, 1), got ${p}`);
  }
  return cfg;
}
