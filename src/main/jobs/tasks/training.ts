/**
 * The 'train' and 'evaluate' jobs. Each worker opens its own connection to <dataDir>/cider.sqlite
 * (WAL: main keeps reading while the worker writes) and records through the RunStore as it goes:
 * every finished epoch, every evaluated protocol. A cancel is checked between batches; the
 * cancelled epoch is discarded, finished epochs and the resume checkpoint stay, and the run is
 * marked 'stopped' (resumable).
 */
import path from 'node:path';
import fs from 'node:fs';
import { AppError } from '../../../shared/errors';
import type { EvaluateJobResult, JobParams, MemoryFigures, TrainJobResult } from '../../../shared/jobs';
import { openDatabase } from '../../store/db';
import { databaseFile, textCacheDir } from '../../store/paths';
import { RunStore } from '../../store/runs';
import { runTraining, BEST_CHECKPOINT, LAST_CHECKPOINT } from '../../ml/runs/train';
import { evaluateRun } from '../../ml/runs/evaluate';
import { loadCheckpoint } from '../../ml/runs/checkpoint';
import { exportCheckpointToOnnx } from '../../ml/onnx';
import type { TaskContext } from '../protocol';

function openRuns(dataDir: string) {
  const db = openDatabase(databaseFile(dataDir));
  return { db, runs: new RunStore(db) };
}

/** process memory for the progress panel (in a worker thread, rss is the whole app process; heap is this worker's) */
const memory = (): MemoryFigures => {
  const m = process.memoryUsage();
  return { rssBytes: m.rss, heapUsedBytes: m.heapUsed, externalBytes: m.external, arrayBuffersBytes: m.arrayBuffers };
};

const cancelled = (e: unknown, ctx: TaskContext) =>
  ctx.signal.aborted || (e as { name?: string }).name === 'AbortError' || (e as { code?: string }).code === 'CANCELLED';

export async function trainTask(
  { runId, resume }: JobParams<'train'>,
  ctx: TaskContext<'train'>,
): Promise<TrainJobResult> {
  const { db, runs } = openRuns(ctx.dataDir);
  try {
    const run = runs.get(runId);
    const opt = run.options;
    let lastValidation: Record<string, number> | null = null;
    let startEpoch = 1;
    try {
      const result = await runTraining({
        datasetDir: run.datasetFolder,
        runDir: run.folder,
        options: opt,
        cacheDir: textCacheDir(ctx.dataDir),
        resume,
        signal: ctx.signal,
        log: (level, message) => ctx.log(level, message),
        onStart: (s) => {
          startEpoch = s.startEpoch;
          runs.markRunning(runId, s.engine);
          ctx.log(
            'info',
            `engine ${s.engine}; ${s.parameters} trainable parameters; ${s.batches} batches per epoch; confounders from ${s.confounders}`,
          );
          ctx.log('info', s.textNote);
        },
        onBatch: (p) => {
          const fraction = (p.epoch - 1 + p.batch / p.batches) / opt.maxEpochs;
          ctx.progress(
            fraction,
            `epoch ${p.epoch}/${opt.maxEpochs} batch ${p.batch}/${p.batches} loss ${p.losses.total.toFixed(4)}`,
            {
              runId,
              epoch: p.epoch,
              batch: p.batch,
              batches: p.batches,
              losses: p.losses,
              validation: lastValidation,
              memory: memory(),
              // when the batch finished (ms since epoch): the view's time-left estimate from batch timings
              at: Date.now(),
            },
          );
        },
        onEpoch: (e) => {
          runs.recordEpoch(runId, e);
          runs.setCheckpoints(
            runId,
            e.improved ? path.join(run.folder, BEST_CHECKPOINT) : null,
            path.join(run.folder, LAST_CHECKPOINT),
          );
          lastValidation = e.validation;
          const metric = run.selectionMetric;
          ctx.progress(
            e.epoch / opt.maxEpochs,
            `epoch ${e.epoch}: validation ${metric} ${e.selectionValue?.toFixed(4) ?? 'n/a'}${e.improved ? ' (best)' : ''}`,
            {
              runId,
              epoch: e.epoch,
              losses: e.losses,
              validation: e.validation,
              bestEpoch: e.bestEpoch,
              bestMetric: e.bestMetric,
              memory: memory(),
            },
          );
          ctx.log(
            'info',
            `epoch ${e.epoch}: loss ${e.losses.total.toFixed(4)} (complete ${e.losses.taskFull.toFixed(4)}), validation ${metric} ${e.selectionValue?.toFixed(4) ?? 'n/a'}${e.improved ? ' best' : ''} in ${(e.durationMs / 1000).toFixed(1)} s`,
          );
        },
      });
      runs.setCheckpoints(runId, result.bestCheckpoint, result.lastCheckpoint);
      await exportOnnx(result.bestCheckpoint, ctx);
      runs.finish(runId, 'completed');
      ctx.log(
        'info',
        `finished after epoch ${result.epochs} (${result.stopped}); best ${result.selectionMetric} ${result.bestMetric} at epoch ${result.bestEpoch}${startEpoch > 1 ? `; resumed at epoch ${startEpoch}` : ''}`,
      );
      return { runId, ...result };
    } catch (e) {
      if (cancelled(e, ctx)) {
        runs.finish(runId, 'stopped', {
          code: 'CANCELLED',
          message: 'stopped by the user; resume continues from the last finished epoch',
        });
        throw new AppError('CANCELLED', 'cancelled by the user');
      }
      const info = e instanceof AppError ? e.toInfo() : { code: 'INTERNAL', message: (e as Error).message };
      runs.finish(runId, 'failed', { code: info.code, message: info.message });
      throw e;
    }
  } finally {
    db.close();
  }
}

