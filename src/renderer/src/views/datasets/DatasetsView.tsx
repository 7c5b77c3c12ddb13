/**
 * Benchmark datasets: import (a path on the machine running the services, which is this one in
 * both desktop and web mode), the list with IID datasets and their OOD versions, and for the
 * selected one its splits, label distributions (IID vs OOD), the MACI bias-word list and a
 * sample browser with its text and feature tracks.
 */
import { useCallback, useEffect, useReducer, useState, type Dispatch, type FormEvent } from 'react';
import type { Api } from '../../../../shared/api';
import { CLASS_NAMES, DATASET_SPLITS, type Dataset, type DatasetSplit } from '../../../../shared/contract/datasets';
import type { Transport } from '../../api/client';
import { FileChooser } from '../../components/FileChooser';
import {
  datasetsReducer,
  datasetTree,
  initialDatasets,
  isDatasetJob,
  liveliestChannels,
  PAGE_SIZE,
  parsePaths,
  selectedDataset,
  versionsOf,
  type DatasetsAction,
  type DatasetsState,
} from '../../state/datasets';
import { JobList } from '../JobList';
import { CountCell, LabelBars, TrackChart } from './charts';
import './datasets.css';

type Props = { api: Api; transport: Transport };

export function DatasetsView({ api, transport }: Props) {
  const [state, dispatch] = useReducer(datasetsReducer, initialDatasets);

  const reload = useCallback(async () => {
    try {
      dispatch({ type: 'loaded', list: await api.datasets.list({}) });
    } catch (e) {
      dispatch({ type: 'error', message: (e as Error).message });
    }
  }, [api]);

  useEffect(() => {
    void reload();
    api.jobs.list({ limit: 100 }).then(
      (jobs) => dispatch({ type: 'jobsLoaded', jobs }),
      (e: Error) => dispatch({ type: 'error', message: e.message }),
    );
    return transport.onEvent((event) => {
      if (event.type === 'datasets.changed') void reload();
      else dispatch({ type: 'event', event });
    });
  }, [api, transport, reload]);

  const selected = selectedDataset(state);
  return (
    <div className="datasets">
      <section className="dataset-list" aria-label="Datasets">
        <h2>Datasets</h2>
        {state.loading ? <p>loading...</p> : null}
        {!state.loading && !state.list.length ? <p className="muted">No datasets yet: import one.</p> : null}
        <ul data-testid="dataset-list">
          {datasetTree(state.list).map(({ dataset: d, depth }) => (
            <li key={d.id} className={depth ? 'ood-version' : ''}>
              <button
                className={d.id === state.selectedId ? 'selected' : ''}
                onClick={() => dispatch({ type: 'select', id: d.id })}
                data-testid="dataset-item"
              >
                {d.name} <span className={`badge ${d.kind}`}>{d.kind.toUpperCase()}</span>
              </button>
            </li>
          ))}
        </ul>
        <ImportForm api={api} dispatch={dispatch} />
        {state.error ? (
          <p role="alert" className="error">
            {state.error}
          </p>
        ) : null}
        <h3>Dataset jobs</h3>
        <JobList api={api} jobs={state.jobs.filter(isDatasetJob).slice(0, 8)} />
      </section>
      <section className="dataset-detail" aria-label="Dataset">
        {selected ? (
          <DatasetDetail key={selected.id} api={api} state={state} dataset={selected} dispatch={dispatch} />
        ) : (
          <p>Select or import a dataset.</p>
        )}
      </section>
    </div>
  );
}

