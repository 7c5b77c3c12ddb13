/**
 * The one contract between the UI (renderer, CLI) and the app's services.
 * Each method has an argument schema (validated by main before use, whichever transport carried
 * the call) and a result type. Main binds it to ipcMain, the preload exposes it as named
 * functions, web mode binds it to HTTP, and the renderer's client speaks either.
 * Method ids are "service.method"; nothing else names a channel.
 */
import { z } from 'zod';
import type { AppStatus, JobLogEntry, Project } from './types';
import type { JobRecord, JobRecordOf } from './jobs';
import { JOB_STATUSES } from './types';

import { id, method, nameSchema, none, type MethodSpec } from './contract/method';
import { datasetsContract } from './contract/datasets';
import { clipsContract } from './contract/clips';
import { trainingContract } from './contract/training';
import { reportsContract } from './contract/reports';
import { analysisContract } from './contract/analysis';
import { searchContract } from './contract/search';
import { ablationContract } from './contract/ablation';
import { modelsContract } from './contract/models';
import { filesContract } from './contract/files';

export type { MethodSpec } from './contract/method';

/** names of remembered UI state: 'training.form', ... (stored as settings 'ui.<key>') */
const uiStateKey = z
  .string()
  .regex(/^[a-z][a-zA-Z0-9]*(\.[a-zA-Z0-9]+)*$/, 'must be dotted words, e.g. training.form')
  .max(80);

export const contract = {
  app: {
    status: method<AppStatus>()(none),
    /** a view's remembered UI state (e.g. the New-run form), null when none was saved; kept in the settings table */
    uiState: method<unknown>()(z.object({ key: uiStateKey }).strict()),
    saveUiState: method<{ saved: true }>()(
      z
        .object({
          key: uiStateKey,
          value: z.unknown().refine((v) => v !== undefined && JSON.stringify(v).length <= 64_000, {
            message: 'must be JSON of at most 64 kB',
          }),
        })
        .strict(),
    ),
  },
  projects: {
    list: method<Project[]>()(none),
    get: method<Project>()(z.object({ id }).strict()),
    create: method<Project>()(
      z
        .object({
          name: nameSchema('a project'),
          description: z.string().max(10_000).optional(),
        })
        .strict(),
    ),
    update: method<Project>()(
      z
        .object({
          id,
          name: nameSchema('a project').optional(),
          description: z.string().max(10_000).optional(),
        })
        .strict(),
    ),
    remove: method<{ removed: true }>()(z.object({ id }).strict()),
  },
  jobs: {
    list: method<JobRecord[]>()(
      z
        .object({
          projectId: id.optional(),
          status: z.enum(JOB_STATUSES).optional(),
          limit: z.number().int().min(1).max(1000).optional(),
        })
        .strict(),
    ),
    get: method<JobRecord>()(z.object({ id }).strict()),
    logs: method<JobLogEntry[]>()(z.object({ id, limit: z.number().int().min(1).max(10_000).optional() }).strict()),
    cancel: method<JobRecord>()(z.object({ id }).strict()),
    /** measures the active TensorFlow.js backend (matmul throughput); runs as a job */
    selfTest: method<JobRecordOf<'backend.selftest'>>()(
      z
        .object({
          projectId: id.optional(),
          size: z.number().int().min(8).max(2048).default(256),
          iterations: z.number().int().min(1).max(100_000).default(20),
        })
        .strict(),
    ),
  },
  datasets: datasetsContract,
  clips: clipsContract,
  runs: trainingContract,
  reports: reportsContract,
  analysis: analysisContract,
  search: searchContract,
  ablation: ablationContract,
  models: modelsContract,
  files: filesContract,
} as const;

export type Contract = typeof contract;
export type ServiceName = keyof Contract;
export type MethodName<S extends ServiceName> = keyof Contract[S] & string;
export type MethodId = { [S in ServiceName]: `${S}.${MethodName<S>}` }[ServiceName];

type SpecOf<S extends ServiceName, M extends MethodName<S>> = Contract[S][M];
export type ArgsOf<S extends ServiceName, M extends MethodName<S>> =
  SpecOf<S, M> extends MethodSpec<infer A, unknown> ? z.input<A> : never;
export type ParsedArgsOf<S extends ServiceName, M extends MethodName<S>> =
  SpecOf<S, M> extends MethodSpec<infer A, unknown> ? z.output<A> : never;
export type ResultOf<S extends ServiceName, M extends MethodName<S>> =
  SpecOf<S, M> extends MethodSpec<z.ZodType, infer R> ? R : never;

/** What a UI holds: every method as an async function that resolves to its result or throws AppError. */
export type Api = { [S in ServiceName]: { [M in MethodName<S>]: (args: ArgsOf<S, M>) => Promise<ResultOf<S, M>> } };

/** The server side: every method implemented with parsed (validated, defaulted) arguments. */
export type Handlers<Ctx> = {
  [S in ServiceName]: {
    [M in MethodName<S>]: (args: ParsedArgsOf<S, M>, ctx: Ctx) => Promise<ResultOf<S, M>> | ResultOf<S, M>;
  };
};

export function methodIds(): MethodId[] {
  const out: string[] = [];
  for (const [service, methods] of Object.entries(contract))
    for (const m of Object.keys(methods)) out.push(`${service}.${m}`);
  return out as MethodId[];
}

export function lookupMethod(
  methodId: string,
): { service: ServiceName; method: string; spec: MethodSpec<z.ZodType, unknown> } | undefined {
  const dot = methodId.indexOf('.');
  if (dot < 0) return undefined;
  const service = methodId.slice(0, dot);
  const name = methodId.slice(dot + 1);
  if (!Object.hasOwn(contract, service)) return undefined;
  const methods = contract[service as ServiceName] as Record<string, MethodSpec<z.ZodType, unknown>>;
  if (!Object.hasOwn(methods, name)) return undefined;
  return { service: service as ServiceName, method: name, spec: methods[name] };
}

/** The IPC channel prefix; main refuses any other channel. */
export const IPC_PREFIX = 'cider:';
export const IPC_EVENT_CHANNEL = 'cider:event';
