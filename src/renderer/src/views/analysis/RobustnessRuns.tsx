/**
 * The robustness sweep of several runs (e.g. one per seed) in one job: the runs ticked for the
 * overlay, each swept once here or on a SLURM cluster / job queue (the shared executor setting),
 * then each run's AUILC and the mean ± sd across the runs per protocol.
 */
import { useCallback, useEffect, useState } from 'react';
import type { Api } from '../../../../shared/api';
import type { MeanSd, RobustnessRunsRecord } from '../../../../shared/contract/analysis';
import type { Transport } from '../../api/client';
import { ExecutorFieldset } from '../../components/ExecutorFieldset';
import {
  executorFormErrors,
  executorOf,
  executorPlace,
  initialExecutorForm,
  type ExecutorForm,
} from '../../state/executor';

const fmt = (x: number | null | undefined) =>
  x === null || x === undefined || !Number.isFinite(x) ? 'n/a' : x.toFixed(4);
export const meanSdText = (x: MeanSd | undefined) =>
  !x || x.mean === null ? 'n/a' : `${fmt(x.mean)}${x.sd === null ? '' : ` ± ${fmt(x.sd)}`}`;

export function RobustnessRuns({
  api,
  transport,
  runIds,
  protocols,
  metric,
  onSwept,
}: {
  api: Api;
  transport: Transport;
  /** the runs ticked for the overlay */
  runIds: number[];
  protocols: string[];
  metric: string;
  /** a job of this panel succeeded: its sweeps are stored (the curves above can show them) */
  onSwept: () => void;
}) {
  const [where, setWhere] = useState<ExecutorForm>(initialExecutorForm);
  const [preview, setPreview] = useState<string | null>(null);
  const [list, setList] = useState<RobustnessRunsRecord[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [starting, setStarting] = useState(false);
  const fail = useCallback((e: Error) => setError(e.message), []);
  const reload = useCallback(() => api.analysis.robustnessRunsList({}).then(setList, fail), [api, fail]);
  useEffect(() => {
    void reload();
    return transport.onEvent((e) => {
      if (e.type === 'job.updated' && e.job.kind === 'analysis.robustnessRuns') void reload();
    });
  }, [transport, reload]);
  const errors = [
    ...(runIds.length < 2 ? ['tick two or more runs to overlay'] : []),
    ...(protocols.length ? [] : ['tick a protocol']),
    ...executorFormErrors(where),
  ];
  const change = (patch: Partial<ExecutorForm>) => {
    setWhere((w) => ({ ...w, ...patch }));
    setPreview(null);
  };
  const showScript = async () => {
    const executor = executorOf(where);
    if (executor.kind !== 'slurm') return;
    try {
      setPreview((await api.analysis.sbatchPreview({ executor, trials: runIds.length })).script);
    } catch (e) {
      fail(e as Error);
    }
  };
  const start = async () => {
    setError(null);
    setStarting(true);
    try {
      const r = await api.analysis.robustnessRuns({ runIds, protocols, executor: executorOf(where) });
      setList((l) => [r, ...l.filter((x) => x.id !== r.id)]);
    } catch (e) {
      fail(e as Error);
    } finally {
      setStarting(false);
    }
  };
  const r = list.length ? list.reduce((a, b) => (b.id > a.id ? b : a)) : null;
  const succeeded = r?.job.status === 'succeeded' ? r.id : null;
  useEffect(() => {
    if (succeeded !== null) onSwept();
  }, [succeeded, onSwept]);
  return (
    <section className="panel" aria-label="Robustness over runs">
      <h4>Several runs (e.g. one per seed)</h4>
      <p className="muted">
        Sweeps each overlaid run ({runIds.length ? runIds.map((id) => `#${id}`).join(', ') : 'none ticked'}) with the
        ticked protocols, one trial per run, then shows each run and the mean ± sd across the runs.
      </p>
      <ExecutorFieldset
        value={where}
        onChange={change}
        onPreview={() => void showScript()}
        preview={preview}
        disabled={!!executorFormErrors(where).length || !runIds.length}
        label="Sweep"
        what="runs' sweeps"
      />
      {errors.length ? <p className="form-errors">{errors.join('; ')}</p> : null}
      <button type="button" disabled={!!errors.length || starting} onClick={() => void start()}>
        Sweep the overlaid runs
      </button>
      {error ? (
        <p role="alert" className="error">
          {error}
        </p>
      ) : null}
      {r ? (
        <div data-testid="robustness-runs" data-status={r.job.status} data-executor={r.job.params.executor.kind}>
          <p className="muted">
            #{r.id}: runs {r.job.params.runIds.join(', ')} on {executorPlace(r.job.params.executor.kind)};{' '}
            {r.job.progress.message ? `${r.job.status}: ${r.job.progress.message}` : r.job.status}
          </p>
          <table className="search-results">
            <thead>
              <tr>
                <th>run</th>
                <th>status</th>
                {r.across.map((c) => (
                  <th key={c.protocol}>
                    {c.protocol} AUILC {metric}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {r.runs.map((run) => {
                const sweep = r.sweeps.find((s) => s.runId === run.runId);
                return (
                  <tr key={run.runId} data-testid="robustness-run-row" data-status={run.status}>
                    <td title={run.runName}>#{run.runId}</td>
                    <td title={run.error ?? ''}>{run.status}</td>
                    {r.across.map((c) => (
                      <td key={c.protocol}>
                        {fmt(sweep?.curves.find((x) => x.protocol === c.protocol)?.auilc[metric])}
                      </td>
                    ))}
                  </tr>
                );
              })}
              <tr data-testid="robustness-across">
                <td>mean ± sd</td>
                <td>{r.sweeps.length} runs</td>
                {r.across.map((c) => (
                  <td key={c.protocol} data-testid={`across-${c.protocol}`} data-mean={c.auilc[metric]?.mean ?? ''}>
                    {meanSdText(c.auilc[metric])}
                  </td>
                ))}
              </tr>
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}
