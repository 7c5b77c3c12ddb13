/** Plain data types shared by main, renderer and CLI. No Node, no DOM, no Electron. */
import type { JobRecord } from './jobs';

export interface Project {
  id: number;
  name: string;
  description: string;
  createdAt: string;
  updatedAt: string;
}

export const JOB_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled', 'interrupted'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export const FINISHED_JOB_STATUSES: readonly JobStatus[] = ['succeeded', 'failed', 'cancelled', 'interrupted'];

/** job records and progress are typed per kind by the job catalogue */
export type { JobProgress, JobRecord } from './jobs';

export interface JobLogEntry {
  jobId: number;
  time: string;
  level: 'info' | 'warn' | 'error';
  message: string;
}

export interface BackendInfo {
  name: 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';
  reason: string;
  tfjsVersion: string;
  gpu: boolean;
}

export interface AppStatus {
  appVersion: string;
  mode: 'desktop' | 'web' | 'cli';
  dataDir: string;
  databaseFile: string;
  schemaVersion: number;
  backend: BackendInfo;
  ffmpeg: { path: string | null; version: string | null };
  node: string;
  platform: string;
}

/** Events pushed from the app to every connected UI, over IPC or WebSocket alike. */
export type AppEvent =
  | { type: 'job.updated'; job: JobRecord }
  | { type: 'job.log'; entry: JobLogEntry }
  | { type: 'projects.changed' }
  | { type: 'datasets.changed' }
  | { type: 'clips.changed'; projectId: number };
