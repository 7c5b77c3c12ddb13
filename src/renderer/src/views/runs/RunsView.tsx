/**
 * Runs: every run with its settings, status, best validation metric and test results; tick two or
 * more to compare them side by side (settings that differ, curves overlaid, final metrics).
 */
import { useCallback, useEffect, useReducer } from 'react';
import type { Api } from '../../../../shared/api';
import type { EvaluationRecord, RunRecord } from '../../../../shared/contract/training';
import { isEpochEnd, isJobOf, type JobRecord } from '../../../../shared/jobs';
import type { Transport } from '../../api/client';
import { LineChart } from '../../components/LineChart';
import {
  compared,
  curveNames,
  finalMetrics,
  initialRuns,
  metricNames,
  overlaidCurves,
  ROW_ACTION_LABEL,
  runsReducer,
  settingsDiff,
  type PendingWork,
  type RowAction,
} from '../../state/runs';
import { isResumable, isTraining } from '../../state/training';
import '../training/training.css';

const fmt = (x: number | null | undefined) =>
  x === null || x === undefined || !Number.isFinite(x) ? 'n/a' : x.toFixed(4);

export function RunsView({ api, transport }: { api: Api; transport: Transport }) {
  const [state, dispatch] = useReducer(runsReducer, initialRuns);
  const fail = useCallback((e: Error) => dispatch({ type: 'error', message: e.message }), []);

  const reload = useCallback(async () => {
    try {
      const list = await api.runs.list({});
      dispatch({ type: 'loaded', list });
      await Promise.all(
        list.map(async (r) => {
          const [epochs, evaluations] = await Promise.all([
            api.runs.epochs({ id: r.id }),
            api.runs.evaluations({ id: r.id }),
          ]);
          dispatch({ type: 'detailLoaded', id: r.id, epochs, evaluations });
        }),
      );
    } catch (e) {
      fail(e as Error);
    }
  }, [api, fail]);

  useEffect(() => {
    void reload();
    return transport.onEvent((e) => {
      dispatch({ type: 'event', event: e });
      if (e.type !== 'job.updated' || !isJobOf(e.job, 'train', 'evaluate', 'search')) return;
      if (e.job.status !== 'running' || isEpochEnd(e.job)) void reload();
    });
  }, [transport, reload]);

  // the row shows the work as started at once; the call's answer (a job, or the run) comes later
  const rowAction = (id: number, action: RowAction, call: () => Promise<JobRecord | null>) => {
    dispatch({ type: 'rowStarting', id, action });
    call().then(
      (job) => {
        dispatch({ type: 'rowStarted', id, job });
        void reload();
      },
      (e: Error) => dispatch({ type: 'rowFailed', id, message: e.message }),
    );
  };
  const chosen = compared(state);
  return (
    <div className="runs-view">
      <section className="runs-detail" aria-label="Runs">
        <h2>Runs</h2>
        {state.error ? (
          <p role="alert" className="error">
            {state.error}
          </p>
        ) : null}
        {!state.loading && !state.list.length ? (
          <p className="muted">No runs yet: start one in the Training tab.</p>
        ) : null}
        <table className="runs-table" data-testid="runs-table">
          <thead>
            <tr>
              <th>compare</th>
              <th>#</th>
              <th>name</th>
              <th>status</th>
              <th>task</th>
              <th>text</th>
              <th>model</th>
              <th>epochs</th>
              <th>best validation</th>
              <th>test (complete view)</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {state.list.map((r) => (
              <RunRow
                key={r.id}
                run={r}
                test={finalMetrics(state, r).test}
                selected={state.compare.includes(r.id)}
                onToggle={() => dispatch({ type: 'toggle', id: r.id })}
                api={api}
                pending={state.pending[r.id] ?? null}
                rowError={state.rowErrors[r.id] ?? null}
                rowAction={rowAction}
              />
            ))}
          </tbody>
        </table>
        <EvaluationList state={state} />
      </section>
      {chosen.length >= 2 ? (
        <section className="runs-detail" aria-label="Comparison" data-testid="comparison">
          <h2>Comparing {chosen.map((r) => `#${r.id}`).join(', ')}</h2>
          <h3>Settings that differ</h3>
          <SettingsDiff runs={chosen} />
          <h3>Curves</h3>
          <label>
            curve{' '}
            <select
              aria-label="Curve"
              value={state.curve}
              onChange={(e) => dispatch({ type: 'curve', name: e.target.value })}
            >
              {curveNames(state).map((n) => (
                <option key={n} value={n}>
                  {n === 'validation:selection' ? 'validation: each run\u2019s selection metric' : n.replace(':', ': ')}
                </option>
              ))}
            </select>
          </label>
          <LineChart
            title={state.curve.replace(':', ': ')}
            series={overlaidCurves(state)}
            xLabel="epoch"
            integerX
            width={560}
            height={240}
            testId="chart-compare"
          />
          <h3>Final metrics</h3>
          <FinalTable state={state} runs={chosen} />
        </section>
      ) : (
        <p className="muted">Tick two or more runs to compare them.</p>
      )}
    </div>
  );
}

