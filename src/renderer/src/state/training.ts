/**
 * Training view state as a pure reducer, tested without a browser (test/unit/renderer/training-reducer.test.ts):
 * the run form (spec section 4 with the paper's defaults, the reference quirks as named switches),
 * the run being watched with its stored epochs and the live batch progress from job events, and
 * the selectors the view draws from (options to submit, time left, curves).
 */
import type { Dataset } from '../../../shared/contract/datasets';
import {
  SELECTION_METRICS_BY_TASK,
  trainingOptionsSchema,
  type EpochLosses,
  type SelectionMetricName,
  type RunEpoch,
  type RunRecord,
  type TrainingOptions,
  type TrainingOptionsInput,
} from '../../../shared/contract/training';
import type { AppEvent } from '../../../shared/types';
import { runIdOfJob, trainProgressOf, type JobRecord } from '../../../shared/jobs';
import type { ChartSeries } from '../components/chartScale';
import { fineTuneBatchEstimateMs, FINETUNE_VS_TORCH } from '../../../shared/textBench';

/** the paper's configuration: what `{}` parses to */
export const PAPER_DEFAULTS: TrainingOptions = trainingOptionsSchema.parse({});

export interface TrainingForm {
  datasetId: number | null;
  name: string;
  task: 3 | 7;
  textKind: 'features' | 'frozen' | 'finetune';
  modelDir: string;
  seed: number;
  batchSize: number;
  maxEpochs: number;
  patience: number;
  learningRate: number;
  bertLearningRate: number;
  bertWeightDecay: number;
  weightJoint: number;
  weightAttention: number;
  weightReconstruction: number;
  d: number;
  layers: number;
  heads: number;
  dropoutRelu: number;
  dropoutResidual: number;
  dropoutAttention: number;
  dropoutEmbedding: number;
  dropoutOutput: number;
  /** 'reference' reproduces the reference's batch-indexed positional table (spec 2.5) */
  positional: 'temporal' | 'reference';
  /** the reference's quirk (spec 4): the missing-view update also applies the complete view's gradients */
  accumulateFullViewGrad: boolean;
  /** 0: whole batches */
  microBatchSize: number;
  validationView: 'complete' | 'RMFM';
  validationRate: number;
  /** MSSD on (the paper) or off: complete view only, the "w/o MSSD" ablation */
  mssd: boolean;
  /** '' = the task's default (Non0_acc_2 / Acc_7) */
  selectionMetric: SelectionMetricName | '';
}

export function formFromOptions(o: TrainingOptions, datasetId: number | null, name = ''): TrainingForm {
  return {
    datasetId,
    name,
    task: o.task,
    textKind: o.text.kind,
    modelDir: o.text.kind === 'features' ? '' : o.text.modelDir,
    seed: o.seed,
    batchSize: o.batchSize,
    maxEpochs: o.maxEpochs,
    patience: o.patience,
    learningRate: o.learningRate,
    bertLearningRate: o.bertLearningRate,
    bertWeightDecay: o.bertWeightDecay,
    weightJoint: o.lossWeights.joint,
    weightAttention: o.lossWeights.attention,
    weightReconstruction: o.lossWeights.reconstruction,
    d: o.model.d,
    layers: o.model.layers,
    heads: o.model.heads,
    dropoutRelu: o.model.dropouts.relu,
    dropoutResidual: o.model.dropouts.residual,
    dropoutAttention: o.model.dropouts.attention,
    dropoutEmbedding: o.model.dropouts.embedding,
    dropoutOutput: o.model.dropouts.output,
    positional: o.model.positional,
    accumulateFullViewGrad: o.accumulateFullViewGrad,
    microBatchSize: o.microBatchSize ?? 0,
    validationView: o.validation.view,
    validationRate: o.validation.view === 'RMFM' ? o.validation.rate : 0.5,
    mssd: o.mssd !== false,
    selectionMetric: o.selectionMetric ?? '',
  };
}

