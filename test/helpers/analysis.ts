/**
 * Registered synthetic datasets for the analysis tests: a learnable feature store (syntheticRuns)
 * committed through the DatasetStore, so the app holds it like an imported dataset; an "OOD
 * version" is another synthetic store (other seed, other label mix) with the IID one as parent.
 */
import path from 'node:path';
import fs from 'node:fs';
import type { Dataset } from '../../src/shared/contract/datasets';
import type { AppServices } from '../../src/main/services/app';
import { DatasetStore, datasetFolderName } from '../../src/main/store/datasets';
import { datasetsRoot } from '../../src/main/store/paths';
import { writeSyntheticStore, type SyntheticOptions } from './syntheticRuns';

export async function registerSynthetic(
  app: Pick<AppServices, 'db' | 'dataDir'>,
  o: SyntheticOptions & {
    name: string;
    kind?: 'iid' | 'ood';
    parentId?: number;
  },
): Promise<Dataset> {
  const store = new DatasetStore(app.db, datasetsRoot(app.dataDir));
  const staging = path.join(
    app.dataDir,
    'datasets',
    '.staging',
    `t-${Date.now()}-${Math.random().toString(16).slice(2)}`,
  );
  fs.mkdirSync(path.dirname(staging), { recursive: true });
  const { manifest: m } = await writeSyntheticStore(staging, {
    ...o,
    name: o.name,
  });
  const split = (s: 'train' | 'valid' | 'test') => ({
    count: m.splits[s].count,
    labels: m.splits[s].labelCounts,
  });
  return store.commit(staging, datasetFolderName(`t${Date.now()}`, o.name), {
    name: o.name,
    kind: o.kind ?? 'iid',
    parentId: o.parentId ?? null,
    format: o.kind === 'ood' ? 'ood-split' : 'mmsa-pickle',
    sourceFiles: [],
    aligned: m.aligned,
    dims: m.dims as Dataset['dims'],
    splits: {
      train: split('train'),
      valid: split('valid'),
      test: split('test'),
    },
    ood: null,
    extras: [],
    warnings: [],
  });
}