function RunRow({
  run: r,
  test,
  selected,
  onToggle,
  api,
  pending,
  rowError,
  rowAction,
}: {
  run: RunRecord;
  test: Record<string, number> | null;
  selected: boolean;
  onToggle: () => void;
  api: Api;
  pending: PendingWork | null;
  rowError: string | null;
  rowAction: (id: number, action: RowAction, call: () => Promise<JobRecord | null>) => void;
}) {
  const o = r.options;
  return (
    <tr className={selected ? 'selected' : ''} data-testid="run-row" data-run-id={r.id} data-status={r.status}>
      <td>
        <input type="checkbox" aria-label={`compare run ${r.id}`} checked={selected} onChange={onToggle} />
      </td>
      <td>{r.id}</td>
      <td>{r.name}</td>
      <td>
        <span className={`run-status ${r.status}`}>{r.status}</span>
      </td>
      <td>{o.task}-class</td>
      <td>{o.text.kind}</td>
      <td
        title={`dropouts ${JSON.stringify(o.model.dropouts)}; loss weights ${JSON.stringify(o.lossWeights)}; lr ${o.learningRate}; batch ${o.batchSize}; seed ${o.seed}`}
      >
        d {o.model.d}, {o.model.layers} layers, {o.model.heads} heads
      </td>
      <td>
        {r.epochsDone}/{o.maxEpochs}
      </td>
      <td data-testid="best-metric">
        {r.selectionMetric} {fmt(r.bestMetric)}
        {r.bestEpoch ? ` @${r.bestEpoch}` : ''}
      </td>
      <td data-testid="test-metric">
        {test ? `${r.selectionMetric} ${fmt(test[r.selectionMetric])}` : 'not evaluated'}
      </td>
      <td className="actions" data-testid="run-actions">
        {pending ? (
          <span className="row-busy" role="status" data-testid="row-busy" data-action={pending.action}>
            <progress max={1} value={pending.job?.progress.fraction ?? undefined} /> {ROW_ACTION_LABEL[pending.action]}
            {pending.job
              ? ` (job #${pending.job.id} ${pending.job.status}${pending.job.progress.message ? `: ${pending.job.progress.message}` : ''})`
              : '...'}
            {pending.job && (pending.job.status === 'queued' || pending.job.status === 'running') ? (
              <button onClick={() => void api.jobs.cancel({ id: pending.job!.id })}>Cancel</button>
            ) : null}
          </span>
        ) : (
          <>
            {isTraining(r) ? (
              <button onClick={() => rowAction(r.id, 'stop', () => api.runs.stop({ id: r.id }).then(() => null))}>
                Stop
              </button>
            ) : null}
            {isResumable(r) ? (
              <button onClick={() => rowAction(r.id, 'resume', () => api.runs.resume({ id: r.id }).then((x) => x.job))}>
                Resume
              </button>
            ) : null}
            {r.epochsDone > 0 && !isTraining(r) ? (
              <button
                onClick={() =>
                  rowAction(r.id, 'evaluate', () =>
                    api.runs.evaluate({ id: r.id, options: { protocols: ['complete'] } }),
                  )
                }
              >
                Evaluate on test
              </button>
            ) : null}
          </>
        )}
        {rowError ? (
          <p className="field-error" role="alert" data-testid="row-error">
            {rowError}
          </p>
        ) : null}
      </td>
    </tr>
  );
}