/** What runs.start receives. Options the form does not show (confounders, evalBatchSize, validation seed) keep the schema's defaults, or a cloned run's values. */
export function optionsFromForm(f: TrainingForm, base: TrainingOptions = PAPER_DEFAULTS): TrainingOptionsInput {
  const { microBatchSize: _, selectionMetric: _s, ...rest } = base;
  return {
    ...rest,
    mssd: f.mssd,
    ...(f.selectionMetric ? { selectionMetric: f.selectionMetric } : {}),
    task: f.task,
    text: f.textKind === 'features' ? { kind: 'features' } : { kind: f.textKind, modelDir: f.modelDir },
    seed: f.seed,
    batchSize: f.batchSize,
    maxEpochs: f.maxEpochs,
    patience: f.patience,
    learningRate: f.learningRate,
    bertLearningRate: f.bertLearningRate,
    bertWeightDecay: f.bertWeightDecay,
    lossWeights: { joint: f.weightJoint, attention: f.weightAttention, reconstruction: f.weightReconstruction },
    model: {
      d: f.d,
      layers: f.layers,
      heads: f.heads,
      dropouts: {
        relu: f.dropoutRelu,
        residual: f.dropoutResidual,
        attention: f.dropoutAttention,
        embedding: f.dropoutEmbedding,
        output: f.dropoutOutput,
      },
      positional: f.positional,
    },
    accumulateFullViewGrad: f.accumulateFullViewGrad,
    ...(f.microBatchSize > 0 ? { microBatchSize: f.microBatchSize } : {}),
    validation:
      f.validationView === 'complete'
        ? { view: 'complete' }
        : { view: 'RMFM', rate: f.validationRate, seed: base.validation.view === 'RMFM' ? base.validation.seed : 1111 },
  };
}

/** problems that keep the form from being submitted, each naming its field */
export function formErrors(f: TrainingForm, base?: TrainingOptions): string[] {
  const out: string[] = [];
  if (f.datasetId === null) out.push('pick a dataset');
  if (f.textKind !== 'features' && !f.modelDir.trim())
    out.push(`the ${f.textKind} text encoder needs a BERT model folder`);
  const parsed = trainingOptionsSchema.safeParse(optionsFromForm({ ...f, modelDir: f.modelDir.trim() || 'x' }, base));
  if (!parsed.success) for (const i of parsed.error.issues) out.push(`${i.path.join('.')}: ${i.message}`);
  if (Number.isInteger(f.d) && Number.isInteger(f.heads) && f.heads > 0 && f.d % f.heads !== 0)
    out.push(`heads (${f.heads}) must divide d (${f.d})`);
  if (f.selectionMetric && !SELECTION_METRICS_BY_TASK[f.task].includes(f.selectionMetric))
    out.push(`selection metric ${f.selectionMetric} does not exist for the ${f.task}-class task`);
  return out;
}

/** what the user should know before training on a dataset (it can still be trained) */
export function datasetWarnings(d: Pick<Dataset, 'splits'>): string[] {
  const out: string[] = [];
  if (d.splits.test.count === 0)
    out.push('This dataset has 0 test samples: the run will train, but it cannot be evaluated on a test split.');
  if (d.splits.train.count === 0) out.push('This dataset has 0 training samples: there is nothing to train on.');
  return out;
}

/** one batch as the job reported it */
export interface BatchPoint {
  epoch: number;
  batch: number;
  batches: number;
  /** ms, from the worker's clock when it said, else when the event arrived */
  at: number;
  losses: EpochLosses;
}

export interface LiveState {
  run: RunRecord;
  job: JobRecord | null;
  epochs: RunEpoch[];
  /** batches of the job being watched (cleared when another job trains the run) */
  batches: BatchPoint[];
  /** the highest finished epoch the events imply */
  epochsSeen: number;
  /** bumped when the stored run or its epochs changed (an epoch finished, the job started or ended): the view refetches them */
  stale: number;
  memory: { rssBytes: number; heapUsedBytes: number } | null;
}

export interface TrainingState {
  datasets: Dataset[];
  runs: RunRecord[];
  form: TrainingForm;
  /** a cloned run's options: what the form does not show comes from here */
  base: TrainingOptions;
  live: LiveState | null;
  busy: boolean;
  error: string | null;
  /** where the error is shown: next to the control that caused it */
  errorAt: 'form' | 'live';
  /** the user changed the form in this session: a remembered form arriving late must not overwrite it */
  formTouched: boolean;
}

/** what is remembered of the New-run form across tab switches and reloads (settings 'ui.training.form') */
export interface RememberedForm {
  form: TrainingForm;
  base: TrainingOptions;
}
export const REMEMBERED_FORM_KEY = 'training.form';

