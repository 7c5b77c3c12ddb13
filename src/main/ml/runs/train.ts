/**
 * A training run (spec section 4): epochs of seeded, shuffled batches through the two-pass MSSD
 * step with fresh RMFM training masks, validation on the VALIDATION split after every epoch with
 * the selection metric (Non0_acc_2 for 3 classes, Acc_7 for 7), early stopping with patience,
 * the best checkpoint and a resume checkpoint written after every epoch.
 *
 * Reproducibility: the run's seed initialises the weights, and every epoch draws its shuffle,
 * training masks and dropout masks from streams derived from (seed, epoch) alone. So a run
 * reproduces exactly, and a run resumed from its checkpoint after epoch k (weights, Adam moments
 * and step counts restored) continues exactly as the uninterrupted run did. A cancelled epoch is
 * discarded: the checkpoint and the stored figures stay at the last finished epoch.
 *
 * Validation view (our decision): the complete view by default, as the reference selects; the
 * options can select on RMFM at one fixed rate instead (seeded masks, the same every epoch).
 */
import fs from 'node:fs';
import path from 'node:path';
import { initBackend, tf } from '../backends/tf';
import { Rng } from '../random';
import { FeatureStore } from '../../data/featureStore';
import { makeConfig } from '../model/config';
import { CiderModel, viewInputs, viewTensors } from '../model/cider';
import { initParams } from '../model/params';
import { disposeParams, paramsFromTensors } from '../model/weights';
import { Adam, ciderParamGroups } from '../train/adam';
import { rmfmTrainingMasks } from '../train/masks';
import { evalConfounders, missingViewMasks, trainStep, type StepLosses } from '../train/step';
import { classificationMetrics, meanNll, selectionBetter, selectionScore } from '../eval/metrics';
import { missingMasks } from '../eval/missing';
import {
  runSelectionMetric,
  type EpochLosses,
  type SelectionMetricName,
  type TrainingOptions,
} from '../../../shared/contract/training';
import { openSplit, readBatch, splitLayout } from './data';
import { openTextProvider, BERT_PREFIX } from './text';
import {
  confoundersFromExtras,
  confoundersFromTraining,
  trainingConfounders,
  type ConfounderArrays,
} from './confounders';
import { loadCheckpoint, saveCheckpoint, type RunState } from './checkpoint';
import { predictSplit } from './predict';
import { defaultTrainWorkers, ReplicaPool, trainStepParallel } from '../parallel/pool';

import { BEST_CHECKPOINT, LAST_CHECKPOINT } from './files';

export { BEST_CHECKPOINT, LAST_CHECKPOINT };

export interface BatchProgress {
  epoch: number;
  batch: number;
  batches: number;
  losses: StepLosses;
}

export interface EpochRecord {
  epoch: number;
  losses: EpochLosses;
  validation: Record<string, number>;
  selectionValue: number | null;
  improved: boolean;
  durationMs: number;
  bestEpoch: number | null;
  bestMetric: number | null;
}

export interface TrainRunOptions {
  datasetDir: string;
  /** the run's folder: checkpoints go here */
  runDir: string;
  options: TrainingOptions;
  /** frozen mode's text feature cache */
  cacheDir?: string;
  /** continue from runDir/last.safetensors when it exists */
  resume?: boolean;
  signal?: AbortSignal;
  onStart?: (info: {
    engine: string;
    startEpoch: number;
    batches: number;
    parameters: number;
    confounders: string;
    textNote: string;
  }) => void;
  onBatch?: (p: BatchProgress) => void;
  /** awaited before the epoch's checkpoint is written: a crash in between replays the epoch */
  onEpoch?: (r: EpochRecord) => void | Promise<void>;
  log?: (level: 'info' | 'warn', message: string) => void;
}

export interface TrainRunResult {
  engine: string;
  selectionMetric: SelectionMetricName;
  epochs: number;
  bestEpoch: number | null;
  bestMetric: number | null;
  stopped: 'early-stopping' | 'max-epochs';
  bestCheckpoint: string | null;
  lastCheckpoint: string;
}

const LOSS_KEYS = [
  'taskFull',
  'taskMissing',
  'joint',
  'attention',
  'reconText',
  'reconAudio',
  'reconVision',
  'total',
] as const;

/** Validation loss key in an epoch's validation record (mean NLL of the selection view). */
export const VALIDATION_LOSS_KEY = 'NLL';

/**
 * The epoch improves on the best: a strictly better selection score, or an equal one with a
 * strictly lower validation loss. NaN (no non-neutral validation sample) never counts as better.
 */
function better(
  metric: SelectionMetricName,
  value: number,
  loss: number,
  best: { metric: number | null; loss: number | null },
): boolean {
  const score = (v: number) => (metric === 'validation_loss' ? -v : v);
  if (!Number.isFinite(value)) return false;
  if (best.metric === null) return true;
  return selectionBetter({ score: score(value), loss }, { score: score(best.metric), loss: best.loss ?? NaN });
}

