/**
 * Reports: choose one run (or several to compare), the sections and the clips/samples to pin,
 * preview the self-contained HTML in a sandboxed iframe (srcdoc, no script), and save the chosen
 * formats into a folder (the app refuses to write outside it).
 */
import { useCallback, useEffect, useReducer } from 'react';
import type { Api } from '../../../../shared/api';
import { REPORT_FORMATS, REPORT_SECTIONS, type ReportSectionName } from '../../../../shared/contract/reports';
import type { Transport } from '../../api/client';
import { exportRequest, initialReports, reportRequest, reportsReducer } from '../../state/reports';
import './reports.css';

const SECTION_LABELS: Record<ReportSectionName, string> = {
  dataset: 'Dataset and label distributions',
  config: 'Training configuration',
  curves: 'Training curves',
  metrics: 'Test metrics (plain and debiased)',
  robustness: 'Robustness curves and AUILC',
  explanations: 'Contributions, counterfactual edits, OOD comparison',
  agreement: 'Annotation agreement',
  predictions: 'Per-sample predictions (CSV/JSON)',
};

export function ReportsView({ api, transport }: { api: Api; transport: Transport }) {
  const [s, dispatch] = useReducer(reportsReducer, initialReports);
  const fail = useCallback((e: Error) => dispatch({ type: 'error', message: e.message }), []);
  const reload = useCallback(
    () => api.runs.list({}).then((runs) => dispatch({ type: 'loaded', runs }), fail),
    [api, fail],
  );

  useEffect(() => {
    void reload();
    return transport.onEvent((e) => {
      if (
        e.type === 'job.updated' &&
        (e.job.kind === 'train' || e.job.kind === 'evaluate') &&
        e.job.status !== 'running'
      )
        void reload();
    });
  }, [transport, reload]);

  const preview = () => {
    const r = reportRequest(s);
    if (!r.ok) return dispatch({ type: 'error', message: r.error });
    dispatch({ type: 'busy', what: 'preview' });
    api.reports.preview({ runIds: r.runIds, sections: r.sections, pinned: r.pinned }).then(
      (p) =>
        dispatch({
          type: 'previewed',
          html: p.html,
          tables: p.tables.length,
        }),
      fail,
    );
  };
  const save = () => {
    const r = exportRequest(s);
    if (!r.ok) return dispatch({ type: 'error', message: r.error });
    dispatch({ type: 'busy', what: 'export' });
    const { ok: _ok, ...args } = r;
    api.reports.export(args).then((result) => dispatch({ type: 'exported', result }), fail);
  };

  return (
    <div className="reports-view">
      <section className="reports-form" aria-label="Report contents">
        <h2>Report</h2>
        <fieldset>
          <legend>Runs (several: compared)</legend>
          <div className="run-list">
            {s.runs.length ? null : <p className="muted">No runs yet: train one in the Training tab.</p>}
            {s.runs.map((r) => (
              <label key={r.id}>
                <input
                  type="checkbox"
                  checked={s.selected.includes(r.id)}
                  onChange={() => dispatch({ type: 'toggleRun', id: r.id })}
                />{' '}
                {r.id}: {r.name} ({r.status}, {r.epochsDone} epochs)
              </label>
            ))}
          </div>
        </fieldset>
        <fieldset>
          <legend>Contents</legend>
          {REPORT_SECTIONS.map((x) => (
            <label key={x}>
              <input
                type="checkbox"
                checked={s.sections.includes(x)}
                onChange={() => dispatch({ type: 'toggleSection', section: x })}
              />{' '}
              {SECTION_LABELS[x]}
            </label>
          ))}
          <label className="field">
            Pinned clips / samples
            <input
              placeholder="clip:3, test:12"
              value={s.pinned}
              onChange={(e) =>
                dispatch({
                  type: 'set',
                  field: 'pinned',
                  value: e.target.value,
                })
              }
            />
          </label>
        </fieldset>
        <div className="actions">
          <button onClick={preview} disabled={s.busy !== null}>
            {s.busy === 'preview' ? 'Building…' : 'Preview'}
          </button>
        </div>
        <fieldset>
          <legend>Save</legend>
          {REPORT_FORMATS.map((f) => (
            <label key={f}>
              <input
                type="checkbox"
                checked={s.formats.includes(f)}
                onChange={() => dispatch({ type: 'toggleFormat', format: f })}
              />{' '}
              {f.toUpperCase()}
            </label>
          ))}
          <label className="field">
            Folder
            <input
              placeholder="/home/me/paper/appendix"
              value={s.folder}
              onChange={(e) =>
                dispatch({
                  type: 'set',
                  field: 'folder',
                  value: e.target.value,
                })
              }
            />
          </label>
          <label className="field">
            File name (optional)
            <input
              placeholder="report-run1"
              value={s.baseName}
              onChange={(e) =>
                dispatch({
                  type: 'set',
                  field: 'baseName',
                  value: e.target.value,
                })
              }
            />
          </label>
          <div className="actions">
            <button onClick={save} disabled={s.busy !== null}>
              {s.busy === 'export' ? 'Saving…' : 'Save'}
            </button>
          </div>
        </fieldset>
        {s.error ? (
          <p role="alert" className="error">
            {s.error}
          </p>
        ) : null}
        {s.result ? (
          <div data-testid="report-result">
            <p>
              Saved {s.result.files.length} file(s) to <code>{s.result.folder}</code>
              {s.result.pdf ? ` (PDF by ${s.result.pdf.renderer})` : ''}:
            </p>
            <ul className="files">
              {s.result.files.map((f) => (
                <li key={f.path}>
                  {f.path.startsWith(s.result!.folder) ? f.path.slice(s.result!.folder.length + 1) : f.path}
                </li>
              ))}
            </ul>
          </div>
        ) : null}
      </section>
      <section className="reports-preview" aria-label="Preview">
        {s.preview ? (
          <iframe title="Report preview" sandbox="" srcDoc={s.preview.html} data-testid="report-preview" />
        ) : (
          <p className="muted">Choose runs and contents, then Preview.</p>
        )}
      </section>
    </div>
  );
}
