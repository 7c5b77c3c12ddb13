/**
 * The analysis service: handlers for src/shared/contract/analysis.ts.
 *
 * Per-sample calls (explain, counterfactual, tokenize, saveEdit) run here: one small batch through
 * the model (the 8 coalitions, or 2 views) on an analyzer kept open per run and checkpoint (at
 * most two, the oldest disposed), so the simulator's sliders answer without reloading weights.
 * Whole-split work (robustness sweeps, IID/OOD comparison) runs as jobs whose workers store
 * their results; sweeps/oodComparisons read them back.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Handlers } from '../../shared/api';
import { AppError } from '../../shared/errors';
import type { AnalysisTarget, CounterfactualResult, Explanation, MissingSetting } from '../../shared/contract/analysis';
import type { RunRecord } from '../../shared/contract/training';
// the analyzer and the robustness protocols load TF.js: imported when first used, not at start-up
import type { RunAnalyzer, SampleInput } from '../ml/analysis/analyzer';
import { SEVEN_CLASS_NAMES, THREE_CLASS_NAMES } from '../ml/eval/labels';
import { standardRates } from '../ml/eval/sweep';
import { BEST_CHECKPOINT, LAST_CHECKPOINT } from '../ml/runs/files';
import { readFeatureFrames, readFeatureRecord } from '../clips/features/store';
import type { TextFeatures } from '../clips/features/text';
import { datasetsRoot, textCacheDir } from '../store/paths';
import { AnalysisStore } from '../store/analysis';
import { DatasetStore } from '../store/datasets';
import { RunStore } from '../store/runs';
import type { ServiceContext } from './app';
import { resolveOodPair } from './oodPair';
import { robustnessRunsRecord } from './robustnessRuns';
import { slurmScriptFor } from '../jobs/executors/remote';
import { isJobOf, type JobRecordOf } from '../../shared/jobs';

const MAX_OPEN_ANALYZERS = 2;

/** Errors of the analysis layer reach the UI/CLI as plain messages with a stable code. */
function asAppError(e: unknown): unknown {
  if (
    e instanceof Error &&
    (e.name === 'AnalysisError' || e.name === 'TextModelError' || e.name === 'RunDataError' || e.name === 'ShapeError')
  )
    return new AppError('INVALID_INPUT', e.message);
  return e;
}

