/**
 * Hyperparameter search: the authors' space (layers, heads, dropouts, loss weights) for N trials of
 * seeded random search (not their TPE; labelled so), each trial a run, results best first.
 */
import { useCallback, useEffect, useReducer, useState } from 'react';
import type { Api } from '../../../../shared/api';
import { DEFAULT_SEARCH_SPACE } from '../../../../shared/contract/search';
import { isEpochEnd } from '../../../../shared/jobs';
import type { Transport } from '../../api/client';
import { datasetTree } from '../../state/datasets';
import {
  executorOf,
  initialSearch,
  searchFormErrors,
  searchReducer,
  selectedSearch,
  type SearchForm,
} from '../../state/search';
import { AblationPanel } from './AblationPanel';
import { ExecutorFieldset } from '../../components/ExecutorFieldset';
import '../training/training.css';

const fmt = (x: number | null) => (x === null || !Number.isFinite(x) ? 'n/a' : x.toFixed(4));

export function SearchView({ api, transport }: { api: Api; transport: Transport }) {
  const [state, dispatch] = useReducer(searchReducer, initialSearch);
  const fail = useCallback((e: Error) => dispatch({ type: 'error', message: e.message }), []);
  const reload = useCallback(
    () => api.search.list({}).then((list) => dispatch({ type: 'loaded', list }), fail),
    [api, fail],
  );

  useEffect(() => {
    api.datasets.list({}).then((list) => dispatch({ type: 'datasetsLoaded', list }), fail);
    void reload();
    return transport.onEvent((e) => {
      if (e.type !== 'job.updated' || e.job.kind !== 'search') return;
      if (e.job.status !== 'running' || isEpochEnd(e.job)) void reload();
    });
  }, [api, transport, fail, reload]);

  const f = state.form;
  const errors = searchFormErrors(f);
  const set = (patch: Partial<SearchForm>) => dispatch({ type: 'set', patch });
  const num = (k: keyof SearchForm, label: string) => (
    <label>
      {label}
      <input
        type="number"
        aria-label={label}
        value={Number.isFinite(f[k] as number) ? (f[k] as number) : ''}
        onChange={(e) => set({ [k]: e.target.value === '' ? NaN : Number(e.target.value) })}
      />
    </label>
  );
  const [starting, setStarting] = useState(false);
  const start = async () => {
    setStarting(true);
    try {
      const search = await api.search.start({
        datasetId: f.datasetId!,
        trials: f.trials,
        seed: f.seed,
        options: { task: f.task, maxEpochs: f.maxEpochs, batchSize: f.batchSize, patience: f.patience },
        executor: executorOf(f),
      });
      dispatch({ type: 'started', search });
    } catch (e) {
      fail(e as Error);
    } finally {
      setStarting(false);
    }
  };
  const preview = async () => {
    const executor = executorOf(f);
    if (executor.kind !== 'slurm') return;
    try {
      const { script } = await api.search.sbatchPreview({ executor, trials: f.trials, name: 'cider search' });
      dispatch({ type: 'preview', script });
    } catch (e) {
      fail(e as Error);
    }
  };
  const s = selectedSearch(state);
  return (
    <div className="search-view">
      <h2>Hyperparameter search</h2>
      <p className="muted">
        Seeded random search over the authors&apos; space: layers {`{${DEFAULT_SEARCH_SPACE.layers.join(', ')}}`}, heads{' '}
        {`{${DEFAULT_SEARCH_SPACE.heads.join(', ')}}`}, each dropout from{' '}
        {`{${DEFAULT_SEARCH_SPACE.dropouts.join(', ')}}`}, each loss weight from{' '}
        {`{${DEFAULT_SEARCH_SPACE.lossWeights.join(', ')}}`} (those two grids are ours). The authors ran TPE over 300
        trials; this is random search. Each trial is a run (see the Runs tab).
      </p>
      <form
        className="search-form"
        onSubmit={(e) => {
          e.preventDefault();
          if (!errors.length) void start();
        }}
      >
        <label>
          Dataset
          <select
            aria-label="Search dataset"
            value={f.datasetId ?? ''}
            onChange={(e) => set({ datasetId: e.target.value ? Number(e.target.value) : null })}
          >
            {datasetTree(state.datasets).map(({ dataset: d }) => (
              <option key={d.id} value={d.id}>
                {d.name} ({d.kind.toUpperCase()})
              </option>
            ))}
          </select>
        </label>
        <label>
          Task
          <select
            aria-label="Search task"
            value={f.task}
            onChange={(e) => set({ task: Number(e.target.value) as 3 | 7 })}
          >
            <option value={3}>3-class</option>
            <option value={7}>7-class</option>
          </select>
        </label>
        {num('trials', 'Trials')}
        {num('seed', 'Sampler seed')}
        {num('maxEpochs', 'Epochs per trial')}
        {num('batchSize', 'Batch size')}
        {num('patience', 'Patience')}
        <ExecutorFieldset
          value={f}
          onChange={set}
          onPreview={() => void preview()}
          preview={state.preview}
          disabled={!!errors.length}
        />
        <button type="submit" disabled={!!errors.length || starting} aria-busy={starting}>
          {starting ? 'Starting search...' : 'Start search'}
        </button>
      </form>
      {errors.length ? <p className="form-errors">{errors.join('; ')}</p> : null}
      {state.error ? (
        <p role="alert" className="error">
          {state.error}
        </p>
      ) : null}
      {state.list.length ? (
        <label>
          Search{' '}
          <select
            aria-label="Search"
            value={state.selectedId ?? ''}
            onChange={(e) => dispatch({ type: 'select', id: Number(e.target.value) })}
          >
            {state.list.map((x) => (
              <option key={x.id} value={x.id}>
                #{x.id} {x.name} ({x.job.status})
              </option>
            ))}
          </select>
        </label>
      ) : null}
      {s ? (
        <div data-testid="search-detail" data-status={s.job.status}>
          <p>
            {s.strategy} search, sampler seed {s.seed}, {s.trials} trials, on{' '}
            {s.executor.kind === 'local' ? 'this machine' : s.executor.kind === 'slurm' ? 'SLURM' : 'the job queue'},{' '}
            {s.job.status} {s.job.progress.message ? `: ${s.job.progress.message}` : ''}
          </p>
          <table className="search-results" data-testid="search-results">
            <thead>
              <tr>
                <th>rank</th>
                <th>trial</th>
                <th>run</th>
                <th>status</th>
                <th>best {s.selectionMetric}</th>
                <th>layers</th>
                <th>heads</th>
                <th>dropout relu/res/attn/emb/out</th>
                <th>weights joint/attn/recon</th>
              </tr>
            </thead>
            <tbody>
              {s.results.map((t, i) => (
                <tr key={t.trial} data-testid="trial-row">
                  <td>{t.bestMetric === null ? '' : i + 1}</td>
                  <td>{t.trial}</td>
                  <td>{t.runId ?? '-'}</td>
                  <td>{t.status}</td>
                  <td>{fmt(t.bestMetric)}</td>
                  <td>{t.params.layers}</td>
                  <td>{t.params.heads}</td>
                  <td>
                    {[
                      t.params.dropouts.relu,
                      t.params.dropouts.residual,
                      t.params.dropouts.attention,
                      t.params.dropouts.embedding,
                      t.params.dropouts.output,
                    ].join(' / ')}
                  </td>
                  <td>
                    {[
                      t.params.lossWeights.joint,
                      t.params.lossWeights.attention,
                      t.params.lossWeights.reconstruction,
                    ].join(' / ')}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <AblationPanel
        api={api}
        transport={transport}
        base={{
          datasetId: f.datasetId,
          task: f.task,
          maxEpochs: f.maxEpochs,
          batchSize: f.batchSize,
          patience: f.patience,
        }}
      />
    </div>
  );
}