function SettingsDiff({ runs }: { runs: RunRecord[] }) {
  const rows = settingsDiff(runs);
  if (!rows.length) return <p className="muted">Same settings.</p>;
  return (
    <table className="settings-diff" data-testid="settings-diff">
      <thead>
        <tr>
          <th>setting</th>
          {runs.map((r) => (
            <th key={r.id}>#{r.id}</th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.map((row) => (
          <tr key={row.key} data-setting={row.key}>
            <td>{row.key}</td>
            {row.values.map((v, i) => (
              <td key={i}>{v}</td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function FinalTable({ state, runs }: { state: Parameters<typeof finalMetrics>[0]; runs: RunRecord[] }) {
  const finals = runs.map((r) => finalMetrics(state, r));
  const names = metricNames(finals);
  return (
    <table className="final-metrics" data-testid="final-metrics">
      <thead>
        <tr>
          <th>metric</th>
          {runs.map((r) => (
            <th key={r.id} colSpan={2}>
              #{r.id} (best epoch {r.bestEpoch ?? 'n/a'})
            </th>
          ))}
        </tr>
        <tr>
          <th />
          {runs.map((r) => [<th key={`${r.id}v`}>validation</th>, <th key={`${r.id}t`}>test</th>])}
        </tr>
      </thead>
      <tbody>
        {names.map((n) => (
          <tr key={n}>
            <td>{n}</td>
            {finals.map((f) => [
              <td key={`${f.runId}v`}>{fmt(f.validation[n])}</td>,
              <td key={`${f.runId}t`}>{f.test ? fmt(f.test[n]) : '-'}</td>,
            ])}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Every stored evaluation, newest first, with the engine that computed it (ONNX Runtime or TF.js). */
function EvaluationList({ state }: { state: { list: RunRecord[]; evaluations: Record<number, EvaluationRecord[]> } }) {
  const rows = state.list
    .flatMap((r) => (state.evaluations[r.id] ?? []).map((e) => ({ run: r, e })))
    .sort((a, b) => b.e.id - a.e.id);
  if (!rows.length) return null;
  const headline = (e: EvaluationRecord): string => {
    if (e.auilc) {
      const [name, v] = Object.entries(e.auilc).find(([, x]) => x !== null) ?? [];
      if (name) return `AUILC ${name} ${(v as number).toFixed(4)}`;
    }
    const first = e.points[0];
    const [name, v] = Object.entries(first?.metrics ?? {})[0] ?? [];
    return name ? `${name} ${(v as number).toFixed(4)}` : '';
  };
  /** MACI: the rule behind the figures, every rule's tau, and the balanced rule's strata / effective sample size */
  const tauRuleText = (e: EvaluationRecord): { short: string; detail: string } | null => {
    const m = e.points.find((p) => p.maci)?.maci;
    if (!m) return null;
    const rule = m.tauRule ?? 'validation';
    const taus = m.taus
      ? `validation ${m.taus.validation}, balanced ${m.taus.balanced ?? 'n/a'}, reference ${m.taus.reference}`
      : `${rule} ${m.selectedTau}`;
    const ess = m.balanced
      ? `; ESS ${m.balanced.effectiveSampleSize.toFixed(1)}/${m.balanced.n}, ${m.balanced.strata} strata`
      : '';
    return {
      short: `tau rule ${rule} (${taus})${ess}`,
      detail: m.balanced?.description ?? '',
    };
  };
  return (
    <>
      <h3>Evaluations</h3>
      <table className="runs-table" data-testid="evaluations-table">
        <thead>
          <tr>
            <th>#</th>
            <th>run</th>
            <th>protocol</th>
            <th>checkpoint</th>
            <th>points</th>
            <th>result</th>
            <th>tau rule</th>
            <th>engine</th>
          </tr>
        </thead>
        <tbody>
          {rows.map(({ run, e }) => (
            <tr key={e.id}>
              <td>{e.id}</td>
              <td>
                #{run.id} {run.name}
              </td>
              <td>{e.protocol}</td>
              <td>{e.checkpoint}</td>
              <td>{e.points.length}</td>
              <td>{headline(e)}</td>
              <td data-testid="evaluation-tau-rule" title={tauRuleText(e)?.detail}>
                {tauRuleText(e)?.short ?? ''}
              </td>
              <td data-testid="evaluation-engine" title={e.textNote}>
                {e.engine}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
