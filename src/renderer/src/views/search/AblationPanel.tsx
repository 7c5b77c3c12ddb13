/**
 * The paper's ablation set as a preset beside the search: one run per variant with one seed
 * (full, w/o MSSD, w/o each distillation loss), and one table of IID and OOD test metrics, plain
 * (= w/o MACI) and debiased with the tau rule named, and AUILC under RMFM.
 */
import { useCallback, useEffect, useState } from 'react';
import type { Api } from '../../../../shared/api';
import type { AblationRecord } from '../../../../shared/contract/ablation';
import type { TauRule } from '../../../../shared/contract/training';
import type { Transport } from '../../api/client';
import { ablationCell, ablationTau, pickAblation } from '../../state/ablation';
import {
  executorFormErrors,
  executorOf,
  executorPlace,
  initialExecutorForm,
  type ExecutorForm,
} from '../../state/executor';
import { ABLATION_VARIANTS } from '../../../../shared/contract/ablation';
import { ExecutorFieldset } from '../../components/ExecutorFieldset';

export interface AblationBase {
  datasetId: number | null;
  task: 3 | 7;
  maxEpochs: number;
  batchSize: number;
  patience: number;
}

const fmt = (x: number | null | undefined) =>
  x === null || x === undefined || !Number.isFinite(x) ? 'n/a' : x.toFixed(4);

export function AblationPanel({ api, transport, base }: { api: Api; transport: Transport; base: AblationBase }) {
  const [list, setList] = useState<AblationRecord[]>([]);
  const [selected, setSelected] = useState<number | null>(null);
  const [tauRule, setTauRule] = useState<TauRule>('validation');
  const [bertDir, setBertDir] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [where, setWhere] = useState<ExecutorForm>(initialExecutorForm);
  const [preview, setPreview] = useState<string | null>(null);
  const whereErrors = executorFormErrors(where);
  const fail = useCallback((e: Error) => setError(e.message), []);
  const changeWhere = (patch: Partial<ExecutorForm>) => {
    setWhere((w) => ({ ...w, ...patch }));
    // a preview describes the settings it was made from
    setPreview(null);
  };
  const showScript = async () => {
    const executor = executorOf(where);
    if (executor.kind !== 'slurm') return;
    try {
      const r = await api.ablation.sbatchPreview({
        executor,
        trials: ABLATION_VARIANTS.length,
        name: 'cider ablation',
      });
      setPreview(r.script);
    } catch (e) {
      fail(e as Error);
    }
  };
  const reload = useCallback(
    () =>
      api.ablation.list({}).then((l) => {
        setList(l);
        setSelected((s) => pickAblation(l, s));
      }, fail),
    [api, fail],
  );
  useEffect(() => {
    void reload();
    return transport.onEvent((e) => {
      if (e.type !== 'job.updated' || e.job.kind !== 'ablation') return;
      const d = e.job.progress.data;
      const epochEnd = d !== undefined && 'epoch' in d && typeof d.epoch === 'number' && d.batch === undefined;
      // on a cluster the coordinator reports as it polls: the rows fill in as trials are stored
      const remote = d !== undefined && 'stored' in d;
      if (e.job.status !== 'running' || epochEnd || remote) void reload();
    });
  }, [transport, reload]);
  const start = async () => {
    setError(null);
    try {
      const a = await api.ablation.start({
        datasetId: base.datasetId!,
        tauRule,
        options: {
          task: base.task,
          maxEpochs: base.maxEpochs,
          batchSize: base.batchSize,
          patience: base.patience,
          ...(bertDir.trim() ? { text: { kind: 'frozen' as const, modelDir: bertDir.trim() } } : {}),
        },
        executor: executorOf(where),
      });
      setList((l) => [a, ...l.filter((x) => x.id !== a.id)]);
      setSelected(a.id);
    } catch (e) {
      fail(e as Error);
    }
  };
  const a = list.find((x) => x.id === selected) ?? null;
  return (
    <section className="panel" aria-label="Ablation">
      <h3>Ablation (the paper&apos;s set, one seed)</h3>
      <p className="muted">
        One run per variant on the dataset above (and its OOD version), with the epochs, batch size and patience above:
        full CIDer, w/o MSSD, w/o the joint, attention and reconstruction losses. &quot;w/o MACI&quot; is every
        row&apos;s plain value. MACI needs a BERT model (frozen); without one only plain values are shown.
      </p>
      <label>
        BERT model folder (frozen){' '}
        <input aria-label="Ablation BERT folder" value={bertDir} onChange={(e) => setBertDir(e.target.value)} />
      </label>{' '}
      <label>
        tau rule{' '}
        <select aria-label="Ablation tau rule" value={tauRule} onChange={(e) => setTauRule(e.target.value as TauRule)}>
          <option value="validation">validation split (honest)</option>
          <option value="reference">reference protocol (best on test, optimistic)</option>
        </select>
      </label>{' '}
      <ExecutorFieldset
        value={where}
        onChange={changeWhere}
        onPreview={() => void showScript()}
        preview={preview}
        disabled={!!whereErrors.length}
        label="Ablation"
        what="variants"
      />
      {whereErrors.length ? <p className="form-errors">{whereErrors.join('; ')}</p> : null}
      <button type="button" disabled={base.datasetId === null || !!whereErrors.length} onClick={() => void start()}>
        Run ablation set
      </button>
      {error ? (
        <p role="alert" className="error">
          {error}
        </p>
      ) : null}
      {list.length ? (
        <label>
          {' '}
          Ablation{' '}
          <select aria-label="Ablation" value={selected ?? ''} onChange={(e) => setSelected(Number(e.target.value))}>
            {list.map((x) => (
              <option key={x.id} value={x.id}>
                #{x.id} {x.name} ({x.job.status})
              </option>
            ))}
          </select>
        </label>
      ) : null}
      {a ? (
        <div data-testid="ablation-detail" data-status={a.job.status}>
          <p className="muted">
            seed {a.seed}; trained on {executorPlace(a.executor.kind)}; selection metric {a.selectionMetric};{' '}
            {a.tauNote}; cells plain / debiased; AUILC under RMFM on the IID test split.{' '}
            {a.job.progress.message ? `${a.job.status}: ${a.job.progress.message}` : a.job.status}
          </p>
          <table className="search-results" data-testid="ablation-table">
            <thead>
              <tr>
                <th>variant</th>
                <th>run</th>
                <th>status</th>
                {a.headline.map((m) => (
                  <th key={`i${m}`}>IID {m}</th>
                ))}
                {a.headline.map((m) => (
                  <th key={`o${m}`}>OOD {m}</th>
                ))}
                {a.headline.map((m) => (
                  <th key={`a${m}`}>AUILC {m}</th>
                ))}
                <th>tau</th>
              </tr>
            </thead>
            <tbody>
              {a.rows.map((r) => (
                <tr key={r.variant} data-testid="ablation-row">
                  <td>{r.label}</td>
                  <td>{r.runId ?? '-'}</td>
                  <td>{r.status}</td>
                  {a.headline.map((m) => (
                    <td key={`i${m}`}>{ablationCell(r, 'iid', m)}</td>
                  ))}
                  {a.headline.map((m) => (
                    <td key={`o${m}`}>{ablationCell(r, 'ood', m)}</td>
                  ))}
                  {a.headline.map((m) => (
                    <td key={`a${m}`}>{fmt(r.auilcRmfm?.[m])}</td>
                  ))}
                  <td>{ablationTau(a, r)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}