export type TrainingAction =
  | { type: 'datasetsLoaded'; list: Dataset[] }
  | { type: 'runsLoaded'; list: RunRecord[] }
  | { type: 'set'; patch: Partial<TrainingForm> }
  | { type: 'resetDefaults' }
  | { type: 'clone'; run: RunRecord }
  | { type: 'busy' }
  | { type: 'started'; run: RunRecord; job: JobRecord }
  | { type: 'watch'; run: RunRecord }
  | { type: 'runLoaded'; run: RunRecord }
  | { type: 'epochsLoaded'; runId: number; epochs: RunEpoch[] }
  | { type: 'event'; event: AppEvent; now: number }
  /** `at: 'form'`: the New-run form's Start failed, so the error shows under its button */
  | { type: 'error'; message: string | null; at?: 'form' }
  | { type: 'restoreForm'; saved: unknown };

export const initialTraining: TrainingState = {
  datasets: [],
  runs: [],
  form: formFromOptions(PAPER_DEFAULTS, null),
  base: PAPER_DEFAULTS,
  live: null,
  busy: false,
  error: null,
  errorAt: 'live',
  formTouched: false,
};

/**
 * A remembered form, checked field by field against the current form's shape (a form saved by an
 * older version keeps the fields it has; anything of the wrong type falls back to the default), or
 * null when it is not a remembered form at all.
 */
export function parseRememberedForm(saved: unknown): RememberedForm | null {
  if (!saved || typeof saved !== 'object') return null;
  const { form, base } = saved as { form?: unknown; base?: unknown };
  if (!form || typeof form !== 'object') return null;
  const parsedBase = trainingOptionsSchema.safeParse(base ?? {});
  const defaults = formFromOptions(parsedBase.success ? parsedBase.data : PAPER_DEFAULTS, null);
  const out: Record<string, unknown> = { ...defaults };
  for (const [k, v] of Object.entries(form as Record<string, unknown>)) {
    if (!(k in defaults)) continue;
    const d = (defaults as unknown as Record<string, unknown>)[k];
    const sameType = typeof v === typeof d || (k === 'datasetId' && (v === null || typeof v === 'number'));
    if (sameType) out[k] = v;
  }
  return { form: out as unknown as TrainingForm, base: parsedBase.success ? parsedBase.data : PAPER_DEFAULTS };
}

const FINISHED = ['succeeded', 'failed', 'cancelled', 'interrupted'];
const LIVE_RUN: Record<string, RunRecord['status']> = { running: 'running', queued: 'queued' };

const upsertRun = (list: RunRecord[], run: RunRecord) =>
  list.some((r) => r.id === run.id) ? list.map((r) => (r.id === run.id ? run : r)) : [run, ...list];

const watch = (run: RunRecord, job: JobRecord | null = null): LiveState => ({
  run,
  job,
  epochs: [],
  batches: [],
  epochsSeen: run.epochsDone,
  stale: 0,
  memory: null,
});

export { runIdOfJob };

function onJob(live: LiveState, job: JobRecord, now: number): LiveState {
  if (runIdOfJob(job) !== live.run.id && job.id !== live.run.jobId) return live;
  const sameJob = live.job?.id === job.id;
  const statusChanged = live.job?.id !== job.id || live.job.status !== job.status;
  let next: LiveState = {
    ...live,
    job,
    batches: sameJob ? live.batches : [],
    stale: live.stale + (statusChanged ? 1 : 0),
  };
  if (FINISHED.includes(job.status)) return next;
  const status = LIVE_RUN[job.status];
  if (status && next.run.status !== status) next = { ...next, run: { ...next.run, status, jobId: job.id } };
  // train and search jobs report training figures; a search's are its current trial's
  const data = trainProgressOf(job);
  if (!data) return next;
  if (data.memory)
    next = { ...next, memory: { rssBytes: data.memory.rssBytes, heapUsedBytes: data.memory.heapUsedBytes } };
  const epoch = data.epoch;
  if (data.batch !== undefined) {
    const point: BatchPoint = {
      epoch,
      batch: data.batch,
      batches: data.batches,
      at: data.at ?? now,
      losses: data.losses,
    };
    const last = next.batches.at(-1);
    // a replayed epoch (resume) or a repeated event: drop what it supersedes
    const kept =
      last && (last.epoch > epoch || (last.epoch === epoch && last.batch >= point.batch))
        ? next.batches.filter((b) => b.epoch < epoch || (b.epoch === epoch && b.batch < point.batch))
        : next.batches;
    return seen({ ...next, batches: [...kept, point] }, epoch - 1);
  }
  // an epoch-end report (no batch)
  return seen(next, epoch);
}

