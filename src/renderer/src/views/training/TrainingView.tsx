/**
 * Training: configure a run (dataset IID/OOD, task, text encoder and mode, the hyperparameters of
 * spec section 4 with the paper's defaults, the reference quirks as named switches), start it, and
 * watch it: a progress bar per epoch with the time left (from batch timings), curves of every loss
 * component and of the validation metrics, backend and memory. Stop, resume, clone.
 */
import { useCallback, useEffect, type Dispatch, type ReactNode } from 'react';
import type { Api } from '../../../../shared/api';
import type { AppStatus } from '../../../../shared/types';
import type { Transport } from '../../api/client';
import { LineChart } from '../../components/LineChart';
import { datasetTree } from '../../state/datasets';
import {
  batchLossSeries,
  epochLossSeries,
  epochProgress,
  formatBytes,
  formatDuration,
  datasetWarnings,
  fineTuneNote,
  formErrors,
  isResumable,
  isTraining,
  optionsFromForm,
  PAPER_DEFAULTS,
  validationSeries,
  type TrainingAction,
  type TrainingForm,
  type TrainingState,
} from '../../state/training';
import { SELECTION_METRICS_BY_TASK } from '../../../../shared/contract/training';
import './training.css';

type Props = {
  api: Api;
  transport: Transport;
  status: AppStatus | null;
  /** held by App so the form survives tab switches */
  state: TrainingState;
  dispatch: Dispatch<TrainingAction>;
};

export function TrainingView({ api, transport, status, state, dispatch }: Props) {
  const fail = useCallback((e: Error) => dispatch({ type: 'error', message: e.message }), [dispatch]);
  const reloadRuns = useCallback(
    () => api.runs.list({}).then((list) => dispatch({ type: 'runsLoaded', list }), fail),
    [api, fail, dispatch],
  );

  useEffect(() => {
    api.datasets.list({}).then((list) => dispatch({ type: 'datasetsLoaded', list }), fail);
    void reloadRuns();
    return transport.onEvent((event) => {
      if (event.type === 'datasets.changed')
        api.datasets.list({}).then((list) => dispatch({ type: 'datasetsLoaded', list }), fail);
      dispatch({ type: 'event', event, now: Date.now() });
    });
  }, [api, transport, fail, reloadRuns, dispatch]);

  // the watched run and its stored epochs, refetched whenever the events say they changed
  const liveId = state.live?.run.id;
  const stale = state.live?.stale;
  useEffect(() => {
    if (liveId === undefined) return;
    api.runs.get({ id: liveId }).then((run) => dispatch({ type: 'runLoaded', run }), fail);
    api.runs.epochs({ id: liveId }).then((epochs) => dispatch({ type: 'epochsLoaded', runId: liveId, epochs }), fail);
  }, [api, liveId, stale, fail, dispatch]);

  const start = async () => {
    dispatch({ type: 'busy' });
    try {
      const f = state.form;
      const { run, job } = await api.runs.start({
        datasetId: f.datasetId!,
        name: f.name.trim() || undefined,
        options: optionsFromForm(f, state.base),
      });
      dispatch({ type: 'started', run, job });
    } catch (e) {
      dispatch({ type: 'error', message: (e as Error).message, at: 'form' });
    }
  };

  return (
    <div className="training">
      <section className="training-form" aria-label="New run">
        <h2>New run</h2>
        <RunForm state={state} dispatch={dispatch} onStart={() => void start()} />
      </section>
      <section className="training-live" aria-label="Run progress">
        <RunPicker state={state} dispatch={dispatch} />
        {state.error && state.errorAt === 'live' ? (
          <p role="alert" className="error">
            {state.error}
          </p>
        ) : null}
        {state.live ? (
          <LivePanel api={api} state={state} dispatch={dispatch} status={status} />
        ) : (
          <p className="muted">No run yet: configure one and start it.</p>
        )}
      </section>
    </div>
  );
}

function Field({ label, hint, children }: { label: string; hint?: string; children: ReactNode }) {
  return (
    <label className="field" title={hint}>
      <span>{label}</span>
      {children}
    </label>
  );
}

function NumberInput({
  form,
  name,
  dispatch,
  step = 'any',
  label,
}: {
  form: TrainingForm;
  name: keyof TrainingForm;
  dispatch: Dispatch<TrainingAction>;
  step?: string;
  label: string;
}) {
  return (
    <input
      type="number"
      aria-label={label}
      step={step}
      value={Number.isFinite(form[name] as number) ? (form[name] as number) : ''}
      onChange={(e) =>
        dispatch({
          type: 'set',
          patch: { [name]: e.target.value === '' ? NaN : Number(e.target.value) } as Partial<TrainingForm>,
        })
      }
    />
  );
}