/**
 * Export the best checkpoint to ONNX beside it, so evaluations, sweeps and explanations run on
 * ONNX Runtime (multi-threaded) instead of TF.js. Not fatal: without it they run on TF.js.
 */
async function exportOnnx(checkpoint: string | null, ctx: TaskContext): Promise<void> {
  if (!checkpoint || !fs.existsSync(checkpoint)) return;
  try {
    const exp = await exportCheckpointToOnnx(loadCheckpoint(checkpoint).state.ciderConfig, checkpoint);
    ctx.log('info', `ONNX export ${exp.path} (${(exp.bytes / 1e6).toFixed(2)} MB), checked with ${exp.checkedWith}`);
  } catch (e) {
    ctx.log('warn', `no ONNX export (${(e as Error).message.split('\n')[0]}); evaluations will run on TF.js`);
  }
}

export async function evaluateTask(
  { runId, options }: JobParams<'evaluate'>,
  ctx: TaskContext<'evaluate'>,
): Promise<EvaluateJobResult> {
  const { db, runs } = openRuns(ctx.dataDir);
  try {
    const run = runs.get(runId);
    const file = path.join(run.folder, options.checkpoint === 'best' ? BEST_CHECKPOINT : LAST_CHECKPOINT);
    if (!fs.existsSync(file))
      throw new AppError(
        'CONFLICT',
        `run ${runId} has no ${options.checkpoint} checkpoint yet (${file}); train at least one epoch`,
      );
    const evaluationIds: number[] = [];
    const skipped: EvaluateJobResult['skipped'] = [];
    let engine = '';
    let textNote = '';
    const result = await evaluateRun({
      checkpointFile: file,
      datasetDir: run.datasetFolder,
      options,
      cacheDir: textCacheDir(ctx.dataDir),
      signal: ctx.signal,
      onProgress: (done, total, message) => ctx.progress(done / total, message, { runId, done, total }),
      onOutcome: (o) => {
        if (o.skipped) {
          skipped.push({ protocol: o.protocol, reason: o.skipped });
          ctx.log('warn', `${o.protocol} skipped: ${o.skipped}`);
          return;
        }
        const rec = runs.addEvaluation({
          runId,
          jobId: ctx.jobId,
          protocol: o.protocol,
          seed: options.seed,
          checkpoint: options.checkpoint,
          points: o.points,
          auilc: o.auilc,
          engine,
          textNote,
          predictions: o.predictions,
        });
        evaluationIds.push(rec.id);
      },
      onStart: (s) => {
        engine = s.engine;
        textNote = s.textNote;
        ctx.log('info', `engine ${s.engine} (${s.engineDetail}); ${s.textNote}`);
      },
    });
    return { runId, engine: result.engine, textNote: result.textNote, evaluationIds, skipped };
  } finally {
    db.close();
  }
}
