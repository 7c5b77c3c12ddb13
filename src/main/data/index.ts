/** Benchmark dataset import: formats, the feature store, OOD splits. Pure Node; no Electron. */
export { DataImportError, PickleSecurityError, ImportCancelledError } from './errors';
export {
  importMmsa,
  judgeAlignment,
  type AlignmentChoice,
  type AlignmentJudgement,
  type ImportOptions,
  type ImportProgress,
  type ImportResult,
} from './mmsa';
export { importCsd, CsdSequence, type CsdImportOptions, type CsdEntry } from './csd';
export { readNpy, readNpyHeader, type NpyHeader } from './npy';
export { readConfounderVector, readClassPrior, attachExtra } from './confounders';
export { buildOodSplits, type OodOptions, type OodRecord } from './ood';
export {
  FeatureStore,
  SplitReader,
  StoreBuilder,
  SPLITS,
  ARRAY_NAMES,
  type DatasetManifest,
  type SplitManifest,
  type ArrayEntry,
  type ArrayName,
  type SplitName,
  type SplitSamples,
} from './featureStore';
export { label3, label7, classCounts, tokenClassCounts, biasWords, SPECIAL_TOKEN_IDS, type BiasWord } from './labels';
export * as pickle from './pickle';
