/**
 * Library state as a pure reducer: (state, action) => state, tested without a browser.
 */
import type { AppEvent, JobRecord, Project } from '../../../shared/types';

export interface LibraryState {
  projects: Project[];
  selectedProjectId: number | null;
  jobs: JobRecord[];
  error: string | null;
  loading: boolean;
  /** the Jobs list: every job (training, evaluation, imports, ... have no project) or the selected project's */
  jobScope: 'all' | 'project';
}

export type LibraryAction =
  | { type: 'loaded'; projects: Project[]; jobs: JobRecord[] }
  | { type: 'projectCreated'; project: Project }
  | { type: 'projectRemoved'; id: number }
  | { type: 'select'; id: number | null }
  | { type: 'event'; event: AppEvent }
  | { type: 'error'; message: string | null }
  | { type: 'jobScope'; scope: LibraryState['jobScope'] };

export const initialLibrary: LibraryState = {
  projects: [],
  selectedProjectId: null,
  jobs: [],
  error: null,
  loading: true,
  jobScope: 'all',
};

/** the jobs the Library lists, newest first */
export function visibleJobs(s: LibraryState): JobRecord[] {
  const list = s.jobScope === 'project' ? s.jobs.filter((j) => j.projectId === s.selectedProjectId) : s.jobs;
  return [...list].sort((a, b) => b.id - a.id);
}

export function libraryReducer(state: LibraryState, action: LibraryAction): LibraryState {
  switch (action.type) {
    case 'loaded': {
      const keep = state.selectedProjectId !== null && action.projects.some((p) => p.id === state.selectedProjectId);
      return {
        ...state,
        loading: false,
        projects: action.projects,
        jobs: action.jobs,
        // a fresh install opens on its only (demo) project
        selectedProjectId: keep ? state.selectedProjectId : (action.projects[0]?.id ?? null),
      };
    }
    case 'projectCreated':
      return {
        ...state,
        projects: [action.project, ...state.projects.filter((p) => p.id !== action.project.id)],
        selectedProjectId: action.project.id,
        error: null,
      };
    case 'projectRemoved': {
      const projects = state.projects.filter((p) => p.id !== action.id);
      return {
        ...state,
        projects,
        selectedProjectId: state.selectedProjectId === action.id ? (projects[0]?.id ?? null) : state.selectedProjectId,
      };
    }
    case 'select':
      return { ...state, selectedProjectId: action.id };
    case 'error':
      return { ...state, error: action.message };
    case 'jobScope':
      return { ...state, jobScope: action.scope };
    case 'event': {
      const e = action.event;
      if (e.type !== 'job.updated') return state;
      const i = state.jobs.findIndex((j) => j.id === e.job.id);
      const jobs = i < 0 ? [e.job, ...state.jobs] : state.jobs.map((j) => (j.id === e.job.id ? e.job : j));
      return { ...state, jobs };
    }
  }
}