function ImportForm({ api, dispatch }: { api: Api; dispatch: Dispatch<DatasetsAction> }) {
  const [files, setFiles] = useState('');
  const [name, setName] = useState('');
  const [extras, setExtras] = useState('');
  const [folds, setFolds] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    try {
      const job = await api.datasets.import({
        files: parsePaths(files),
        name: name.trim() || undefined,
        extras: parsePaths(extras),
        folds: folds.trim() || undefined,
      });
      dispatch({ type: 'jobStarted', job });
      setFiles('');
      setName('');
      setExtras('');
      setFolds('');
    } catch (err) {
      dispatch({ type: 'error', message: (err as Error).message });
    } finally {
      setBusy(false);
    }
  };
  return (
    <form onSubmit={submit} className="import-form" aria-label="Import a dataset">
      <h3>Import</h3>
      <textarea
        aria-label="Dataset file paths"
        placeholder={'File path on this machine, e.g. /data/MOSI/aligned_50.pkl\n(a .csd set: one path per line)'}
        value={files}
        onChange={(e) => setFiles(e.target.value)}
        rows={3}
        required
      />
      <FileChooser
        api={api}
        kind="file"
        multiple
        label="Choose files..."
        title="Choose dataset files (.pkl, .joblib, .csd)"
        onChoose={(ps) => setFiles((old) => [old.trim(), ...ps].filter(Boolean).join('\n'))}
      />
      <input
        aria-label="Dataset name"
        placeholder="Name (default: the file name)"
        value={name}
        onChange={(e) => setName(e.target.value)}
        maxLength={200}
      />
      <details>
        <summary>Confounders, priors, folds</summary>
        <textarea
          aria-label="Extra .npy files"
          placeholder={'confounder_*.npy, prior_*.npy\n(one per line)'}
          value={extras}
          onChange={(e) => setExtras(e.target.value)}
          rows={2}
        />
        <input
          aria-label="Folds file"
          placeholder="folds JSON (.csd sets)"
          title=".csd sets: a folds JSON file {train, valid, test}"
          value={folds}
          onChange={(e) => setFolds(e.target.value)}
        />
      </details>
      <button type="submit" disabled={busy || !parsePaths(files).length} aria-busy={busy}>
        {busy ? 'Starting import...' : 'Import'}
      </button>
    </form>
  );
}

/** what the panels of one dataset's page are given */
interface DatasetPanelProps {
  api: Api;
  state: DatasetsState;
  dataset: Dataset;
  dispatch: Dispatch<DatasetsAction>;
}

