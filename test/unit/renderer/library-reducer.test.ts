import assert from 'node:assert/strict';
import { test } from 'node:test';
import { initialLibrary, libraryReducer } from '../../../src/renderer/src/state/library';
import type { JobRecord, Project } from '../../../src/shared/types';

const project = (id: number, name: string): Project => ({
  id,
  name,
  description: '',
  createdAt: '2026-01-01T00:00:00Z',
  updatedAt: '2026-01-01T00:00:00Z',
});
const job = (id: number, status: JobRecord['status'], fraction: number | null): JobRecord => ({
  id,
  kind: 'backend.selftest',
  status,
  projectId: 1,
  params: { size: 8, iterations: 1 },
  progress: { fraction, message: '' },
  result: null,
  error: null,
  createdAt: '',
  startedAt: null,
  finishedAt: null,
});

test('a fresh library opens on its first (demo) project', () => {
  const s = libraryReducer(initialLibrary, { type: 'loaded', projects: [project(1, 'Demo project')], jobs: [] });
  assert.equal(s.selectedProjectId, 1);
  assert.equal(s.loading, false);
});

test('creating a project selects it; removing the selected one selects another', () => {
  let s = libraryReducer(initialLibrary, { type: 'loaded', projects: [project(1, 'Demo project')], jobs: [] });
  s = libraryReducer(s, { type: 'projectCreated', project: project(2, 'Study') });
  assert.deepEqual(
    s.projects.map((p) => p.id),
    [2, 1],
  );
  assert.equal(s.selectedProjectId, 2);
  s = libraryReducer(s, { type: 'projectRemoved', id: 2 });
  assert.equal(s.selectedProjectId, 1);
});

test('job events insert new jobs and replace known ones, without touching the input state', () => {
  const s0 = libraryReducer(initialLibrary, { type: 'loaded', projects: [], jobs: [job(1, 'running', 0.1)] });
  const s1 = libraryReducer(s0, { type: 'event', event: { type: 'job.updated', job: job(1, 'running', 0.5) } });
  const s2 = libraryReducer(s1, { type: 'event', event: { type: 'job.updated', job: job(2, 'queued', null) } });
  assert.equal(s0.jobs[0].progress.fraction, 0.1);
  assert.equal(s1.jobs[0].progress.fraction, 0.5);
  assert.deepEqual(
    s2.jobs.map((j) => j.id),
    [2, 1],
  );
});