function RunForm({
  state,
  dispatch,
  onStart,
}: {
  state: TrainingState;
  dispatch: Dispatch<TrainingAction>;
  onStart: () => void;
}) {
  const f = state.form;
  const errors = formErrors(f, state.base);
  const dataset = state.datasets.find((d) => d.id === f.datasetId);
  const num = (name: keyof TrainingForm, label: string, step?: string) => (
    <Field label={label} hint={`paper: ${paperValue(name)}`}>
      <NumberInput form={f} name={name} dispatch={dispatch} step={step} label={label} />
    </Field>
  );
  return (
    <form
      className="run-form"
      onSubmit={(e) => {
        e.preventDefault();
        if (!errors.length) onStart();
      }}
    >
      <fieldset>
        <legend>Data</legend>
        <Field label="Dataset">
          <select
            aria-label="Dataset"
            value={f.datasetId ?? ''}
            onChange={(e) =>
              dispatch({ type: 'set', patch: { datasetId: e.target.value ? Number(e.target.value) : null } })
            }
          >
            {!state.datasets.length ? <option value="">no datasets: import one in the Datasets tab</option> : null}
            {datasetTree(state.datasets).map(({ dataset: d, depth }) => (
              <option key={d.id} value={d.id}>
                {depth ? '\u00a0\u00a0' : ''}
                {d.name} ({d.kind.toUpperCase()})
              </option>
            ))}
          </select>
        </Field>
        {dataset ? (
          <p className="muted" data-testid="dataset-facts">
            {dataset.kind.toUpperCase()} version, {dataset.aligned ? 'aligned' : 'unaligned'} features (as the dataset
            is); train/valid/test {dataset.splits.train.count}/{dataset.splits.valid.count}/{dataset.splits.test.count}
          </p>
        ) : null}
        {dataset
          ? datasetWarnings(dataset).map((w) => (
              <p key={w} className="warning" role="note" data-testid="dataset-warning">
                {w}
              </p>
            ))
          : null}
        <Field label="Task">
          <span className="segmented">
            {([3, 7] as const).map((t) => (
              <button
                key={t}
                type="button"
                className={f.task === t ? 'selected' : ''}
                aria-pressed={f.task === t}
                onClick={() => dispatch({ type: 'set', patch: { task: t } })}
              >
                {t}-class
              </button>
            ))}
          </span>
        </Field>
        <Field label="Text encoder">
          <select
            aria-label="Text encoder"
            value={f.textKind}
            onChange={(e) => dispatch({ type: 'set', patch: { textKind: e.target.value as TrainingForm['textKind'] } })}
          >
            <option value="features">dataset BERT features (no model; missing text is zeroed)</option>
            <option value="frozen">frozen BERT folder</option>
            <option value="finetune">fine-tune BERT folder (the paper; GPU)</option>
          </select>
        </Field>
        {f.textKind === 'finetune' ? (
          <div className="muted" data-testid="finetune-estimate">
            {fineTuneNote(f.batchSize)}
          </div>
        ) : null}
        {f.textKind !== 'features' ? (
          <Field label="BERT folder" hint="a bert-base-uncased-compatible folder on the machine running the services">
            <input
              aria-label="BERT folder"
              value={f.modelDir}
              onChange={(e) => dispatch({ type: 'set', patch: { modelDir: e.target.value } })}
            />
          </Field>
        ) : null}
        <Field label="Run name">
          <input
            aria-label="Run name"
            value={f.name}
            placeholder="dataset and task"
            onChange={(e) => dispatch({ type: 'set', patch: { name: e.target.value } })}
          />
        </Field>
      </fieldset>
      <fieldset>
        <legend>Optimisation</legend>
        {num('maxEpochs', 'Epochs', '1')}
        {num('batchSize', 'Batch size', '1')}
        {num('patience', 'Patience', '1')}
        {num('seed', 'Seed', '1')}
        {num('learningRate', 'Learning rate')}
        {f.textKind === 'finetune' ? num('bertLearningRate', 'BERT learning rate') : null}
        {f.textKind === 'finetune' ? num('bertWeightDecay', 'BERT weight decay') : null}
        {num('microBatchSize', 'Micro-batch (0 = off)', '1')}
        <Field label="Validation view">
          <select
            aria-label="Validation view"
            value={f.validationView}
            onChange={(e) =>
              dispatch({ type: 'set', patch: { validationView: e.target.value as TrainingForm['validationView'] } })
            }
          >
            <option value="complete">complete view (as the reference)</option>
            <option value="RMFM">RMFM at a fixed rate</option>
          </select>
        </Field>
        {f.validationView === 'RMFM' ? num('validationRate', 'Validation missing rate') : null}
        <Field label="Selection metric">
          <select
            aria-label="Selection metric"
            title="what early stopping, the best checkpoint and MACI's tau maximise on the validation split (validation loss: minimise); ties are broken by the validation loss"
            value={f.selectionMetric}
            onChange={(e) =>
              dispatch({ type: 'set', patch: { selectionMetric: e.target.value as TrainingForm['selectionMetric'] } })
            }
          >
            <option value="">{f.task === 3 ? 'Non0_acc_2 (spec default)' : 'Acc_7 (spec default)'}</option>
            {SELECTION_METRICS_BY_TASK[f.task]
              .filter((m) => m !== (f.task === 3 ? 'Non0_acc_2' : 'Acc_7'))
              .map((m) => (
                <option key={m} value={m}>
                  {m === 'validation_loss' ? 'validation loss (lower is better)' : m}
                </option>
              ))}
          </select>
        </Field>
      </fieldset>
      <fieldset>
        <legend>Model</legend>
        {num('d', 'Width d', '1')}
        {num('layers', 'Layers', '1')}
        {num('heads', 'Heads', '1')}
        {num('dropoutRelu', 'Dropout relu')}
        {num('dropoutResidual', 'Dropout residual')}
        {num('dropoutAttention', 'Dropout attention')}
        {num('dropoutEmbedding', 'Dropout embedding')}
        {num('dropoutOutput', 'Dropout output')}
      </fieldset>
      <fieldset>
        <legend>MSSD loss weights</legend>
        <label
          className="switch"
          title="spec 4: off trains on the complete view only (no missing view, no distillation losses): the paper's w/o MSSD ablation"
        >
          <input
            aria-label="MSSD"
            type="checkbox"
            checked={f.mssd}
            onChange={(e) => dispatch({ type: 'set', patch: { mssd: e.target.checked } })}
          />
          MSSD (self-distillation with the missing view; default on)
        </label>
        {f.mssd ? num('weightJoint', 'Joint weight') : null}
        {f.mssd ? num('weightAttention', 'Attention weight') : null}
        {f.mssd ? num('weightReconstruction', 'Reconstruction weight') : null}
      </fieldset>
      <fieldset>
        <legend>Reference quirks</legend>
        <label
          className="switch"
          title="spec 4: the reference zeroes gradients only before the complete-view step, so the missing-view update also applies the complete view's gradients"
        >
          <input
            type="checkbox"
            checked={f.accumulateFullViewGrad}
            onChange={(e) => dispatch({ type: 'set', patch: { accumulateFullViewGrad: e.target.checked } })}
          />
          accumulateFullViewGrad (reference, default on)
        </label>
        <label
          className="switch"
          title="spec 2.5: the reference indexes the positional table by batch position; only for weights trained by the reference code"
        >
          <input
            type="checkbox"
            checked={f.positional === 'reference'}
            onChange={(e) =>
              dispatch({ type: 'set', patch: { positional: e.target.checked ? 'reference' : 'temporal' } })
            }
          />
          positional: &apos;reference&apos; (batch-indexed table; default off = temporal)
        </label>
      </fieldset>
      {errors.length ? (
        <ul className="form-errors" data-testid="form-errors">
          {errors.map((e) => (
            <li key={e}>{e}</li>
          ))}
        </ul>
      ) : null}
      <div className="actions">
        <button type="submit" disabled={!!errors.length || state.busy} aria-busy={state.busy}>
          {state.busy ? 'Starting run...' : 'Start run'}
        </button>
        <button type="button" onClick={() => dispatch({ type: 'resetDefaults' })}>
          Paper defaults
        </button>
      </div>
      {state.error && state.errorAt === 'form' ? (
        <p role="alert" className="field-error" data-testid="start-error">
          {state.error}
        </p>
      ) : null}
    </form>
  );
}

