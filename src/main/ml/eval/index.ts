/**
 * Evaluation of CIDer: metrics (spec 6), missing-modality protocols (spec 3), sweeps and AUILC,
 * and MACI debiasing (spec 5). Pure TypeScript over typed arrays; the model is called by the
 * caller, never from here.
 */
export * from './labels';
export * from './metrics';
export * from './missing';
export * from './sweep';
export * from './maci';
export * from './balanced';
