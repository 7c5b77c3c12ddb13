import { useCallback, useEffect, useReducer, useRef, useState } from 'react';
import type { Api } from '../../shared/api';
import type { AppStatus } from '../../shared/types';
import type { Transport } from './api/client';
import { initialLibrary, libraryReducer } from './state/library';
import { initialTraining, REMEMBERED_FORM_KEY, trainingReducer, type RememberedForm } from './state/training';
import { LibraryView } from './views/LibraryView';
import { StatusBar } from './views/StatusBar';
import { DatasetsView } from './views/datasets/DatasetsView';
import { ClipsView } from './views/clips/ClipsView';
import { TrainingView } from './views/training/TrainingView';
import { RunsView } from './views/runs/RunsView';
import { SearchView } from './views/search/SearchView';
import { ReportsView } from './views/reports/ReportsView';
import { AnalysisView } from './views/analysis/AnalysisView';
import { ModelsView } from './views/models/ModelsView';

/** The top-level views, in tab order: add an entry here and render its view in <main> below. */
const TABS = [
  { id: 'library', label: 'Library' },
  { id: 'datasets', label: 'Datasets' },
  { id: 'clips', label: 'Clips' },
  { id: 'training', label: 'Training' },
  { id: 'runs', label: 'Runs' },
  { id: 'search', label: 'Search' },
  { id: 'analysis', label: 'Analysis' },
  { id: 'reports', label: 'Reports' },
  { id: 'models', label: 'Models' },
] as const;
type TabId = (typeof TABS)[number]['id'];

export function App({ api, transport }: { api: Api; transport: Transport }) {
  const [state, dispatch] = useReducer(libraryReducer, initialLibrary);
  const [status, setStatus] = useState<AppStatus | null>(null);
  const [tab, setTab] = useState<TabId>('library');
  // the Training view's state lives here so the New-run form survives tab switches; the form is
  // also remembered in the app's settings so it survives a reload
  const [training, trainingDispatch] = useReducer(trainingReducer, initialTraining);
  useRememberedTrainingForm(api, training.form, training.base, training.formTouched, trainingDispatch);

  const reload = useCallback(async () => {
    try {
      const [projects, jobs] = await Promise.all([api.projects.list({}), api.jobs.list({ limit: 100 })]);
      dispatch({ type: 'loaded', projects, jobs });
    } catch (e) {
      dispatch({ type: 'error', message: (e as Error).message });
    }
  }, [api]);

  useEffect(() => {
    void reload();
    api.app.status({}).then(setStatus, (e: Error) => dispatch({ type: 'error', message: e.message }));
    return transport.onEvent((event) => {
      if (event.type === 'projects.changed') void reload();
      else dispatch({ type: 'event', event });
    });
  }, [api, transport, reload]);

  return (
    <div className="app">
      <header className="titlebar">
        <h1>CIDer Studio</h1>
        <span className="subtitle">robust multimodal emotion recognition</span>
        <nav className="tabs" role="tablist" aria-label="Views">
          {TABS.map((t) => (
            <button key={t.id} role="tab" aria-selected={tab === t.id} onClick={() => setTab(t.id)}>
              {t.label}
            </button>
          ))}
        </nav>
      </header>
      <main>
        {tab === 'library' ? <LibraryView api={api} state={state} dispatch={dispatch} /> : null}
        {tab === 'datasets' ? <DatasetsView api={api} transport={transport} /> : null}
        {tab === 'clips' ? <ClipsView api={api} transport={transport} projectId={state.selectedProjectId} /> : null}
        {tab === 'training' ? (
          <TrainingView api={api} transport={transport} status={status} state={training} dispatch={trainingDispatch} />
        ) : null}
        {tab === 'runs' ? <RunsView api={api} transport={transport} /> : null}
        {tab === 'search' ? <SearchView api={api} transport={transport} /> : null}
        {tab === 'reports' ? <ReportsView api={api} transport={transport} /> : null}
        {tab === 'analysis' ? <AnalysisView api={api} transport={transport} /> : null}
        {tab === 'models' ? <ModelsView api={api} /> : null}
      </main>
      <StatusBar status={status} transport={transport.kind} />
    </div>
  );
}

/** Loads the remembered New-run form once, then saves it (debounced) whenever the user changes it. */
function useRememberedTrainingForm(
  api: Api,
  form: RememberedForm['form'],
  base: RememberedForm['base'],
  touched: boolean,
  dispatch: (a: { type: 'restoreForm'; saved: unknown }) => void,
) {
  useEffect(() => {
    api.app.uiState({ key: REMEMBERED_FORM_KEY }).then(
      (saved) => dispatch({ type: 'restoreForm', saved }),
      () => undefined, // nothing remembered is the same as a fresh form
    );
  }, [api, dispatch]);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(() => {
    if (!touched) return;
    clearTimeout(timer.current);
    const value: RememberedForm = { form, base };
    timer.current = setTimeout(
      () => void api.app.saveUiState({ key: REMEMBERED_FORM_KEY, value }).catch(() => {}),
      250,
    );
    return () => clearTimeout(timer.current);
  }, [api, form, base, touched]);
}