function paperValue(name: keyof TrainingForm): string {
  const p = PAPER_DEFAULTS;
  const table: Partial<Record<keyof TrainingForm, unknown>> = {
    maxEpochs: p.maxEpochs,
    batchSize: p.batchSize,
    patience: p.patience,
    seed: p.seed,
    learningRate: p.learningRate,
    bertLearningRate: p.bertLearningRate,
    bertWeightDecay: p.bertWeightDecay,
    d: p.model.d,
    layers: p.model.layers,
    heads: p.model.heads,
    dropoutRelu: p.model.dropouts.relu,
    dropoutResidual: p.model.dropouts.residual,
    dropoutAttention: p.model.dropouts.attention,
    dropoutEmbedding: p.model.dropouts.embedding,
    dropoutOutput: p.model.dropouts.output,
    weightJoint: p.lossWeights.joint,
    weightAttention: p.lossWeights.attention,
    weightReconstruction: p.lossWeights.reconstruction,
  };
  return name in table ? String(table[name]) : 'n/a';
}

function RunPicker({ state, dispatch }: { state: TrainingState; dispatch: Dispatch<TrainingAction> }) {
  if (!state.runs.length) return null;
  return (
    <label className="run-picker">
      Watching{' '}
      <select
        aria-label="Watched run"
        value={state.live?.run.id ?? ''}
        onChange={(e) => {
          const run = state.runs.find((r) => r.id === Number(e.target.value));
          if (run) dispatch({ type: 'watch', run });
        }}
      >
        {state.runs.map((r) => (
          <option key={r.id} value={r.id}>
            #{r.id} {r.name} ({r.status})
          </option>
        ))}
      </select>
    </label>
  );
}