export function analysisService(ctx: ServiceContext): {
  handlers: Handlers<void>['analysis'];
  close(): Promise<void>;
} {
  const runs = new RunStore(ctx.db);
  const store = new AnalysisStore(ctx.db);
  const datasets = new DatasetStore(ctx.db, datasetsRoot(ctx.dataDir));
  const open = new Map<string, Promise<RunAnalyzer>>();

  const checkpointFile = (run: RunRecord, which: 'best' | 'last') => {
    const file = path.join(run.folder, which === 'best' ? BEST_CHECKPOINT : LAST_CHECKPOINT);
    if (!fs.existsSync(file))
      throw new AppError('CONFLICT', `run ${run.id} has no ${which} checkpoint yet; train at least one epoch`);
    return file;
  };

  const analyzer = async (run: RunRecord, which: 'best' | 'last'): Promise<RunAnalyzer> => {
    const file = checkpointFile(run, which);
    const key = `${run.id}:${which}:${fs.statSync(file).mtimeMs}`;
    let a = open.get(key);
    if (a) {
      open.delete(key);
      open.set(key, a);
      return a;
    }
    a = import('../ml/analysis/analyzer').then(({ RunAnalyzer }) =>
      RunAnalyzer.open({
        checkpointFile: file,
        datasetDir: run.datasetFolder,
        cacheDir: textCacheDir(ctx.dataDir),
      }),
    );
    open.set(key, a);
    a.catch(() => open.delete(key));
    while (open.size > MAX_OPEN_ANALYZERS) {
      const [oldKey, old] = open.entries().next().value!;
      open.delete(oldKey);
      void old.then(
        (x) => x.dispose(),
        () => undefined,
      );
    }
    return a;
  };

  const datasetDirOf = (run: RunRecord, datasetId: number | undefined) => {
    if (datasetId === undefined) return { dir: run.datasetFolder, id: run.datasetId };
    const d = datasets.get(datasetId);
    return { dir: datasets.dir(d), id: d.id };
  };

  /** A clip's extracted features laid out as the run's model reads them (the clips export's rules). */
  const clipSample = (a: RunAnalyzer, clipId: number): SampleInput => {
    const c = a.config;
    const t = readFeatureRecord(ctx.dataDir, clipId, 'text');
    if (!t || !t.available || !t.text)
      throw new AppError('CONFLICT', `clip ${clipId} has no text features (token ids) yet: extract its features first`);
    const tf = t.text as TextFeatures;
    if (tf.L !== c.textLength)
      throw new AppError(
        'INVALID_INPUT',
        `clip ${clipId} was tokenised with L=${tf.L}; the run's model reads L=${c.textLength}`,
      );
    const ids3 = new Int32Array(3 * c.textLength);
    tf.ids.forEach((row, k) => ids3.set(row, k * c.textLength));
    const stream = (m: 'audio' | 'vision', T: number, dims: number) => {
      const r = readFeatureRecord(ctx.dataDir, clipId, m);
      if (!r) throw new AppError('CONFLICT', `clip ${clipId} has no ${m} features yet: extract its features first`);
      if (r.dims !== dims)
        throw new AppError(
          'INVALID_INPUT',
          `clip ${clipId}'s ${m} features have ${r.dims} channels; the run's model reads ${dims} (train on a dataset exported from clips)`,
        );
      const out = new Float32Array(T * dims);
      if (!r.available || r.frames === 0) return { data: out, length: 0 };
      if (c.aligned) {
        if (!r.aligned) return { data: out, length: 0 };
        out.set(readFeatureFrames(ctx.dataDir, clipId, m, true).subarray(0, T * dims));
        return { data: out, length: tf.length };
      }
      const frames = readFeatureFrames(ctx.dataDir, clipId, m);
      const n = Math.min(T, r.frames);
      out.set(frames.subarray(0, n * dims));
      return { data: out, length: n };
    };
    const audio = stream('audio', c.audioLength, c.da);
    const vision = stream('vision', c.visionLength, c.dv);
    return {
      label: `clip ${clipId}`,
      ids3,
      features: null,
      audio: audio.data,
      vision: vision.data,
      textLength: tf.length,
      audioLength: c.aligned ? tf.length : audio.length,
      visionLength: c.aligned ? tf.length : vision.length,
      truth: null,
      streamIndex: 0,
      rawText: tf.tokens.map((x) => x.text).join(' '),
    };
  };

  const sampleOf = async (a: RunAnalyzer, run: RunRecord, target: AnalysisTarget): Promise<SampleInput> => {
    if (target.kind === 'clip') {
      if (a.state.options.text.kind === 'features')
        throw new AppError(
          'CONFLICT',
          `run ${run.id} reads the dataset's precomputed text features; a clip has none, so it needs a run trained with a BERT model folder`,
        );
      return clipSample(a, target.clipId);
    }
    return a.datasetSample(datasetDirOf(run, target.datasetId).dir, target.split, target.index);
  };

  const classNames = (a: RunAnalyzer) => [...(a.classes === 3 ? THREE_CLASS_NAMES : SEVEN_CLASS_NAMES)];

  /**
   * Every rule's tau for the editor's slider: a MACI evaluation's rate-0 point (it has all three),
   * else the newest IID/OOD comparison made with that rule (validation or balanced; a comparison
   * under the reference rule has one tau per metric and split, so none is marked).
   */
  const ruleTaus = (runId: number): NonNullable<CounterfactualResult['ruleTaus']> => {
    const out: NonNullable<CounterfactualResult['ruleTaus']> = { validation: null, balanced: null, reference: null };
    for (const e of runs.evaluations(runId).reverse()) {
      if (e.protocol !== 'MACI') continue;
      const p = e.points.find((x) => x.rate === 0) ?? e.points[0];
      if (!p?.maci) continue;
      const where = `MACI evaluation ${e.id} (rate ${String(p.rate)})`;
      const t = p.maci.taus ?? { [p.maci.tauRule ?? 'validation']: p.maci.selectedTau };
      if (t.validation !== undefined && t.validation !== null)
        out.validation = { tau: t.validation, source: `${where}, validation split` };
      if (t.balanced !== undefined && t.balanced !== null)
        out.balanced = {
          tau: t.balanced,
          source: `${where}, ${p.maci.balanced?.description ?? 'balanced validation split'}`,
        };
      if (t.reference !== undefined && t.reference !== null)
        out.reference = { tau: t.reference, source: `${where}, best on the TEST split (optimistic)` };
      break;
    }
    for (const c of store.comparisons(runId)) {
      if (c.selectedTau === null) continue;
      const rule = c.tauRule ?? 'validation';
      if (rule === 'validation' && !out.validation)
        out.validation = { tau: c.selectedTau, source: `IID/OOD comparison ${c.id} (complete view, validation split)` };
      if (rule === 'balanced' && !out.balanced)
        out.balanced = {
          tau: c.selectedTau,
          source: `IID/OOD comparison ${c.id} (complete view, ${c.balanced?.description ?? 'balanced validation split'})`,
        };
    }
    return out;
  };

  const counterfactualOf = async (
    runId: number,
    target: AnalysisTarget,
    missing: MissingSetting,
    which: 'best' | 'last',
    tokenIds?: number[],
  ): Promise<CounterfactualResult> => {
    const run = runs.get(runId);
    const a = await analyzer(run, which);
    const s = await sampleOf(a, run, target);
    const r = await a.counterfactual(s, missing, tokenIds);
    return {
      runId,
      target,
      classNames: classNames(a),
      ...r,
      ...(() => {
        const taus = ruleTaus(runId);
        return { validationTau: taus.validation, ruleTaus: taus };
      })(),
    };
  };

  const robustnessRunsJob = (id: number): JobRecordOf<'analysis.robustnessRuns'> => {
    const job = ctx.jobs.get(id);
    if (job.kind !== 'analysis.robustnessRuns')
      throw new AppError('NOT_FOUND', `robustness job ${id} does not exist (job ${id} is a ${job.kind} job)`);
    return job;
  };
  const guard =
    <A, R>(f: (args: A) => Promise<R> | R) =>
    async (args: A): Promise<R> => {
      try {
        return await f(args);
      } catch (e) {
        throw asAppError(e);
      }
    };

  const handlers: Handlers<void>['analysis'] = {
    explain: guard(async ({ runId, target, missing, checkpoint }): Promise<Explanation> => {
      const run = runs.get(runId);
      const a = await analyzer(run, checkpoint);
      const s = await sampleOf(a, run, target);
      const x = await a.explain(s, missing);
      return {
        runId,
        target,
        label: s.label,
        classNames: classNames(a),
        truth: s.truth,
        probabilities: x.probabilities,
        prediction: x.prediction,
        shapley: x.shapley,
        subsets: x.subsets,
        tokens: x.tokens,
        dropped: x.dropped,
        attentionSegments: x.attention.segments,
        attentionWords: x.attention.words,
        wsam: x.wsam,
        textNote: a.text.note,
        engine: a.engine,
      };
    }),
    counterfactual: guard(({ runId, target, missing, tokenIds, checkpoint }) =>
      counterfactualOf(runId, target, missing, checkpoint, tokenIds),
    ),
    tokenize: guard(async ({ runId, text }) => {
      const run = runs.get(runId);
      const a = await analyzer(run, 'best');
      if (!a.tokenizer)
        throw new AppError(
          'CONFLICT',
          `run ${runId} has no BERT vocabulary (it reads the dataset's precomputed features), so new words cannot be encoded`,
        );
      const tokens = a.tokenizer.tokenize(text).map((t) => t.id);
      return {
        ids: tokens,
        tokens: tokens.map((i) => a.tokenizer!.idToToken[i] ?? `#${i}`),
      };
    }),
    saveEdit: guard(async ({ id, runId, target, name, tokenIds, missing, checkpoint }) => {
      const run = runs.get(runId);
      // a sample edit names its dataset; a run trained on a bare folder keeps it unnamed (= the run's own data)
      const resolved: AnalysisTarget =
        target.kind === 'sample'
          ? {
              ...target,
              datasetId: target.datasetId ?? run.datasetId ?? undefined,
            }
          : target;
      const r = await counterfactualOf(runId, resolved, missing, checkpoint, tokenIds);
      if (!r.available)
        throw new AppError('CONFLICT', r.reason ?? 'counterfactual predictions are unavailable for this run');
      return store.saveEdit({
        id,
        runId,
        target: resolved,
        name,
        tokenIds,
        missing,
        prediction: {
          counterfactual: r.counterfactual,
          factual: r.factual,
          debiased: r.debiased,
        },
      });
    }),
    edits: ({ runId, target }) => store.edits({ runId, target }),
    removeEdit: ({ id }) => {
      store.removeEdit(id);
      return { removed: true as const };
    },
    robustness: guard(async ({ runId, protocols, rates, seed, checkpoint }) => {
      const run = runs.get(runId);
      checkpointFile(run, checkpoint);
      const { robustnessProtocol } = await import('../ml/analysis/robustness');
      for (const p of protocols) robustnessProtocol(p, 0);
      return ctx.runner.submit(
        'analysis.robustness',
        { runId, protocols, rates: rates ?? standardRates(), seed, checkpoint },
        run.projectId,
      );
    }),
    robustnessRuns: guard(async ({ runIds, protocols, rates, seed, checkpoint, executor }) => {
      const unique = [...new Set(runIds)];
      const chosen = unique.map((id) => runs.get(id));
      for (const run of chosen) checkpointFile(run, checkpoint);
      const { robustnessProtocol } = await import('../ml/analysis/robustness');
      for (const p of protocols) robustnessProtocol(p, 0);
      const projects = new Set(chosen.map((r) => r.projectId));
      const job = ctx.runner.submit(
        'analysis.robustnessRuns',
        { runIds: unique, protocols, rates: rates ?? standardRates(), seed, checkpoint, executor },
        projects.size === 1 ? chosen[0].projectId : null,
      );
      return robustnessRunsRecord(job, runs, store);
    }),
    robustnessRunsGet: ({ id }) => robustnessRunsRecord(robustnessRunsJob(id), runs, store),
    robustnessRunsList: ({ runId }) =>
      ctx.jobs
        .list({ limit: 1000 })
        .filter((j): j is JobRecordOf<'analysis.robustnessRuns'> => isJobOf(j, 'analysis.robustnessRuns'))
        .filter((j) => runId === undefined || j.params.runIds.includes(runId))
        .map((j) => robustnessRunsRecord(j, runs, store)),
    sbatchPreview: async ({ executor, trials, name }) => ({
      script: slurmScriptFor(ctx.dataDir, executor, '<job id>', name, trials),
    }),
    sweeps: ({ runIds }) => store.sweeps(runIds),
    compareOod: ({ runId, oodDatasetId, withRunId, tauRule, checkpoint }) => {
      const run = runs.get(runId);
      checkpointFile(run, checkpoint);
      const pair = resolveOodPair(datasets, runs, run, oodDatasetId, withRunId);
      if (pair.withRun) checkpointFile(pair.withRun, checkpoint);
      const ref = (d: { id: number; name: string }) => ({
        id: d.id,
        dir: datasets.dir(datasets.get(d.id)),
        name: d.name,
      });
      return ctx.runner.submit(
        'analysis.compareOod',
        {
          runId,
          checkpoint,
          tauRule,
          iid: ref(pair.iid),
          ood: ref(pair.ood),
          ...(pair.withRun ? { withRunId: pair.withRun.id } : {}),
        },
        run.projectId,
      );
    },
    oodComparisons: ({ runId }) => store.comparisons(runId),
  };

  return {
    handlers,
    async close() {
      const all = [...open.values()];
      open.clear();
      for (const a of all)
        await a.then(
          (x) => x.dispose(),
          () => undefined,
        );
    },
  };
}
