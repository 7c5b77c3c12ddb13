/**
 * Reports: choose one run (or several to compare), the sections and the clips/samples to pin,
 * preview the self-contained HTML in a sandboxed iframe (srcdoc, no script), and save the chosen
 * formats into a folder (the app refuses to write outside it).
 */
import { useCallback, useEffect, useReducer, type ReactNode } from 'react';
import type { Api } from '../../../../shared/api';
import { REPORT_FORMATS, REPORT_SECTIONS, type ReportSectionName } from '../../../../shared/contract/reports';
import type { Transport } from '../../api/client';
import { exportRequest, initialReports, reportRequest, reportsReducer, type ReportsAction } from '../../state/reports';
import './reports.css';

type Dispatch = (action: ReportsAction) => void;

/** a checkbox with its label after it */
function Check({ checked, onChange, children }: { checked: boolean; onChange: () => void; children: ReactNode }) {
  return (
    <label>
      <input type="checkbox" checked={checked} onChange={onChange} /> {children}
    </label>
  );
}

/** a text field of the report form, kept in the reducer's state */
function TextField(props: {
  label: string;
  placeholder: string;
  field: 'pinned' | 'folder' | 'baseName';
  value: string;
  dispatch: Dispatch;
}) {
  const { label, placeholder, field, value, dispatch } = props;
  return (
    <label className="field">
      {label}
      <input
        placeholder={placeholder}
        value={value}
        onChange={(e) => dispatch({ type: 'set', field, value: e.target.value })}
      />
    </label>
  );
}

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
              <Check
                key={r.id}
                checked={s.selected.includes(r.id)}
                onChange={() => dispatch({ type: 'toggleRun', id: r.id })}
              >
                {r.id}: {r.name} ({r.status}, {r.epochsDone} epochs)
              </Check>
            ))}
          </div>
        </fieldset>
        <fieldset>
          <legend>Contents</legend>
          {REPORT_SECTIONS.map((x) => (
            <Check
              key={x}
              checked={s.sections.includes(x)}
              onChange={() => dispatch({ type: 'toggleSection', section: x })}
            >
              {SECTION_LABELS[x]}
            </Check>
          ))}
          <TextField
            label="Pinned clips / samples"
            placeholder="clip:3, test:12"
            field="pinned"
            value={s.pinned}
            dispatch={dispatch}
          />
        </fieldset>
        <div className="actions">
          <button onClick={preview} disabled={s.busy !== null}>
            {s.busy === 'preview' ? 'Building…' : 'Preview'}
          </button>
        </div>
        <fieldset>
          <legend>Save</legend>
          {REPORT_FORMATS.map((f) => (
            <Check
              key={f}
              checked={s.formats.includes(f)}
              onChange={() => dispatch({ type: 'toggleFormat', format: f })}
            >
              {f.toUpperCase()}
            </Check>
          ))}
          <TextField
            label="Folder"
            placeholder="/home/me/paper/appendix"
            field="folder"
            value={s.folder}
            dispatch={dispatch}
          />
          <TextField
            label="File name (optional)"
            placeholder="report-run1"
            field="baseName"
            value={s.baseName}
            dispatch={dispatch}
          />
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