function DatasetDetail({ api, state, dataset: d, dispatch }: DatasetPanelProps) {
  const versions = versionsOf(state.list, d);
  const remove = async () => {
    if (!window.confirm(`Remove dataset "${d.name}" and its feature files?`)) return;
    try {
      await api.datasets.remove({ id: d.id });
      dispatch({ type: 'removed', id: d.id });
    } catch (e) {
      dispatch({ type: 'error', message: (e as Error).message });
    }
  };
  return (
    <>
      <h2 data-testid="dataset-title">
        {d.name} <span className={`badge ${d.kind}`}>{d.kind.toUpperCase()}</span>
      </h2>
      <p className="muted">
        {d.format}, {d.aligned ? 'aligned' : 'unaligned'}; L={d.dims.L ?? 'n/a'}, audio {d.dims.Ta}×{d.dims.da}, vision{' '}
        {d.dims.Tv}×{d.dims.dv}
        {d.dims.dl ? `, text features ${d.dims.dl}` : ''}; from {d.sourceFiles.join(', ')}
      </p>
      {d.ood ? (
        <p data-testid="ood-record">
          OOD repartition, seed {d.ood.seed}, strength {d.ood.strength}: test 3-class target{' '}
          {d.ood.targetTest3.map((x) => x.toFixed(2)).join('/')}, planned {d.ood.plannedTest3.join('/')}
          {d.ood.biasAgreement
            ? `; bias-word agreement train ${d.ood.biasAgreement.train.toFixed(3)} vs test ${d.ood.biasAgreement.test.toFixed(3)}`
            : ''}
        </p>
      ) : null}
      {d.extras.length ? <p className="muted">stored with it: {d.extras.join(', ')}</p> : null}
      {d.warnings.length ? (
        <details className="warnings">
          <summary>{d.warnings.length} import warnings</summary>
          <ul>
            {d.warnings.map((w) => (
              <li key={w}>{w}</li>
            ))}
          </ul>
        </details>
      ) : null}
      <div className="actions">
        {d.kind === 'iid' ? <OodForm api={api} dataset={d} dispatch={dispatch} /> : null}
        <button onClick={() => void remove()}>Remove</button>
      </div>

      <h3>Splits</h3>
      <table className="splits" data-testid="splits">
        <thead>
          <tr>
            <th>version</th>
            {DATASET_SPLITS.map((s) => (
              <th key={s}>{s}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {versions.map((v) => (
            <tr key={v.id} className={v.id === d.id ? 'current' : ''}>
              <td>
                {v.name} <span className={`badge ${v.kind}`}>{v.kind.toUpperCase()}</span>
              </td>
              {DATASET_SPLITS.map((s) => (
                <td key={s} data-testid={`size-${v.id}-${s}`}>
                  {v.splits[s].count}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>

      <LabelDistributions versions={versions} />
      <BiasWords api={api} state={state} dataset={d} dispatch={dispatch} />
      <SampleBrowser api={api} state={state} dataset={d} dispatch={dispatch} />
    </>
  );
}

/** one of the OOD form's required numbers (>= 0) */
function OodNumber(p: {
  label: string;
  aria: string;
  title?: string;
  max?: number;
  step: number;
  value: string;
  onChange: (value: string) => void;
}) {
  return (
    <label title={p.title}>
      {p.label}{' '}
      <input
        aria-label={p.aria}
        type="number"
        min={0}
        max={p.max}
        step={p.step}
        value={p.value}
        onChange={(e) => p.onChange(e.target.value)}
        required
      />
    </label>
  );
}

function OodForm({ api, dataset, dispatch }: Omit<DatasetPanelProps, 'state'>) {
  const [seed, setSeed] = useState('1');
  const [strength, setStrength] = useState('1');
  const [starting, setStarting] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setStarting(true);
    try {
      dispatch({
        type: 'jobStarted',
        job: await api.datasets.splitOod({ id: dataset.id, seed: Number(seed), strength: Number(strength) }),
      });
    } catch (err) {
      dispatch({ type: 'error', message: (err as Error).message });
    } finally {
      setStarting(false);
    }
  };
  return (
    <form className="ood-form" onSubmit={submit} aria-label="Build an OOD split">
      <OodNumber label="seed" aria="OOD seed" step={1} value={seed} onChange={setSeed} />
      <OodNumber
        label="shift"
        aria="OOD strength"
        title="0 keeps the pooled label mix in test; 1 swaps negative and positive"
        max={1}
        step={0.1}
        value={strength}
        onChange={setStrength}
      />
      <button type="submit" disabled={starting} aria-busy={starting}>
        {starting ? 'Starting OOD split...' : 'Build OOD split'}
      </button>
    </form>
  );
}

function LabelDistributions({ versions }: { versions: Dataset[] }) {
  return (
    <>
      <h3>Label distributions</h3>
      <p className="muted">
        Bars are scaled to each split&apos;s proportions; the numbers are counts.
        {versions.length > 1 ? ' One row per version of the same data: IID first, then its OOD repartitions.' : ''}
      </p>
      {([3, 7] as const).map((task) => (
        <div key={task} className="dist-task" data-testid={`dist-${task}`}>
          <h4>{task}-class</h4>
          <table className="dist-grid">
            <tbody>
              {versions.map((v) => (
                <tr key={v.id} data-testid={`dist-row-${v.id}`}>
                  <th scope="row">
                    {v.name}
                    <br />
                    <span className={`badge ${v.kind}`}>{v.kind.toUpperCase()}</span>
                  </th>
                  {DATASET_SPLITS.map((s) => (
                    <td key={s}>
                      <LabelBars
                        counts={task === 3 ? v.splits[s].labels.three : v.splits[s].labels.seven}
                        classNames={CLASS_NAMES[task]}
                        title={s}
                        testId={`dist-${task}-${v.id}-${s}`}
                      />
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ))}
    </>
  );
}

function BiasWords({ api, state, dataset, dispatch }: DatasetPanelProps) {
  const { task, k, list, error } = state.bias;
  const hasTokens = dataset.dims.L !== null;
  useEffect(() => {
    if (!hasTokens) return;
    api.datasets.biasWords({ id: dataset.id, task, k }).then(
      (l) => dispatch({ type: 'biasLoaded', list: l }),
      (e: Error) => dispatch({ type: 'biasFailed', message: e.message }),
    );
  }, [api, dataset.id, task, k, hasTokens, dispatch]);
  const max = list ? Math.max(1, ...list.words.flatMap((w) => w.counts)) : 1;
  return (
    <>
      <h3>Bias words (MACI dictionary, training split)</h3>
      {!hasTokens ? (
        <p className="muted">This dataset has no token ids, so it has no bias-word dictionary.</p>
      ) : (
        <>
          <div className="bias-controls">
            {([3, 7] as const).map((t) => (
              <button
                key={t}
                className={t === task ? 'selected' : ''}
                onClick={() => dispatch({ type: 'biasTask', task: t })}
              >
                {t}-class
              </button>
            ))}
            <label>
              K{' '}
              <input
                aria-label="Bias word count"
                type="number"
                min={1}
                max={1000}
                value={k}
                onChange={(e) =>
                  Number(e.target.value) >= 1 &&
                  dispatch({ type: 'biasK', k: Math.min(1000, Math.floor(Number(e.target.value))) })
                }
              />
            </label>
          </div>
          <p className="muted">
            Token ids with per-class count variation (cv ≥ 0.1{task === 3 ? ', over negative vs positive' : ''}), the K
            most frequent. Words are recovered by lining the raw text up with the token ids; an id shows as #id where
            that is not possible (WordPiece split the word, or there is no raw text).
          </p>
          {error ? <p className="error">{error}</p> : null}
          {list ? (
            <table className="bias-words" data-testid="bias-words">
              <thead>
                <tr>
                  <th>#</th>
                  <th>word</th>
                  <th>id</th>
                  {CLASS_NAMES[task].map((c) => (
                    <th key={c}>{c}</th>
                  ))}
                  <th>total</th>
                  <th>cv</th>
                </tr>
              </thead>
              <tbody>
                {list.words.map((w, i) => (
                  <tr key={w.id} data-testid="bias-word">
                    <td>{i + 1}</td>
                    <td>{w.word ?? <span className="muted">#{w.id}</span>}</td>
                    <td>{w.id}</td>
                    {w.counts.map((c, j) => (
                      <CountCell key={j} value={c} max={max} />
                    ))}
                    <td>{w.total}</td>
                    <td>{w.cv.toFixed(2)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : error ? null : (
            <p>loading...</p>
          )}
        </>
      )}
    </>
  );
}

function SampleBrowser({ api, state, dataset, dispatch }: DatasetPanelProps) {
  const { split, offset, page, index, sample } = state.browser;
  useEffect(() => {
    api.datasets.samples({ id: dataset.id, split, offset, limit: PAGE_SIZE }).then(
      (p) => dispatch({ type: 'pageLoaded', page: p }),
      (e: Error) => dispatch({ type: 'error', message: e.message }),
    );
  }, [api, dataset.id, split, offset, dispatch]);
  useEffect(() => {
    if (index === null) return;
    api.datasets.sample({ id: dataset.id, split, index, points: 120 }).then(
      (s) => dispatch({ type: 'sampleLoaded', sample: s }),
      (e: Error) => dispatch({ type: 'error', message: e.message }),
    );
  }, [api, dataset.id, split, index, dispatch]);
  const total = dataset.splits[split].count;
  return (
    <>
      <h3>Samples</h3>
      <div className="browser-controls">
        {DATASET_SPLITS.map((s: DatasetSplit) => (
          <button
            key={s}
            className={s === split ? 'selected' : ''}
            onClick={() => dispatch({ type: 'browseSplit', split: s })}
          >
            {s}
          </button>
        ))}
        <button disabled={offset === 0} onClick={() => dispatch({ type: 'browsePage', offset: offset - PAGE_SIZE })}>
          ◀
        </button>
        <span>
          {total ? offset + 1 : 0}–{Math.min(total, offset + PAGE_SIZE)} of {total}
        </span>
        <button
          disabled={offset + PAGE_SIZE >= total}
          onClick={() => dispatch({ type: 'browsePage', offset: offset + PAGE_SIZE })}
        >
          ▶
        </button>
      </div>
      <div className="browser">
        <table className="samples" data-testid="samples">
          <thead>
            <tr>
              <th>#</th>
              <th>id</th>
              <th>score</th>
              <th>3</th>
              <th>7</th>
              <th>len t/a/v</th>
              <th>text</th>
            </tr>
          </thead>
          <tbody>
            {(page?.samples ?? []).map((s) => (
              <tr
                key={s.index}
                className={s.index === index ? 'selected' : ''}
                onClick={() => dispatch({ type: 'openSample', index: s.index })}
                data-testid="sample-row"
              >
                <td>{s.index}</td>
                <td>{s.id}</td>
                <td>{s.regression.toFixed(2)}</td>
                <td>{CLASS_NAMES[3][s.label3]}</td>
                <td>{CLASS_NAMES[7][s.label7]}</td>
                <td>
                  {s.lengths.text ?? '-'}/{s.lengths.audio}/{s.lengths.vision}
                </td>
                <td className="sample-text">{s.text}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {sample ? (
          <div className="sample-detail" data-testid="sample-detail">
            <h4>
              {sample.id}{' '}
              <span className="muted">
                ({split} #{sample.index}, score {sample.regression.toFixed(2)})
              </span>
            </h4>
            <p className="sample-text">{sample.text || <span className="muted">no raw text</span>}</p>
            {sample.tokenIds ? <p className="token-ids">token ids: {sample.tokenIds.join(' ')}</p> : null}
            <TrackChart
              title={`audio (${sample.audio.channels} channels)`}
              x={sample.audio.x}
              series={sample.audio.series}
              frames={sample.audio.frames}
              channels={liveliestChannels(sample.audio.series, 4)}
              testId="track-audio"
            />
            <TrackChart
              title={`vision (${sample.vision.channels} channels)`}
              x={sample.vision.x}
              series={sample.vision.series}
              frames={sample.vision.frames}
              channels={liveliestChannels(sample.vision.series, 4)}
              testId="track-vision"
            />
          </div>
        ) : index !== null ? (
          <p>loading sample...</p>
        ) : (
          <p className="muted">Click a sample to see its text and feature tracks.</p>
        )}
      </div>
    </>
  );
}