const seen = (live: LiveState, epoch: number): LiveState =>
  epoch > live.epochsSeen ? { ...live, epochsSeen: epoch, stale: live.stale + 1 } : live;

export function trainingReducer(state: TrainingState, action: TrainingAction): TrainingState {
  switch (action.type) {
    case 'datasetsLoaded': {
      const keep = state.form.datasetId !== null && action.list.some((d) => d.id === state.form.datasetId);
      return {
        ...state,
        datasets: action.list,
        form: keep ? state.form : { ...state.form, datasetId: action.list[0]?.id ?? null },
      };
    }
    case 'runsLoaded': {
      const live = state.live
        ? { ...state.live, run: action.list.find((r) => r.id === state.live!.run.id) ?? state.live.run }
        : action.list[0]
          ? watch(action.list[0])
          : null;
      return { ...state, runs: action.list, live };
    }
    case 'set':
      return { ...state, formTouched: true, form: { ...state.form, ...action.patch } };
    case 'resetDefaults':
      return {
        ...state,
        formTouched: true,
        base: PAPER_DEFAULTS,
        form: formFromOptions(PAPER_DEFAULTS, state.form.datasetId),
      };
    case 'restoreForm': {
      const saved = state.formTouched ? null : parseRememberedForm(action.saved);
      if (!saved) return state;
      // a remembered dataset that no longer exists keeps the current choice
      const known =
        saved.form.datasetId !== null &&
        (!state.datasets.length || state.datasets.some((d) => d.id === saved.form.datasetId));
      return {
        ...state,
        base: saved.base,
        form: { ...saved.form, datasetId: known ? saved.form.datasetId : state.form.datasetId },
      };
    }
    case 'clone':
      return {
        ...state,
        formTouched: true,
        base: action.run.options,
        form: formFromOptions(
          action.run.options,
          action.run.datasetId ?? state.form.datasetId,
          `${action.run.name} (clone)`,
        ),
        error: null,
      };
    case 'busy':
      return { ...state, busy: true, error: null };
    case 'started':
      return {
        ...state,
        busy: false,
        runs: upsertRun(state.runs, action.run),
        live:
          state.live?.run.id === action.run.id
            ? { ...state.live, run: action.run, job: action.job, batches: [], stale: state.live.stale + 1 }
            : watch(action.run, action.job),
      };
    case 'watch':
      return state.live?.run.id === action.run.id ? state : { ...state, live: watch(action.run) };
    case 'runLoaded': {
      const live = state.live?.run.id === action.run.id ? { ...state.live, run: action.run } : state.live;
      return { ...state, runs: upsertRun(state.runs, action.run), live };
    }
    case 'epochsLoaded': {
      if (state.live?.run.id !== action.runId) return state;
      return { ...state, live: { ...state.live, epochs: action.epochs } };
    }
    case 'event': {
      const e = action.event;
      if (e.type !== 'job.updated' || !state.live) return state;
      const live = onJob(state.live, e.job, action.now);
      return live === state.live ? state : { ...state, live };
    }
    case 'error':
      return { ...state, busy: false, error: action.message, errorAt: action.at ?? 'live' };
  }
}

// ---- selectors ----

export const isResumable = (r: RunRecord) =>
  r.status === 'stopped' || r.status === 'interrupted' || r.status === 'failed';
export const isTraining = (r: RunRecord) => r.status === 'queued' || r.status === 'running';

export interface EpochProgress {
  epoch: number;
  maxEpochs: number;
  batch: number;
  batches: number;
  /** 0..1 within the epoch */
  fraction: number;
  /** ms per batch over the watched job's batches, null with fewer than two (see `estimated`) */
  msPerBatch: number | null;
  /** true while msPerBatch is the fine-tuning bench's figure, not this run's own timings */
  estimated: boolean;
  epochLeftMs: number | null;
  /** at most this long: early stopping may end the run sooner */
  runLeftMs: number | null;
}

