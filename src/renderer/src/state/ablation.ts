/**
 * The Ablation panel's pure helpers (test/unit/renderer/ablation-state.test.ts): what a table cell
 * shows and which ablation to show after a reload.
 */
import type { AblationRecord, AblationRow } from '../../../shared/contract/ablation';

const fmt = (x: number | null | undefined) =>
  x === null || x === undefined || !Number.isFinite(x) ? 'n/a' : x.toFixed(4);

/** "plain / debiased" of one metric on one split; '-' until the trial was compared. */
export function ablationCell(row: AblationRow, side: 'iid' | 'ood', metric: string): string {
  const s = row[side];
  if (!s) return '-';
  return `${fmt(s.plain[metric])} / ${s.debiased ? fmt(s.debiased[metric]) : 'n/a'}`;
}

/** the tau column: the validation-chosen tau, 'test' under the reference rule, else n/a */
export function ablationTau(a: AblationRecord, row: AblationRow): string {
  if (row.tau !== null) return row.tau.toFixed(1);
  return a.tauRule === 'reference' && row.iid?.debiased ? 'test (per metric)' : 'n/a';
}

/** keep the selection if it still exists, else the newest ablation */
export function pickAblation(list: AblationRecord[], selected: number | null): number | null {
  if (selected !== null && list.some((a) => a.id === selected)) return selected;
  return list.length ? Math.max(...list.map((a) => a.id)) : null;
}
