import { useCallback, useEffect, useReducer, useState } from 'react';
import type { Api } from '../../shared/api';
import type { AppStatus } from '../../shared/types';
import type { Transport } from './api/client';
import { initialLibrary, libraryReducer } from './state/library';
import { LibraryView } from './views/LibraryView';
import { StatusBar } from './views/StatusBar';

export function App({ api, transport }: { api: Api; transport: Transport }) {
  const [state, dispatch] = useReducer(libraryReducer, initialLibrary);
  const [status, setStatus] = useState<AppStatus | null>(null);

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
      </header>
      <main>
        <LibraryView api={api} state={state} dispatch={dispatch} />
      </main>
      <StatusBar status={status} transport={transport.kind} />
    </div>
  );
}