/** the progress bar of the current epoch and the time left, estimated from batch timings */
export function epochProgress(live: LiveState): EpochProgress | null {
  const last = live.batches.at(-1);
  if (!last) return null;
  const maxEpochs = live.run.options.maxEpochs;
  // batch timings: consecutive reports within an epoch (validation time between epochs excluded)
  let ms = 0;
  let n = 0;
  for (let i = 1; i < live.batches.length; i++) {
    const a = live.batches[i - 1];
    const b = live.batches[i];
    if (a.epoch === b.epoch && b.batch > a.batch) {
      ms += b.at - a.at;
      n += b.batch - a.batch;
    }
  }
  // a fine-tuning run before its own timings: the measured BERT-base step (bench/textpath.ts)
  const estimated = n === 0 && live.run.options.text.kind === 'finetune';
  const msPerBatch = n > 0 ? ms / n : estimated ? fineTuneBatchEstimateMs(live.run.options.batchSize) : null;
  const epochLeftMs = msPerBatch === null ? null : msPerBatch * (last.batches - last.batch);
  // whole epochs still to come: their measured durations (validation included) when known, else batches only
  const done = live.epochs.filter((e) => e.epoch < last.epoch);
  const perEpoch = done.length
    ? done.reduce((s, e) => s + e.durationMs, 0) / done.length
    : msPerBatch === null
      ? null
      : msPerBatch * last.batches;
  const runLeftMs =
    epochLeftMs === null || perEpoch === null ? null : epochLeftMs + perEpoch * Math.max(0, maxEpochs - last.epoch);
  return {
    epoch: last.epoch,
    maxEpochs,
    batch: last.batch,
    batches: last.batches,
    fraction: last.batch / last.batches,
    msPerBatch,
    estimated,
    epochLeftMs,
    runLeftMs,
  };
}

export const LOSS_COMPONENTS: { key: keyof EpochLosses; label: string }[] = [
  { key: 'total', label: 'total' },
  { key: 'taskFull', label: 'NLL complete view' },
  { key: 'taskMissing', label: 'NLL missing view' },
  { key: 'joint', label: 'joint (1 - cos)' },
  { key: 'attention', label: 'attention KL' },
  { key: 'reconText', label: 'recon text' },
  { key: 'reconAudio', label: 'recon audio' },
  { key: 'reconVision', label: 'recon vision' },
];

/** per-epoch curves of every loss component */
export function epochLossSeries(epochs: RunEpoch[]): ChartSeries[] {
  return LOSS_COMPONENTS.map(({ key, label }) => ({
    name: label,
    points: epochs.map((e) => ({ x: e.epoch, y: e.losses[key] })),
  }));
}

/** per-batch curves of the watched job (x = epoch + fraction of it) */
export function batchLossSeries(
  batches: BatchPoint[],
  keys: (keyof EpochLosses)[] = ['total', 'taskFull', 'taskMissing'],
): ChartSeries[] {
  return LOSS_COMPONENTS.filter((c) => keys.includes(c.key)).map(({ key, label }) => ({
    name: label,
    points: batches.map((b) => ({ x: b.epoch - 1 + b.batch / b.batches, y: b.losses[key] })),
  }));
}

/** per-epoch curves of every validation metric (null/NaN breaks the line) */
export function validationSeries(epochs: RunEpoch[]): ChartSeries[] {
  const names = [...new Set(epochs.flatMap((e) => Object.keys(e.validation)))];
  return names.map((name) => ({ name, points: epochs.map((e) => ({ x: e.epoch, y: e.validation[name] ?? NaN })) }));
}

/** The form's note on fine-tuning BERT here: the measured step time and how it compares with PyTorch. */
export function fineTuneNote(batchSize: number): string {
  const vs =
    FINETUNE_VS_TORCH === null
      ? "PyTorch's time for the same step not measured yet"
      : `${FINETUNE_VS_TORCH.toFixed(1)}x PyTorch's time for the same step on this CPU`;
  return `fine-tuning BERT-base here: about ${formatDuration(fineTuneBatchEstimateMs(batchSize))} per batch of ${batchSize} on TF.js wasm, ${vs} (bench/textpath.ts)`;
}

export function formatDuration(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return 'estimating...';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export const formatBytes = (b: number) =>
  b >= 2 ** 30 ? `${(b / 2 ** 30).toFixed(2)} GB` : `${Math.round(b / 2 ** 20)} MB`;
