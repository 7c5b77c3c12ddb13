/**
 * Which IID and OOD datasets a run is compared on, and the paired run of the paper's protocol
 * (trained on the OOD dataset's own training split). Shared by the analysis service (IID vs OOD
 * comparison) and the ablation service.
 */
import { AppError } from '../../shared/errors';
import type { Dataset } from '../../shared/contract/datasets';
import type { RunRecord } from '../../shared/contract/training';
import type { DatasetStore } from '../store/datasets';
import type { RunStore } from '../store/runs';

export interface OodPair {
  iid: Dataset;
  ood: Dataset;
  withRun: RunRecord | null;
}

/** The IID dataset and the OOD version of it a dataset held by the app belongs to. */
export function oodDatasetsOf(
  datasets: DatasetStore,
  datasetId: number,
  oodDatasetId?: number,
): { iid: Dataset; ood: Dataset } {
  const own = datasets.get(datasetId);
  let iid = own;
  let ood = oodDatasetId !== undefined ? datasets.get(oodDatasetId) : null;
  if (own.kind === 'ood') {
    if (own.parentId === null)
      throw new AppError('CONFLICT', `dataset "${own.name}" is an OOD version without a parent IID dataset`);
    iid = datasets.get(own.parentId);
    ood ??= own;
  }
  if (!ood) {
    ood = datasets.list().find((d) => d.kind === 'ood' && d.parentId === iid.id) ?? null;
    if (!ood)
      throw new AppError(
        'CONFLICT',
        `dataset "${iid.name}" has no OOD version yet; build one in the Datasets tab (or cider split-ood)`,
      );
  }
  if (ood.kind !== 'ood' || ood.parentId !== iid.id)
    throw new AppError('BAD_REQUEST', `dataset "${ood.name}" is not an OOD version of "${iid.name}"`);
  return { iid, ood };
}

export function resolveOodPair(
  datasets: DatasetStore,
  runs: RunStore,
  run: RunRecord,
  oodDatasetId?: number,
  withRunId?: number,
): OodPair {
  if (run.datasetId === null)
    throw new AppError(
      'CONFLICT',
      `run ${run.id} was trained on a folder, not a dataset held by the app; its IID/OOD versions are unknown`,
    );
  let withRun: RunRecord | null = null;
  if (withRunId !== undefined) {
    withRun = runs.get(withRunId);
    if (withRun.datasetId === null)
      throw new AppError('CONFLICT', `run ${withRunId} was trained on a folder, not a dataset held by the app`);
    if (withRun.id === run.id) throw new AppError('BAD_REQUEST', '--with must name another run');
    // the paired run's dataset names the OOD version unless one was given
    oodDatasetId ??= withRun.datasetId;
  }
  const { iid, ood } = oodDatasetsOf(datasets, run.datasetId, oodDatasetId);
  if (withRun) {
    if (withRun.datasetId !== ood.id)
      throw new AppError(
        'BAD_REQUEST',
        `run ${withRun.id} was trained on "${datasets.get(withRun.datasetId!).name}", not on the OOD dataset "${ood.name}"; the paper's protocol pairs the IID run with a run trained on the OOD training split`,
      );
    if (withRun.options.task !== run.options.task)
      throw new AppError(
        'BAD_REQUEST',
        `run ${withRun.id} is a ${withRun.options.task}-class run and run ${run.id} a ${run.options.task}-class run`,
      );
  }
  return { iid, ood, withRun };
}
