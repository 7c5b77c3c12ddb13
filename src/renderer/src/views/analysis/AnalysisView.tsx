/**
 * Analysis: for a trained run, (1) the inspector of one sample with the missing-modality simulator
 * and the counterfactual text editor, (2) robustness curves of several runs overlaid, (3) the IID
 * vs OOD comparison. Per-sample figures come straight from the analysis service; sweeps and
 * comparisons are jobs (progress, cancel) whose stored results are read back.
 */
import { useCallback, useEffect, useReducer, useState } from 'react';
import type { Api } from '../../../../shared/api';
import type {
  CounterfactualResult,
  OodComparison,
  RobustnessSweep,
  SplitSide,
  TextEdit,
} from '../../../../shared/contract/analysis';
import type { RunRecord, TauRule } from '../../../../shared/contract/training';
import type { Dataset } from '../../../../shared/contract/datasets';
import { isJobOf, type JobRecord } from '../../../../shared/jobs';
import type { Transport } from '../../api/client';
import { RobustnessRuns } from './RobustnessRuns';
import { LineChart } from '../../components/LineChart';
import {
  analysisReducer,
  ALIGNED_ONLY,
  debiasedAt,
  defaultProtocols,
  describeSimulator,
  PROTOCOL_HELP,
  runsWithoutSweep,
  initialAnalysis,
  SIM_MODALITIES,
  robustnessCharts,
  type AnalysisAction,
  type AnalysisState,
} from '../../state/analysis';
import { CLASS_COLORS, Confusion, fmt, Heatmap, ProbabilityBars, ShapleyBars, TokenChips } from './parts';
import './analysis.css';

const PROTOCOL_CHOICES = Object.keys(PROTOCOL_HELP);

type Dispatch = (a: AnalysisAction) => void;

const RULE_MARK: Record<TauRule, { label: string; color: string }> = {
  validation: { label: 'validation', color: '#000' },
  balanced: { label: 'balanced validation', color: '#1565c0' },
  reference: { label: 'reference (test, optimistic)', color: '#c62828' },
};

/** Every tau rule's tau for the slider and the chart (older results: the validation tau only). */
function ruleMarks(
  cf: CounterfactualResult,
): { rule: TauRule; tau: number; source: string; label: string; color: string }[] {
  const taus = cf.ruleTaus ?? { validation: cf.validationTau, balanced: null, reference: null };
  return (['validation', 'balanced', 'reference'] as const).flatMap((rule) => {
    const t = taus[rule];
    return t ? [{ rule, tau: t.tau, source: t.source, ...RULE_MARK[rule] }] : [];
  });
}

export function AnalysisView({ api, transport }: { api: Api; transport: Transport }) {
  const [state, dispatch] = useReducer(analysisReducer, initialAnalysis);
  const [runs, setRuns] = useState<RunRecord[]>([]);
  const [jobs, setJobs] = useState<Record<string, JobRecord>>({});
  const fail = useCallback((e: Error) => dispatch({ type: 'error', message: e.message }), []);
  // a job being started (shown from the click on) or the reason it could not start, by job kind
  const [starting, setStarting] = useState<Record<string, { error: string | null } | undefined>>({});
  const startJob = useCallback((kind: string, call: () => Promise<JobRecord>) => {
    setStarting((s) => ({ ...s, [kind]: { error: null } }));
    call().then(
      (job) => {
        // an event may already have brought a newer record of this job
        setJobs((j) => (j[kind]?.id === job.id ? j : { ...j, [kind]: job }));
        setStarting((s) => ({ ...s, [kind]: undefined }));
      },
      (e: Error) => setStarting((s) => ({ ...s, [kind]: { error: e.message } })),
    );
  }, []);

  useEffect(() => {
    api.runs.list({}).then((list) => {
      const usable = list.filter((r) => r.epochsDone > 0);
      setRuns(usable);
      if (usable.length) dispatch({ type: 'run', runId: usable[0].id });
    }, fail);
    return transport.onEvent((e) => {
      if (e.type === 'job.updated' && isJobOf(e.job, 'analysis.robustness', 'analysis.compareOod'))
        setJobs((j) => ({ ...j, [e.job.kind]: e.job }));
    });
  }, [api, transport, fail]);

  const run = runs.find((r) => r.id === state.runId) ?? null;
  return (
    <div className="analysis-view">
      <header className="analysis-head">
        <label>
          Run{' '}
          <select
            aria-label="Run"
            value={state.runId ?? ''}
            onChange={(e) =>
              dispatch({
                type: 'run',
                runId: e.target.value ? Number(e.target.value) : null,
              })
            }
          >
            {runs.map((r) => (
              <option key={r.id} value={r.id}>
                {r.id}: {r.name} ({r.options.text.kind})
              </option>
            ))}
          </select>
        </label>
        <nav className="subtabs" role="tablist" aria-label="Analysis sections">
          {(
            [
              ['inspector', 'Inspector'],
              ['robustness', 'Robustness'],
              ['ood', 'IID vs OOD'],
            ] as const
          ).map(([id, label]) => (
            <button
              key={id}
              role="tab"
              aria-selected={state.section === id}
              onClick={() => dispatch({ type: 'section', section: id })}
            >
              {label}
            </button>
          ))}
        </nav>
      </header>
      {state.error ? (
        <p role="alert" className="error">
          {state.error}
        </p>
      ) : null}
      {!runs.length ? <p className="muted">No trained run yet: train one in the Training tab.</p> : null}
      {run && (run.status === 'running' || run.status === 'queued') ? (
        <p className="warning" role="note" data-testid="run-still-training">
          Run #{run.id} is still training ({run.epochsDone} of {run.options.maxEpochs} epochs done): these figures come
          from its best checkpoint so far and will change as it trains.
        </p>
      ) : null}
      {run && state.section === 'inspector' ? (
        <Inspector api={api} run={run} state={state} dispatch={dispatch} fail={fail} />
      ) : null}
      {run && state.section === 'robustness' ? (
        <Robustness
          api={api}
          transport={transport}
          state={state}
          dispatch={dispatch}
          runs={runs}
          job={jobs['analysis.robustness'] ?? null}
          starting={starting['analysis.robustness']}
          startJob={startJob}
          fail={fail}
        />
      ) : null}
      {run && state.section === 'ood' ? (
        <OodSection
          api={api}
          run={run}
          job={jobs['analysis.compareOod'] ?? null}
          starting={starting['analysis.compareOod']}
          startJob={startJob}
          fail={fail}
        />
      ) : null}
    </div>
  );
}

