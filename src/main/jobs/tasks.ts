/**
 * Job kinds and where their code lives. Loaded lazily inside the worker so that starting a job
 * only pays for the modules that job needs.
 */
import type { Task } from './protocol';

export const TASKS: Record<string, () => Promise<Task>> = {
  'backend.selftest': async () => (await import('./tasks/selftest')).selfTestTask,
};

export function isJobKind(kind: string): boolean {
  return Object.hasOwn(TASKS, kind);
}
