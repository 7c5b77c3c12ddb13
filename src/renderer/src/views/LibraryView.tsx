import { useState, type Dispatch, type FormEvent } from 'react';
import type { Api } from '../../../shared/api';
import { visibleJobs, type LibraryAction, type LibraryState } from '../state/library';
import { JobList } from './JobList';

export function LibraryView({
  api,
  state,
  dispatch,
}: {
  api: Api;
  state: LibraryState;
  dispatch: Dispatch<LibraryAction>;
}) {
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [busy, setBusy] = useState(false);
  const selected = state.projects.find((p) => p.id === state.selectedProjectId) ?? null;

  const create = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    try {
      const project = await api.projects.create({ name, description });
      dispatch({ type: 'projectCreated', project });
      setName('');
      setDescription('');
    } catch (err) {
      dispatch({ type: 'error', message: (err as Error).message });
    } finally {
      setBusy(false);
    }
  };

  // shown from the click until the job's row arrives (its events then show the progress)
  const [measuring, setMeasuring] = useState(false);
  const runSelfTest = async () => {
    setMeasuring(true);
    try {
      await api.jobs.selfTest({ projectId: selected?.id, size: 256, iterations: 50 });
    } catch (err) {
      dispatch({ type: 'error', message: (err as Error).message });
    } finally {
      setMeasuring(false);
    }
  };

  return (
    <div className="library">
      <section className="project-list" aria-label="Project library">
        <h2>Projects</h2>
        {state.loading ? <p>loading...</p> : null}
        <ul data-testid="project-list">
          {state.projects.map((p) => (
            <li key={p.id}>
              <button
                className={p.id === state.selectedProjectId ? 'selected' : ''}
                onClick={() => dispatch({ type: 'select', id: p.id })}
                data-testid="project-item"
              >
                {p.name}
              </button>
            </li>
          ))}
        </ul>
        <form onSubmit={create} className="new-project" aria-label="New project">
          <input
            aria-label="Project name"
            placeholder="New project name"
            value={name}
            onChange={(e) => setName(e.target.value)}
            required
            maxLength={200}
          />
          <textarea
            aria-label="Project description"
            placeholder="Description (optional)"
            value={description}
            onChange={(e) => setDescription(e.target.value)}
            rows={2}
          />
          <button type="submit" disabled={busy || !name.trim()}>
            Create project
          </button>
        </form>
        {state.error ? (
          <p role="alert" className="error">
            {state.error}
          </p>
        ) : null}
      </section>
      <section className="project-detail" aria-label="Project">
        {selected ? (
          <>
            <h2 data-testid="project-title">{selected.name}</h2>
            <p>{selected.description || 'No description.'}</p>
            <p className="muted">created {new Date(selected.createdAt).toLocaleString()}</p>
            <div className="actions">
              <button onClick={() => void runSelfTest()} disabled={measuring} aria-busy={measuring}>
                {measuring ? 'Starting measurement...' : 'Measure backend speed'}
              </button>
            </div>
            <h3>
              Jobs{' '}
              <select
                aria-label="Jobs shown"
                value={state.jobScope}
                onChange={(e) => dispatch({ type: 'jobScope', scope: e.target.value as 'all' | 'project' })}
              >
                <option value="all">all jobs</option>
                <option value="project">this project&apos;s jobs (clips, backend tests)</option>
              </select>
            </h3>
            <JobList api={api} jobs={visibleJobs(state)} />
          </>
        ) : (
          <p>No project yet: create one.</p>
        )}
      </section>
    </div>
  );
}
