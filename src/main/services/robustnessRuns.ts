/**
 * Robustness over several runs: the record of an 'analysis.robustnessRuns' job, read from the
 * store (each run's sweep stored by the job, by whichever executor ran it) with the curves across
 * the runs as mean ± sd per metric and rate, and per AUILC.
 */
import type {
  MeanSd,
  RobustnessCurveAcross,
  RobustnessRunsRecord,
  RobustnessSweep,
} from '../../shared/contract/analysis';
import type { JobRecordOf } from '../../shared/jobs';
import type { AnalysisStore } from '../store/analysis';
import type { RunStore } from '../store/runs';

/** mean and sample sd of the finite values (null: none, or sd with fewer than two) */
export function meanSd(values: readonly (number | null | undefined)[]): MeanSd {
  const xs = values.filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  const n = xs.length;
  if (n === 0) return { mean: null, sd: null, n };
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const sd = n < 2 ? null : Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1));
  return { mean, sd, n };
}

/**
 * One curve per protocol across the sweeps (one sweep per run). A protocol's rates are those of
 * the first sweep that has it; a sweep with other rates for it is left out of that protocol.
 */
export function acrossRuns(sweeps: readonly RobustnessSweep[]): RobustnessCurveAcross[] {
  const protocols: string[] = [];
  for (const s of sweeps)
    for (const c of s.curves) if (!c.skipped && !protocols.includes(c.protocol)) protocols.push(c.protocol);
  return protocols.map((protocol) => {
    const curves = sweeps.flatMap((s) => s.curves.filter((c) => c.protocol === protocol && !c.skipped));
    const rates = curves[0].rates;
    const same = curves.filter((c) => c.rates.length === rates.length && c.rates.every((r, i) => r === rates[i]));
    const names = Object.keys(same[0].metrics);
    const metrics: Record<string, MeanSd[]> = {};
    const auilc: Record<string, MeanSd> = {};
    for (const m of names) {
      metrics[m] = rates.map((_, i) => meanSd(same.map((c) => c.metrics[m]?.[i])));
      auilc[m] = meanSd(same.map((c) => c.auilc[m]));
    }
    return { protocol, rates, metrics, auilc, runs: same.length };
  });
}

export function robustnessRunsRecord(
  job: JobRecordOf<'analysis.robustnessRuns'>,
  runs: RunStore,
  analysis: AnalysisStore,
): RobustnessRunsRecord {
  const ids = job.params.runIds;
  const sweeps = analysis.sweeps(ids).filter((s) => s.jobId === job.id);
  // the newest sweep per run (a run is swept once per job; a retried import never adds a second)
  const byRun = new Map<number, RobustnessSweep>();
  for (const s of sweeps) if (!byRun.has(s.runId)) byRun.set(s.runId, s);
  const outcomes = new Map((job.result?.trials ?? []).map((t) => [t.runId, t]));
  const rows = ids.map((runId) => {
    const sweep = byRun.get(runId);
    const outcome = outcomes.get(runId);
    let runName = sweep?.runName ?? `run ${runId}`;
    try {
      runName = runs.get(runId).name;
    } catch {
      // the run was deleted since: its id is all there is
    }
    return {
      runId,
      runName,
      status: sweep
        ? ('completed' as const)
        : outcome?.status === 'failed'
          ? ('failed' as const)
          : ('pending' as const),
      sweepId: sweep?.id ?? null,
      error: outcome?.error ?? null,
    };
  });
  return { id: job.id, job, runs: rows, sweeps: [...byRun.values()], across: acrossRuns([...byRun.values()]) };
}