type Starting = { error: string | null } | undefined;
type StartJob = (kind: string, call: () => Promise<JobRecord>) => void;

function JobBar({ job, api, starting, kind }: { job: JobRecord | null; api: Api; starting: Starting; kind: string }) {
  if (starting?.error)
    return (
      <p className="field-error" role="alert" data-testid={`job-${kind}-error`}>
        could not start: {starting.error}
      </p>
    );
  if (starting)
    return (
      <div className="job-bar" data-testid={`job-${kind}`} data-status="starting" role="status">
        <progress max={1} />
        <span>starting...</span>
      </div>
    );
  if (!job) return null;
  const running = job.status === 'queued' || job.status === 'running';
  return (
    <div className="job-bar" data-testid={`job-${job.kind}`} data-status={job.status}>
      <progress max={1} value={job.progress.fraction ?? 0} />
      <span>
        {job.status} {job.progress.fraction !== null ? `${Math.round(100 * job.progress.fraction)}%` : ''}{' '}
        {job.progress.message}
        {job.error ? ` (${job.error.message})` : ''}
      </span>
      {running ? (
        <button type="button" onClick={() => void api.jobs.cancel({ id: job.id })}>
          Cancel
        </button>
      ) : null}
    </div>
  );
}

function Inspector({
  api,
  run,
  state,
  dispatch,
  fail,
}: {
  api: Api;
  run: RunRecord;
  state: AnalysisState;
  dispatch: Dispatch;
  fail: (e: Error) => void;
}) {
  const [loadedKey, setLoadedKey] = useState('');
  const [edits, setEdits] = useState<TextEdit[]>([]);
  const [editName, setEditName] = useState('my edit');
  const [replacement, setReplacement] = useState('');
  const target = {
    kind: 'sample' as const,
    split: state.split,
    index: state.index,
  };
  const runId = state.runId!;
  const missingKey = JSON.stringify(state.missing);
  const editKey = JSON.stringify(state.editTokens);
  const requestKey = `${runId}|${state.split}|${state.index}|${missingKey}|${editKey}`;
  const busy = loadedKey !== requestKey;

  const loadEdits = useCallback(
    () =>
      api.analysis
        .edits({
          runId,
          target: { kind: 'sample', split: state.split, index: state.index },
        })
        .then(setEdits, fail),
    [api, runId, state.split, state.index, fail],
  );

  useEffect(() => {
    let live = true;
    const missing = JSON.parse(missingKey) as AnalysisState['missing'];
    const tokenIds = JSON.parse(editKey) as number[] | null;
    const t = {
      kind: 'sample' as const,
      split: state.split,
      index: state.index,
    };
    Promise.all([
      api.analysis.explain({ runId, target: t, missing }),
      api.analysis.counterfactual({
        runId,
        target: t,
        missing,
        tokenIds: tokenIds ?? undefined,
      }),
    ])
      .then(([x, cf]) => {
        if (!live) return;
        dispatch({ type: 'explained', explanation: x });
        dispatch({ type: 'counterfactual', result: cf });
      }, fail)
      .finally(() => live && setLoadedKey(`${runId}|${state.split}|${state.index}|${missingKey}|${editKey}`));
    return () => {
      live = false;
    };
  }, [api, runId, state.split, state.index, missingKey, editKey, dispatch, fail]);
  useEffect(() => {
    void loadEdits();
  }, [loadEdits]);

  const x = state.explanation;
  const cf = state.counterfactual;
  const sim = state.simulator;
  // why the editor cannot work on this run (features-mode runs have no BERT to score edited text)
  const editBlocked =
    cf && !cf.available ? (cf.reason ?? 'counterfactual predictions are unavailable for this run') : null;
  const replaceBlocked =
    editBlocked ??
    (run.options.text.kind === 'features'
      ? `run ${run.id} reads the dataset's precomputed text features and has no BERT vocabulary, so new words cannot be encoded`
      : null);
  // an error shown next to the control that caused it, cleared by the next use of the editor
  const [toolError, setToolError] = useState<{ control: 'replace' | 'save' | 'edits'; message: string } | null>(null);
  const failAt = (control: 'replace' | 'save' | 'edits') => (e: Error) => setToolError({ control, message: e.message });
  const d = cf ? debiasedAt(cf, state.tau) : null;
  const selected = state.selectedPosition;

  return (
    <div className="inspector">
      <section className="panel" aria-label="Sample">
        <h3>Sample</h3>
        <label>
          Split{' '}
          <select
            aria-label="Split"
            value={state.split}
            onChange={(e) =>
              dispatch({
                type: 'target',
                split: e.target.value as AnalysisState['split'],
              })
            }
          >
            <option value="train">train</option>
            <option value="valid">valid</option>
            <option value="test">test</option>
          </select>
        </label>{' '}
        <label>
          Index{' '}
          <input
            aria-label="Sample index"
            type="number"
            min={0}
            value={state.index}
            onChange={(e) => dispatch({ type: 'target', index: Number(e.target.value) })}
            style={{ width: 70 }}
          />
        </label>{' '}
        {busy ? <span className="muted">computing...</span> : null}
        <h3>Missing-modality simulator</h3>
        <div className="simulator" data-testid="simulator">
          {SIM_MODALITIES.map((mod) => (
            <div key={mod} className="sim-row">
              <label>
                <input
                  type="checkbox"
                  aria-label={`${mod} present`}
                  checked={!sim.removed[mod]}
                  onChange={(e) => dispatch({ type: 'sim-remove', modality: mod, removed: !e.target.checked })}
                />{' '}
                {mod}
              </label>
              <input
                type="range"
                aria-label={`${mod} missing rate`}
                min={0}
                max={1}
                step={0.1}
                disabled={sim.removed[mod]}
                title={sim.removed[mod] ? `${mod} is removed: tick it to set a missing rate` : undefined}
                value={sim.removed[mod] ? 1 : sim.rates[mod]}
                onChange={(e) => dispatch({ type: 'sim-rate', modality: mod, rate: Number(e.target.value) })}
              />
              <span className="sim-rate" data-testid={`${mod}-rate`}>
                {sim.removed[mod] ? 'removed' : `rate ${sim.rates[mod].toFixed(1)}`}
              </span>
              <span className="muted">{x ? `${Math.round(100 * x.dropped[mod])}% dropped` : ''}</span>
            </div>
          ))}
          <button type="button" onClick={() => dispatch({ type: 'missing', missing: { mode: 'complete' } })}>
            Complete view
          </button>
          <p className="sim-summary" data-testid="simulator-summary" aria-live="polite">
            {describeSimulator(sim)}
          </p>
        </div>
      </section>

      {x ? (
        <section className="panel" aria-label="Prediction" data-testid="inspector">
          <h3>{x.label}</h3>
          <p className="muted">
            truth <b data-testid="truth">{x.truth === null ? 'n/a' : x.classNames[x.truth]}</b>, prediction{' '}
            <b data-testid="prediction">{x.classNames[x.prediction]}</b> · {x.engine} · {x.textNote}
          </p>
          <div className="row">
            <ProbabilityBars
              values={x.probabilities}
              names={x.classNames}
              testId="probabilities"
              title="P(class | view)"
            />
            <ShapleyBars shapley={x.shapley} cls={x.prediction} className={x.classNames[x.prediction]} />
            <ProbabilityBars
              values={x.subsets['']}
              names={x.classNames}
              testId="p-none"
              title="P(class | all missing)"
            />
          </div>
          <h4>Transcript (bias-dictionary words highlighted)</h4>
          <TokenChips tokens={x.tokens} testId="transcript" />
          <div className="row">
            <Heatmap
              rows={x.attentionSegments}
              rowLabels={['text', 'audio', 'vision']}
              colLabel="key segment text / audio / vision"
              title="Last MCT layer: attention by segment pair"
              testId="attention-segments"
              maxCols={3}
              cell={22}
            />
            <Heatmap
              rows={[
                x.attentionWords.map((w) => w.toText),
                x.attentionWords.map((w) => w.toAudio),
                x.attentionWords.map((w) => w.toVision),
                x.attentionWords.map((w) => w.received),
              ]}
              rowLabels={['to text', 'to audio', 'to vision', 'received']}
              colLabel="word positions"
              title="Per word"
              testId="attention-words"
              cell={14}
            />
          </div>
          {x.wsam ? (
            <div className="row">
              <Heatmap
                rows={x.wsam.audio}
                rowLabels={x.wsam.words.map((p) => x.tokens[p]?.token ?? String(p))}
                colLabel="audio frames"
                title="WSAM word-to-frame map, audio"
                testId="wsam-audio"
              />
              <Heatmap
                rows={x.wsam.vision}
                rowLabels={x.wsam.words.map((p) => x.tokens[p]?.token ?? String(p))}
                colLabel="vision frames"
                title="WSAM word-to-frame map, vision"
                testId="wsam-vision"
              />
            </div>
          ) : (
            <p className="muted">Aligned data: no WSAM maps (audio and vision are already at word level).</p>
          )}
        </section>
      ) : null}

      {cf ? (
        <section className="panel" aria-label="Counterfactual text" data-testid="counterfactual">
          <h3>Counterfactual text editor</h3>
          <p className="muted">Automatic counterfactual: bias words and special tokens kept, the rest [MASK]</p>
          <TokenChips tokens={cf.automatic} testId="cf-automatic" />
          <p className="muted">
            Scored text {state.editTokens ? '(edited)' : '(automatic)'}
            {editBlocked ? '' : ': click a token, then mask, delete or replace it'}
          </p>
          <TokenChips
            tokens={cf.scored}
            testId="cf-scored"
            onSelect={(i) => dispatch({ type: 'select-token', position: i })}
            selected={selected}
            names={state.editNames}
          />
          {editBlocked ? (
            <p className="warning" role="note" data-testid="cf-blocked" data-reason={editBlocked}>
              Editing is off for this run: {editBlocked.replace(/\.$/, '')}.
            </p>
          ) : null}
          <div className="edit-tools" data-testid="cf-tools">
            {(['mask', 'delete'] as const).map((kind) => (
              <button
                key={kind}
                type="button"
                disabled={selected === null || !!editBlocked}
                onClick={() => {
                  setToolError(null);
                  dispatch({ type: 'edit', op: { kind, position: selected! } });
                }}
              >
                {kind === 'mask' ? 'Mask' : 'Delete'}
              </button>
            ))}
            <input
              aria-label="Replacement word"
              value={replacement}
              disabled={!!replaceBlocked}
              onChange={(e) => setReplacement(e.target.value)}
              placeholder="new word"
              style={{ width: 110 }}
            />
            <button
              type="button"
              disabled={selected === null || !replacement.trim() || !!replaceBlocked}
              title={replaceBlocked ?? undefined}
              onClick={() => {
                setToolError(null);
                api.analysis.tokenize({ runId, text: replacement }).then(
                  (t) =>
                    dispatch({
                      type: 'edit',
                      op: {
                        kind: 'replace',
                        position: selected!,
                        ids: t.ids,
                        tokens: t.tokens,
                      },
                    }),
                  failAt('replace'),
                );
              }}
            >
              Replace
            </button>
            <button type="button" disabled={!!editBlocked} onClick={() => dispatch({ type: 'reset-edit' })}>
              Reset to automatic
            </button>
          </div>
          {replaceBlocked && !editBlocked ? (
            <p className="muted" data-testid="replace-blocked">
              Replace is off: {replaceBlocked}.
            </p>
          ) : null}
          {toolError?.control === 'replace' ? (
            <p className="field-error" role="alert" data-testid="replace-error">
              {toolError.message}
            </p>
          ) : null}
          {!cf.available ? null : (
            <>
              <div className="row">
                <ProbabilityBars values={cf.factual} names={cf.classNames} testId="cf-factual" title="P(y | view)" />
                <ProbabilityBars
                  values={cf.counterfactual!}
                  names={cf.classNames}
                  testId="cf-prediction"
                  title="P(y | counterfactual view)"
                />
                {d ? (
                  <ProbabilityBars
                    values={d.probabilities}
                    names={cf.classNames}
                    testId="cf-debiased"
                    title={`debiased at tau = ${d.tau.toFixed(1)} -> ${cf.classNames[d.prediction]}`}
                  />
                ) : null}
              </div>
              <label className="tau">
                tau{' '}
                <input
                  type="range"
                  aria-label="tau"
                  min={0}
                  max={3}
                  step={0.1}
                  value={state.tau}
                  list="rule-tau-marks"
                  onChange={(e) => dispatch({ type: 'tau', tau: Number(e.target.value) })}
                />{' '}
                <datalist id="rule-tau-marks">
                  {ruleMarks(cf).map((m) => (
                    <option key={m.rule} value={m.tau} label={m.label} />
                  ))}
                </datalist>
                {state.tau.toFixed(1)}
                <span className="muted" data-testid="validation-tau">
                  {cf.validationTau
                    ? ` validation-chosen tau = ${cf.validationTau.tau} (${cf.validationTau.source})`
                    : ' no tau chosen on validation yet (run the IID vs OOD comparison)'}
                </span>
                <span className="muted" data-testid="rule-taus">
                  {' '}
                  {ruleMarks(cf)
                    .filter((m) => m.rule !== 'validation')
                    .map((m) => `${m.label} tau = ${m.tau} (${m.source})`)
                    .join('; ')}
                </span>
              </label>
              <LineChart
                title="Debiased class scores over tau (normalised); | marks each tau rule's tau"
                xLabel="tau"
                testId="tau-chart"
                yDomain={[0, 1]}
                series={[
                  ...cf.classNames.map((n, c) => ({
                    name: n,
                    color: CLASS_COLORS[c % CLASS_COLORS.length],
                    points: cf.debiased.map((p) => ({
                      x: p.tau,
                      y: p.probabilities[c],
                    })),
                  })),
                  ...ruleMarks(cf).map((m) => ({
                    name: `${m.label} tau ${m.tau}`,
                    color: m.color,
                    dashed: true,
                    points: [
                      { x: m.tau, y: 0 },
                      { x: m.tau, y: 1 },
                    ],
                  })),
                  {
                    name: `tau ${state.tau.toFixed(1)}`,
                    color: '#aaa',
                    points: [
                      { x: state.tau, y: 0 },
                      { x: state.tau, y: 1 },
                    ],
                  },
                ]}
              />
              <div className="edit-tools">
                <input aria-label="Edit name" value={editName} onChange={(e) => setEditName(e.target.value)} />
                <button
                  type="button"
                  onClick={() =>
                    api.analysis
                      .saveEdit({
                        runId,
                        target,
                        name: editName,
                        tokenIds: state.editTokens ?? cf.scored.map((t) => t.id),
                        missing: state.missing,
                      })
                      .then(loadEdits, failAt('save'))
                  }
                >
                  Save edit
                </button>
                {toolError?.control === 'save' ? (
                  <span className="field-error" role="alert" data-testid="save-error">
                    {toolError.message}
                  </span>
                ) : null}
              </div>
            </>
          )}
          {edits.length ? (
            <table className="edits" data-testid="edits">
              <caption>Saved counterfactual texts for this sample (compare)</caption>
              <thead>
                <tr>
                  <th>name</th>
                  <th>run</th>
                  <th>tokens</th>
                  {cf.classNames.map((n) => (
                    <th key={n}>P_cf({n})</th>
                  ))}
                  <th>debiased @ tau {state.tau.toFixed(1)}</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {edits.map((e) => {
                  const at = e.debiased.reduce(
                    (b, p) => (Math.abs(p.tau - state.tau) < Math.abs(b.tau - state.tau) ? p : b),
                    e.debiased[0],
                  );
                  return (
                    <tr key={e.id} data-testid="edit-row">
                      <td>{e.name}</td>
                      <td>{e.runId}</td>
                      <td>{e.tokenIds.length}</td>
                      {(e.counterfactual ?? []).map((p, i) => (
                        <td key={i}>{fmt(p)}</td>
                      ))}
                      <td>{at ? cf.classNames[at.prediction] : 'n/a'}</td>
                      <td>
                        <button
                          type="button"
                          onClick={() =>
                            dispatch({
                              type: 'load-edit',
                              tokenIds: e.tokenIds,
                            })
                          }
                        >
                          Load
                        </button>
                        <button
                          type="button"
                          onClick={() => api.analysis.removeEdit({ id: e.id }).then(loadEdits, failAt('edits'))}
                        >
                          Remove
                        </button>
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          ) : null}
          {toolError?.control === 'edits' ? (
            <p className="field-error" role="alert" data-testid="edits-error">
              {toolError.message}
            </p>
          ) : null}
        </section>
      ) : null}
    </div>
  );
}

function Robustness({
  api,
  transport,
  state,
  dispatch,
  runs,
  job,
  starting,
  startJob,
  fail,
}: {
  api: Api;
  transport: Transport;
  state: AnalysisState;
  dispatch: Dispatch;
  runs: RunRecord[];
  job: JobRecord | null;
  starting: Starting;
  startJob: StartJob;
  fail: (e: Error) => void;
}) {
  const [sweeps, setSweeps] = useState<RobustnessSweep[]>([]);
  // whether the selected run's data is aligned (null: unknown, e.g. a run on a bare folder)
  const [datasets, setDatasets] = useState<Dataset[] | null>(null);
  useEffect(() => {
    api.datasets.list({}).then(setDatasets, fail);
  }, [api, fail]);
  const run = runs.find((r) => r.id === state.runId);
  const aligned = datasets?.find((d) => d.id === run?.datasetId)?.aligned ?? null;
  // null until the user ticks something: the defaults follow what applies to the run's data
  const [ticked, setProtocols] = useState<string[] | null>(null);
  const protocols = (ticked ?? defaultProtocols(aligned)).filter((p) => aligned !== false || !ALIGNED_ONLY.includes(p));
  const overlayKey = state.overlay.join(',');
  const load = useCallback(() => {
    const ids = overlayKey.split(',').filter(Boolean).map(Number);
    if (ids.length) api.analysis.sweeps({ runIds: ids }).then(setSweeps, fail);
  }, [api, overlayKey, fail]);
  useEffect(load, [load]);
  useEffect(() => {
    if (job?.status === 'succeeded') load();
  }, [job?.status, load]);
  const charts = robustnessCharts(sweeps, state.overlay, state.metric);
  const metrics = [...new Set(sweeps.flatMap((s) => s.curves.flatMap((c) => Object.keys(c.metrics))))];
  const skipped = sweeps
    .filter((s) => s.runId === state.runId)
    .slice(0, 1)
    .flatMap((s) => s.curves.filter((c) => c.skipped));
  return (
    <section className="panel" aria-label="Robustness curves">
      <h3>Robustness curves (test split)</h3>
      {/* the choices wait for the datasets: until then whether the aligned-only protocols apply is not known */}
      <div className="protocols" aria-busy={datasets === null}>
        {PROTOCOL_CHOICES.map((p) => {
          const unavailable = aligned === false && ALIGNED_ONLY.includes(p);
          return (
            <label key={p} title={unavailable ? `${PROTOCOL_HELP[p]}; this run's data is unaligned` : PROTOCOL_HELP[p]}>
              <input
                type="checkbox"
                disabled={datasets === null || unavailable}
                checked={protocols.includes(p)}
                onChange={(e) => setProtocols(e.target.checked ? [...protocols, p] : protocols.filter((x) => x !== p))}
              />{' '}
              {p}
            </label>
          );
        })}
        <button
          type="button"
          disabled={datasets === null || !protocols.length || (!!starting && !starting.error)}
          onClick={() =>
            startJob('analysis.robustness', () => api.analysis.robustness({ runId: state.runId!, protocols }))
          }
        >
          Run sweep 0:1:0.1
        </button>
      </div>
      <JobBar job={job} api={api} starting={starting} kind="analysis.robustness" />
      <details className="protocol-help" data-testid="protocol-help">
        <summary>What the protocols keep and drop (p = the missing rate on the x axis)</summary>
        <dl>
          {PROTOCOL_CHOICES.map((p) => (
            <div key={p}>
              <dt>{p}</dt>
              <dd>{PROTOCOL_HELP[p]}</dd>
            </div>
          ))}
        </dl>
        {aligned === false ? (
          <p className="muted" data-testid="aligned-only-note">
            TMFM and STMFM are off: they need aligned data and this run&apos;s dataset is unaligned.
          </p>
        ) : null}
      </details>
      <div className="protocols">
        Overlay:{' '}
        {runs.map((r) => (
          <label key={r.id}>
            <input
              type="checkbox"
              aria-label={`overlay run ${r.id}`}
              checked={state.overlay.includes(r.id)}
              onChange={(e) => dispatch({ type: 'overlay', runId: r.id, on: e.target.checked })}
            />{' '}
            run {r.id}
          </label>
        ))}
        <label>
          metric{' '}
          <select
            aria-label="Metric"
            value={state.metric}
            onChange={(e) => dispatch({ type: 'metric', metric: e.target.value })}
          >
            {(metrics.length ? metrics : [state.metric]).map((n) => (
              <option key={n}>{n}</option>
            ))}
          </select>
        </label>
      </div>
      {!charts.length ? <p className="muted">No sweep stored for these runs yet.</p> : null}
      {charts.length && runsWithoutSweep(sweeps, state.overlay).length ? (
        <p className="muted" data-testid="overlay-no-sweep">
          Not drawn:{' '}
          {runsWithoutSweep(sweeps, state.overlay)
            .map((r) => `run ${r}`)
            .join(', ')}{' '}
          (no sweep stored yet; select the run and press Run sweep).
        </p>
      ) : null}
      <div className="charts">
        {charts.map((c) => (
          <div key={c.protocol} className="curve" data-testid={`curve-${c.protocol}`}>
            <LineChart title={c.protocol} xLabel="missing rate" series={c.series} yDomain={[0, 1]} />
            <table className="auilc">
              <tbody>
                {c.series.map((s) => (
                  <tr key={s.name} data-testid="auilc-row" data-auilc={s.auilc ?? ''}>
                    <td>{s.name}</td>
                    <td>AUILC {fmt(s.auilc, 4)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ))}
      </div>
      {skipped.map((c) => (
        <p key={c.protocol} className="muted">
          {c.protocol}: {c.skipped}
        </p>
      ))}
      <RobustnessRuns
        api={api}
        transport={transport}
        runIds={state.overlay}
        protocols={protocols}
        metric={state.metric}
        onSwept={load}
      />
    </section>
  );
}

function Side({ s, names, testId }: { s: SplitSide; names: string[]; testId: string }) {
  return (
    <div className="ood-side" data-testid={testId}>
      <h4>
        {s.kind.toUpperCase()}: {s.datasetName} <span className="muted">n={s.count}</span>
      </h4>
      {s.overlap ? (
        <p
          className={s.overlap.removed ? 'warning' : 'muted'}
          data-testid={`${testId}-overlap`}
          data-removed={s.overlap.removed}
        >
          {s.overlap.note}
        </p>
      ) : null}
      <p data-testid={`${testId}-labels`} data-counts={s.labelCounts.join(',')}>
        labels: {s.labelCounts.map((n, i) => `${names[i]} ${n}`).join(', ')}
      </p>
      <div className="row">
        <Confusion matrix={s.confusionPlain} names={names} title="plain" testId={`${testId}-confusion`} />
        {s.confusionDebiased ? (
          <Confusion
            matrix={s.confusionDebiased}
            names={names}
            title="debiased"
            testId={`${testId}-confusion-debiased`}
          />
        ) : null}
      </div>
      <table className="metrics">
        <caption>error per class</caption>
        <tbody>
          {s.classErrors.map((e, i) => (
            <tr key={i}>
              <th>{names[i]}</th>
              <td>{fmt(e.plain)}</td>
              <td>
                {e.debiased === null
                  ? ''
                  : `-> ${fmt(e.debiased)} (${e.debiased - e.plain >= 0 ? '+' : ''}${fmt(e.debiased - e.plain)})`}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {s.flips.length ? (
        <table className="flips" data-testid={`${testId}-flips`}>
          <caption>
            {s.flipCount} prediction(s) flip between plain and debiased
            {s.flipCount > s.flips.length ? ` (first ${s.flips.length})` : ''}
          </caption>
          <tbody>
            {s.flips.slice(0, 20).map((f) => (
              <tr key={f.index}>
                <td>#{f.index}</td>
                <td>
                  {names[f.plain]} -&gt; {names[f.debiased]}
                </td>
                <td>truth {names[f.truth]}</td>
                <td className="muted">{f.text.slice(0, 80)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p className="muted">{s.confusionDebiased ? 'no prediction flips' : ''}</p>
      )}
    </div>
  );
}

function OodSection({
  api,
  run,
  job,
  starting,
  startJob,
  fail,
}: {
  api: Api;
  run: RunRecord;
  job: JobRecord | null;
  starting: Starting;
  startJob: StartJob;
  fail: (e: Error) => void;
}) {
  const [list, setList] = useState<OodComparison[]>([]);
  const load = useCallback(
    () => api.analysis.oodComparisons({ runId: run.id }).then(setList, fail),
    [api, run.id, fail],
  );
  useEffect(() => {
    void load();
  }, [load]);
  useEffect(() => {
    if (job?.status === 'succeeded') void load();
  }, [job?.status, load]);
  const [others, setOthers] = useState<RunRecord[]>([]);
  const [withRunId, setWithRunId] = useState<number | null>(null);
  const [tauRule, setTauRule] = useState<TauRule>('validation');
  useEffect(() => {
    api.runs
      .list({})
      .then(
        (rs) =>
          setOthers(
            rs.filter(
              (r) =>
                r.id !== run.id &&
                r.options.task === run.options.task &&
                r.bestCheckpoint &&
                r.datasetId !== run.datasetId,
            ),
          ),
        fail,
      );
  }, [api, run.id, run.options.task, run.datasetId, fail]);
  const c = list[0];
  const sides: [string, SplitSide][] = c
    ? [
        ['IID', c.iid],
        ['OOD', c.ood],
        ...(c.paired ? [[`OOD run ${c.paired.runId}`, c.paired.ood] as [string, SplitSide]] : []),
      ]
    : [];
  return (
    <section className="panel" aria-label="IID vs OOD">
      <h3>IID vs OOD test splits</h3>
      <p className="muted">
        Test samples this run trained or validated on (same id, or same text + features) are removed before scoring.
      </p>
      <label>
        Paper&apos;s protocol: OOD test scored by{' '}
        <select
          aria-label="Paired OOD run"
          value={withRunId ?? ''}
          onChange={(e) => setWithRunId(e.target.value ? Number(e.target.value) : null)}
        >
          <option value="">this run (no paired run)</option>
          {others.map((r) => (
            <option key={r.id} value={r.id}>
              run {r.id}: {r.name}
            </option>
          ))}
        </select>
      </label>{' '}
      <label>
        tau rule{' '}
        <select aria-label="Tau rule" value={tauRule} onChange={(e) => setTauRule(e.target.value as TauRule)}>
          <option value="validation">validation split (honest)</option>
          <option value="balanced">balanced validation (bias words carry no label information)</option>
          <option value="reference">reference protocol (best on test, optimistic)</option>
        </select>
      </label>{' '}
      <button
        type="button"
        disabled={!!starting && !starting.error}
        onClick={() =>
          startJob('analysis.compareOod', () =>
            api.analysis.compareOod({ runId: run.id, tauRule, ...(withRunId !== null ? { withRunId } : {}) }),
          )
        }
      >
        Compare IID and OOD
      </button>
      <JobBar job={job} api={api} starting={starting} kind="analysis.compareOod" />
      {c ? (
        <div data-testid="ood-comparison">
          <p className="muted" data-testid="ood-tau-rule">
            {c.tauRule === 'reference'
              ? 'tau: reference protocol (per metric the best tau on each TEST split; optimistic)'
              : `tau ${
                  c.selectedTau === null
                    ? 'n/a'
                    : c.tauRule === 'balanced'
                      ? `${c.selectedTau}, chosen on the re-weighted validation split by ${c.selectionMetric} (ties: weighted loss)${c.balanced ? `; ${c.balanced.description}` : ''}`
                      : `${c.selectedTau}, chosen on the validation split by ${c.selectionMetric} (ties: validation loss)`
                }`}{' '}
            · {c.textNote}
            {c.debiasNote ? ` · ${c.debiasNote}` : ''}
          </p>
          {c.paired ? (
            <p data-testid="ood-paired">
              Paper&apos;s protocol: IID test scored by run {c.runId}, OOD test also by run {c.paired.runId} (
              {c.paired.runName}, trained on the OOD training split
              {c.paired.selectedTau === null ? '' : `; its tau ${c.paired.selectedTau}`}).
            </p>
          ) : null}
          <table className="metrics" data-testid="ood-metrics">
            <thead>
              <tr>
                <th />
                {Object.keys(c.iid.plain).map((n) => (
                  <th key={n}>{n}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {sides.flatMap(([k, s]) => [
                <tr key={`${k}p`} data-testid={`ood-row-${k}-plain`}>
                  <th>{k} plain</th>
                  {Object.keys(c.iid.plain).map((n) => (
                    <td key={n}>{fmt(s.plain[n], 4)}</td>
                  ))}
                </tr>,
                s.debiased ? (
                  <tr key={`${k}d`} data-testid={`ood-row-${k}-debiased`}>
                    <th>{k} debiased</th>
                    {Object.keys(c.iid.plain).map((n) => (
                      <td key={n}>{fmt(s.debiased![n], 4)}</td>
                    ))}
                  </tr>
                ) : null,
              ])}
            </tbody>
          </table>
          {c.iid.tauCurve.length ? (
            <LineChart
              title={`${c.selectionMetric} over tau (validation-chosen tau ${c.selectedTau})`}
              xLabel="tau"
              testId="ood-tau-curve"
              series={[
                {
                  name: 'IID test',
                  points: c.taus.map((t, i) => ({
                    x: t,
                    y: c.iid.tauCurve[i],
                  })),
                },
                {
                  name: 'OOD test',
                  points: c.taus.map((t, i) => ({
                    x: t,
                    y: c.ood.tauCurve[i],
                  })),
                  dashed: true,
                },
                ...(c.selectedTau !== null
                  ? [
                      {
                        name: `tau ${c.selectedTau}`,
                        color: '#000',
                        points: [
                          {
                            x: c.selectedTau,
                            y: Math.min(...c.iid.tauCurve, ...c.ood.tauCurve),
                          },
                          {
                            x: c.selectedTau,
                            y: Math.max(...c.iid.tauCurve, ...c.ood.tauCurve),
                          },
                        ],
                      },
                    ]
                  : []),
              ]}
            />
          ) : null}
          <div className="row">
            <Side s={c.iid} names={c.classNames} testId="ood-iid" />
            <Side s={c.ood} names={c.classNames} testId="ood-ood" />
            {c.paired ? <Side s={c.paired.ood} names={c.classNames} testId="ood-paired-side" /> : null}
          </div>
        </div>
      ) : (
        <p className="muted">No comparison yet for this run.</p>
      )}
    </section>
  );
}