export async function runTraining(o: TrainRunOptions): Promise<TrainRunResult> {
  const opt = o.options;
  const log = o.log ?? (() => undefined);
  const backend = await initBackend();
  const engine = `tfjs-${backend.name}`;
  fs.mkdirSync(o.runDir, { recursive: true });
  const lastFile = path.join(o.runDir, LAST_CHECKPOINT);
  const bestFile = path.join(o.runDir, BEST_CHECKPOINT);
  const ckpt = o.resume && fs.existsSync(lastFile) ? loadCheckpoint(lastFile) : null;

  const store = await FeatureStore.open(o.datasetDir);
  const task = opt.task;
  const metricName = runSelectionMetric(opt);
  let text: Awaited<ReturnType<typeof openTextProvider>> | undefined;
  let model: CiderModel | undefined;
  let optimizer: Adam | undefined;
  let pool: ReplicaPool | undefined;
  const owned: tf.Tensor[] = [];
  try {
    const train = await openSplit(store, 'train', task);
    const valid = await openSplit(store, 'valid', task);
    text = await openTextProvider({
      spec: opt.text,
      L: train.L,
      datasetDl: train.dl,
      cacheDir: o.cacheDir,
      bertWeights: ckpt?.bert ?? undefined,
      training: true,
    });
    const cfg = makeConfig({
      aligned: train.aligned,
      classes: task,
      textLength: train.L,
      audioLength: train.Ta,
      visionLength: train.Tv,
      dl: text.dl,
      da: train.da,
      dv: train.dv,
      d: opt.model.d,
      layers: opt.model.layers,
      heads: opt.model.heads,
      dropouts: opt.model.dropouts,
      positional: opt.model.positional,
    });
    let confounders: ConfounderArrays;
    if (ckpt) confounders = ckpt.confounders;
    else if (opt.confounders.source === 'extras')
      confounders = confoundersFromExtras(
        store,
        opt.confounders.dictionary,
        opt.confounders.prior,
        task,
        cfg.dl + cfg.da + cfg.dv,
      );
    else confounders = await confoundersFromTraining(train, text, task, opt.evalBatchSize, o.signal);
    if (confounders.counts.some((k) => k === 0))
      log(
        'warn',
        `training split has no sample of class(es) ${confounders.counts.flatMap((k, c) => (k === 0 ? [c] : [])).join(', ')}; their confounder vectors are zero`,
      );

    const params = ckpt ? paramsFromTensors(cfg, ckpt.tensors, { source: lastFile }).params : initParams(cfg, opt.seed);
    model = new CiderModel(cfg, params);
    optimizer = new Adam({
      groups: ciderParamGroups(
        (n) => n.startsWith(BERT_PREFIX),
        { bert: opt.bertLearningRate, other: opt.learningRate },
        opt.bertWeightDecay,
      ),
    });
    const vars = new Map<string, tf.Variable>([...params, ...text.variables]);
    if (ckpt) optimizer.importState(vars, ckpt.optimizer);

    const trainConf = trainingConfounders(confounders, task);
    const evalConf = evalConfounders(trainConf.dictionary);
    owned.push(trainConf.dictionary, trainConf.prior, evalConf.dictionary, evalConf.prior);
    const validKeep =
      opt.validation.view === 'RMFM'
        ? missingMasks(splitLayout(valid), { kind: 'RMFM', rate: opt.validation.rate }, opt.validation.seed)
        : undefined;

    const state: RunState = ckpt
      ? { ...ckpt.state, options: opt, stopped: null }
      : {
          epoch: 0,
          bestEpoch: null,
          bestMetric: null,
          bestLoss: null,
          badEpochs: 0,
          stopped: null,
          options: opt,
          ciderConfig: cfg,
          confounderSource: confounders.source,
          confounderCounts: confounders.counts,
          adamSteps: {},
        };
    if (ckpt?.state.stopped === 'early-stopping') {
      log('info', `the run already stopped early at epoch ${ckpt.state.epoch}; nothing to resume`);
      return {
        engine,
        selectionMetric: metricName,
        epochs: state.epoch,
        bestEpoch: state.bestEpoch,
        bestMetric: state.bestMetric,
        stopped: 'early-stopping',
        bestCheckpoint: fs.existsSync(bestFile) ? bestFile : null,
        lastCheckpoint: lastFile,
      };
    }
    const B = opt.batchSize;
    const batches = Math.ceil(train.count / B);
    let parameters = 0;
    for (const v of vars.values()) parameters += v.size;
    const threads = opt.workers ?? defaultTrainWorkers(B);
    if (threads > 1 && text.variables.size === 0) {
      try {
        pool = await ReplicaPool.create(model, threads);
      } catch (e) {
        log(
          'warn',
          `training on one thread: the replica workers did not start (${e instanceof Error ? e.message : String(e)})`,
        );
      }
    } else if (threads > 1)
      log('info', 'training on one thread: the fine-tuned text encoder is not replicated to workers');
    o.onStart?.({
      engine,
      startEpoch: state.epoch + 1,
      batches,
      parameters,
      confounders: confounders.source,
      textNote: text.note,
    });
    if (ckpt) log('info', `resuming after epoch ${state.epoch} from ${lastFile}`);

    let stopped: 'early-stopping' | 'max-epochs' = 'max-epochs';
    for (let epoch = state.epoch + 1; epoch <= opt.maxEpochs; epoch++) {
      const t0 = performance.now();
      const epochRng = new Rng(opt.seed).child(`epoch:${epoch}`);
      const order = epochRng.child('shuffle').shuffle(Array.from({ length: train.count }, (_, i) => i));
      const masksRng = epochRng.child('masks');
      const dropoutRng = epochRng.child('dropout');
      const sums = Object.fromEntries(LOSS_KEYS.map((k) => [k, 0])) as Record<(typeof LOSS_KEYS)[number], number>;
      for (let k = 0; k < batches; k++) {
        o.signal?.throwIfAborted();
        const rows = order.slice(k * B, (k + 1) * B);
        const batch = await readBatch(train, rows, text.kind === 'features');
        const n = batch.size;
        const keep = rmfmTrainingMasks(
          masksRng,
          n,
          batch.textMask,
          batch.textLengths,
          batch.audioMask,
          batch.visionMask,
        );
        const src = await text.trainingSource(batch, keep.text);
        const view = viewInputs(cfg, n, batch, src.source);
        const labels = tf.tensor1d(batch.labels, 'int32');
        const stepMasks = missingViewMasks(cfg, n, keep);
        let losses: StepLosses;
        try {
          const stepBatch = { ...view, labels };
          const stepOpts = {
            rng: dropoutRng,
            mssd: opt.mssd !== false,
            lossWeights: opt.lossWeights,
            accumulateFullViewGrad: opt.accumulateFullViewGrad,
            microBatchSize: opt.microBatchSize,
          };
          losses = pool
            ? await trainStepParallel(pool, model, optimizer, stepBatch, stepMasks, trainConf, stepOpts)
            : trainStep(model, optimizer, stepBatch, stepMasks, trainConf, stepOpts);
        } finally {
          src.dispose();
          tf.dispose([...viewTensors(view), labels, ...Object.values(stepMasks)]);
        }
        for (const key of LOSS_KEYS) sums[key] += losses[key] * n;
        o.onBatch?.({ epoch, batch: k + 1, batches, losses });
        // let a cancel message reach the worker between batches
        await new Promise((r) => setImmediate(r));
      }
      const losses = Object.fromEntries(
        LOSS_KEYS.map((key) => [key, sums[key] / train.count]),
      ) as unknown as EpochLosses;

      const pred = await predictSplit(model, valid, text, evalConf, {
        batchSize: opt.evalBatchSize,
        keep: validKeep,
        signal: o.signal,
      });
      const metrics = classificationMetrics(pred.logProbs, task, { classes: valid.labels });
      const loss = meanNll(pred.logProbs, task, valid.labels);
      const validation = { ...metrics.values, [VALIDATION_LOSS_KEY]: loss } as Record<string, number>;
      // the metric itself (the loss for validation_loss, where lower is better)
      const value = metricName === 'validation_loss' ? loss : selectionScore(metrics, metricName, loss);
      const improved = better(metricName, value, loss, { metric: state.bestMetric, loss: state.bestLoss ?? null });
      if (improved) {
        state.bestMetric = value;
        state.bestLoss = loss;
        state.bestEpoch = epoch;
        state.badEpochs = 0;
      } else state.badEpochs++;
      state.epoch = epoch;
      if (state.badEpochs >= opt.patience) state.stopped = 'early-stopping';
      else if (epoch === opt.maxEpochs) state.stopped = 'max-epochs';
      const record: EpochRecord = {
        epoch,
        losses,
        validation,
        selectionValue: Number.isFinite(value) ? value : null,
        improved,
        durationMs: performance.now() - t0,
        bestEpoch: state.bestEpoch,
        bestMetric: state.bestMetric,
      };
      await o.onEpoch?.(record);
      const textTensors = text.checkpointTensors();
      if (improved) await saveCheckpoint(bestFile, { params: model.params, text: textTensors, confounders, state });
      await saveCheckpoint(lastFile, { params: model.params, text: textTensors, confounders, optimizer, state });
      if (state.stopped) {
        stopped = state.stopped;
        if (stopped === 'early-stopping')
          log(
            'info',
            `early stopping after epoch ${epoch}: no better ${metricName} for ${opt.patience} epochs (best ${state.bestMetric} at epoch ${state.bestEpoch})`,
          );
        break;
      }
    }
    return {
      engine,
      selectionMetric: metricName,
      epochs: state.epoch,
      bestEpoch: state.bestEpoch,
      bestMetric: state.bestMetric,
      stopped,
      bestCheckpoint: fs.existsSync(bestFile) ? bestFile : null,
      lastCheckpoint: lastFile,
    };
  } finally {
    await pool?.dispose();
    tf.dispose(owned);
    optimizer?.dispose();
    if (model) disposeParams(model.params);
    text?.dispose();
    await store.close();
  }
}
