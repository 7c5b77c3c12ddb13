/**
 * The stored form of an IID vs OOD comparison, built from the analysis's result in one place: the
 * 'analysis.compareOod' task (here, with SQLite) and a remote ablation trial (no SQLite; the
 * coordinator imports it) store the same record.
 */
import type { OodComparison, SplitSide } from '../../../shared/contract/analysis';
import type { OodCompareResult, OodSideResult } from '../../ml/analysis/oodCompare';

type DatasetRef = { id: number };
export type ComparisonResult = Omit<OodComparison, 'id' | 'runId' | 'jobId' | 'createdAt'>;

const side = (s: OodSideResult, d: DatasetRef, kind: 'iid' | 'ood'): SplitSide => ({ ...s, datasetId: d.id, kind });

export function comparisonResult(
  r: OodCompareResult,
  iid: DatasetRef,
  ood: DatasetRef,
  withRun: { id: number; name: string } | null = null,
): ComparisonResult {
  return {
    classNames: r.classNames,
    selectionMetric: r.selectionMetric,
    tauRule: r.tauRule,
    taus: r.taus,
    selectedTau: r.selectedTau,
    balanced: r.balanced,
    iid: side(r.iid, iid, 'iid'),
    ood: side(r.ood, ood, 'ood'),
    paired:
      r.paired && withRun
        ? {
            runId: withRun.id,
            runName: withRun.name,
            ood: side(r.paired.ood, ood, 'ood'),
            selectedTau: r.paired.selectedTau,
            balanced: r.paired.balanced,
            selectionMetric: r.paired.selectionMetric,
            textNote: r.paired.textNote,
            debiasNote: r.paired.debiasNote,
          }
        : null,
    textNote: r.textNote,
    debiasNote: r.debiasNote,
  };
}