function LivePanel({
  api,
  state,
  dispatch,
  status,
}: {
  api: Api;
  state: TrainingState;
  dispatch: Dispatch<TrainingAction>;
  status: AppStatus | null;
}) {
  const live = state.live!;
  const run = live.run;
  const progress = epochProgress(live);
  const act = (p: Promise<unknown>) => p.catch((e: Error) => dispatch({ type: 'error', message: e.message }));
  const backend = status?.backend;
  const epochsCurve = live.epochs;
  return (
    <div className="live" data-testid="live-run" data-run-id={run.id} data-status={run.status}>
      <h2>
        #{run.id} {run.name}{' '}
        <span className={`run-status ${run.status}`} data-testid="run-status">
          {run.status}
        </span>
      </h2>
      <p className="facts">
        <span data-testid="epochs-done">
          epochs {run.epochsDone}/{run.options.maxEpochs}
        </span>
        <span>
          best {run.selectionMetric} {run.bestMetric === null ? 'n/a' : run.bestMetric.toFixed(4)}
          {run.bestEpoch ? ` @${run.bestEpoch}` : ''}
        </span>
        <span data-testid="backend-in-use" title={backend?.reason}>
          backend {run.engine ?? (backend ? `tfjs-${backend.name}` : '...')}{' '}
          {backend ? (backend.gpu ? '(GPU)' : '(CPU)') : ''}
        </span>
        <span data-testid="memory">
          memory{' '}
          {live.memory
            ? `${formatBytes(live.memory.rssBytes)} RSS (app process), ${formatBytes(live.memory.heapUsedBytes)} worker heap`
            : 'n/a'}
        </span>
      </p>
      {run.error && run.status !== 'completed' ? <p className="muted">{run.error.message}</p> : null}
      <div className="actions">
        {isTraining(run) ? <button onClick={() => void act(api.runs.stop({ id: run.id }))}>Stop</button> : null}
        {isResumable(run) ? (
          <button
            disabled={state.busy}
            onClick={() => {
              dispatch({ type: 'busy' });
              void act(
                api.runs.resume({ id: run.id }).then(({ run: r, job }) => dispatch({ type: 'started', run: r, job })),
              );
            }}
          >
            {state.busy ? 'Resuming...' : `Resume from epoch ${run.epochsDone}`}
          </button>
        ) : null}
        <button onClick={() => dispatch({ type: 'clone', run })}>Clone settings</button>
      </div>
      {progress && isTraining(run) ? (
        <div
          className="epoch-progress"
          data-testid="epoch-progress"
          data-epoch={progress.epoch}
          data-batch={progress.batch}
        >
          <div>
            epoch {progress.epoch}/{progress.maxEpochs}, batch {progress.batch}/{progress.batches}
          </div>
          <progress max={1} value={progress.fraction} aria-label={`epoch ${progress.epoch} progress`} />
          <div className="muted" data-testid="time-left">
            epoch: {formatDuration(progress.epochLeftMs)} left; run: at most {formatDuration(progress.runLeftMs)} left
            {progress.estimated ? ' (estimated from the fine-tuning bench until batches are timed)' : ''}
            {progress.msPerBatch !== null ? ` (${Math.round(progress.msPerBatch)} ms per batch)` : ''}
          </div>
        </div>
      ) : null}
      <div className="charts">
        {live.batches.length ? (
          <LineChart
            title="Batch losses (this session)"
            series={batchLossSeries(live.batches)}
            xLabel="epoch"
            testId="chart-batch-losses"
          />
        ) : null}
        <LineChart
          title="Epoch losses by component"
          series={epochLossSeries(epochsCurve)}
          xLabel="epoch"
          integerX
          testId="chart-epoch-losses"
        />
        <LineChart
          title="Validation metrics"
          series={validationSeries(epochsCurve)}
          xLabel="epoch"
          integerX
          yDomain={[0, 1]}
          testId="chart-validation"
        />
      </div>
    </div>
  );
}
