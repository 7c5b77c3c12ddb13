/**
 * Evaluating a trained run on the TEST split (spec sections 3, 5, 6):
 * - 'complete': the complete view, with per-sample predictions;
 * - 'RMFM' / 'RMM' / 'TMFM' / 'STMFM': seeded sweeps over missing rates with AUILC
 *   (TMFM/STMFM need aligned data);
 * - 'RMFM_same': one point at per-modality rates; 'SMM': the seven kept-modality subsets;
 * - 'MACI': at each missing rate (RMFM), the bias-word dictionary from the TRAINING split, the
 *   counterfactual view, tau chosen on the VALIDATION split, and the reference protocol (max over
 *   tau on test) reported beside it under its label. Needs a BERT model (see runs/text.ts).
 * Evaluation masks come from one seed (default 1111) so reruns and runs are comparable.
 * Inference runs on ONNX Runtime when the checkpoint has an ONNX export beside it (multi-threaded,
 * see ml/inference.ts), else on TF.js; the engine's name is part of the result.
 */
import { FeatureStore } from '../../data/featureStore';
import type { InferenceEngine } from '../inference';
import { openRunEngine } from './engine';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { biasDictionary, maciEvaluation, type BiasDictionary } from '../eval/maci';
import { runSelectionMetric } from '../../../shared/contract/training';
import { balancedValidationWeights, describeBalanced } from '../eval/balanced';
import { classificationMetrics, predictClasses, type Metrics } from '../eval/metrics';
import { missingMasks, SMM_SUBSETS, type KeepMasks } from '../eval/missing';
import { runMissingSweep, standardRates, sweepCurves } from '../eval/sweep';
import type {
  EvalProtocol,
  EvaluationOptions,
  EvaluationPoint,
  EvaluationPrediction,
  SelectionMetricName,
  TrainingOptions,
} from '../../../shared/contract/training';
import { openSplit, splitLayout, type SplitData } from './data';
import { openTextProvider, type TextProvider } from './text';
import { loadCheckpoint } from './checkpoint';
import { predictSplit } from './predict';

export interface ProtocolOutcome {
  protocol: EvalProtocol;
  points: EvaluationPoint[];
  auilc: Record<string, number | null> | null;
  predictions?: EvaluationPrediction[];
  /** why a protocol was not run (e.g. TMFM on unaligned data) */
  skipped?: string;
}

export interface EvaluateRunOptions {
  checkpointFile: string;
  datasetDir: string;
  options: EvaluationOptions;
  cacheDir?: string;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number, message: string) => void;
  /** each protocol's outcome as soon as it is done (stored by the caller) */
  onOutcome?: (o: ProtocolOutcome) => void | Promise<void>;
  /** once the model and the text source are loaded */
  onStart?: (info: { engine: string; engineDetail: string; textNote: string }) => void;
  /** 'auto' (default): ONNX when the checkpoint has an export, else TF.js */
  engine?: 'auto' | 'onnx' | 'tfjs';
}

export interface EvaluateRunResult {
  /** 'onnx' or 'tfjs-<backend>' */
  engine: string;
  /** the engine's details and why it was chosen */
  engineDetail: string;
  textNote: string;
  outcomes: ProtocolOutcome[];
}

/** Token names for descriptions, from the run's BERT vocabulary when it has one ('#id' otherwise). */
function tokenNames(text: TrainingOptions['text']): (id: number) => string {
  if (text.kind === 'features') return (id) => `#${id}`;
  try {
    const vocab = readFileSync(join(text.modelDir, 'vocab.txt'), 'utf8').split(/\r?\n/);
    return (id) => (vocab[id] ? `"${vocab[id]}"` : `#${id}`);
  } catch {
    return (id) => `#${id}`;
  }
}

function point(rate: EvaluationPoint['rate'], m: Metrics): EvaluationPoint {
  return {
    rate,
    metrics: { ...m.values } as Record<string, number>,
    confusion: m.confusion as unknown as Record<string, number[][]>,
  };
}

export async function evaluateRun(o: EvaluateRunOptions): Promise<EvaluateRunResult> {
  const ckpt = loadCheckpoint(o.checkpointFile);
  const { options: trainOpts } = ckpt.state;
  const task = trainOpts.task;
  const rates = o.options.rates ?? standardRates();
  const store = await FeatureStore.open(o.datasetDir);
  let text: TextProvider | undefined;
  let engine: InferenceEngine | undefined;
  try {
    const test = await openSplit(store, 'test', task);
    text = await openTextProvider({
      spec: trainOpts.text,
      L: test.L,
      datasetDl: test.dl,
      cacheDir: o.cacheDir,
      bertWeights: ckpt.bert ?? undefined,
    });
    const run = await openRunEngine(o.checkpointFile, ckpt, o.engine);
    engine = run.engine;
    const engineDetail = run.detail;
    const conf = run.conf;
    o.onStart?.({ engine: engine.name, engineDetail, textNote: text.note });
    const truth = { classes: test.labels };
    const batchSize = trainOpts.evalBatchSize;
    const m = engine;
    const tp = text;
    const predict = async (split: SplitData, keep?: KeepMasks, dictionary?: BiasDictionary) =>
      predictSplit(m, split, tp, conf, { batchSize, keep, dictionary, signal: o.signal });

    // units of work for the progress bar: one per predicted view of the test split
    const plan = o.options.protocols.map((p) =>
      p === 'complete' || p === 'RMFM_same'
        ? 1
        : p === 'SMM'
          ? SMM_SUBSETS.length
          : p === 'MACI'
            ? rates.length * 4
            : rates.length,
    );
    const total = plan.reduce((a, b) => a + b, 0);
    let done = 0;
    const step = (msg: string, n = 1) => {
      done += n;
      o.onProgress?.(done, total, msg);
    };

    const outcomes: ProtocolOutcome[] = [];
    for (const [pi, protocol] of o.options.protocols.entries()) {
      o.signal?.throwIfAborted();
      let out: ProtocolOutcome;
      if (protocol === 'complete') {
        const pred = await predict(test);
        const metrics = classificationMetrics(pred.logProbs, task, truth);
        const predicted = predictClasses(pred.logProbs, task);
        out = { protocol, points: [point(null, metrics)], auilc: null };
        if (o.options.predictions) {
          out.predictions = Array.from(predicted, (p, i) => ({
            index: i,
            truth: test.labels[i],
            prediction: p,
            logProbs: Array.from(pred.logProbs.subarray(i * task, (i + 1) * task)),
          }));
        }
        step('complete view');
      } else if (protocol === 'RMFM' || protocol === 'RMM' || protocol === 'TMFM' || protocol === 'STMFM') {
        if ((protocol === 'TMFM' || protocol === 'STMFM') && !test.aligned) {
          out = {
            protocol,
            points: [],
            auilc: null,
            skipped: `${protocol} needs aligned data (one time mask shared by text, audio and vision); this dataset is unaligned`,
          };
          step(`${protocol} skipped`, plan[pi]);
        } else {
          const sweep = await runMissingSweep({
            protocol,
            rates,
            layout: splitLayout(test),
            numClasses: task,
            truth,
            seed: o.options.seed,
            signal: o.signal,
            predict: async (keep) => (await predict(test, keep)).logProbs,
            onProgress: (_d, _t, p) => step(`${protocol} rate ${p.rate}`),
          });
          const auilc: Record<string, number | null> = {};
          for (const [name, curve] of Object.entries(sweep.curves)) auilc[name] = curve?.auilc ?? null;
          out = { protocol, points: sweep.points.map((p) => point(p.rate, p.metrics)), auilc };
        }
      } else if (protocol === 'RMFM_same') {
        const r = o.options.modalityRates;
        if (!r) throw new Error('RMFM_same needs modalityRates (text, audio, vision)');
        const keep = missingMasks(splitLayout(test), { kind: 'RMFM_same', rates: r }, o.options.seed);
        const metrics = classificationMetrics((await predict(test, keep)).logProbs, task, truth);
        out = { protocol, points: [point(`${r.text}/${r.audio}/${r.vision}`, metrics)], auilc: null };
        step('RMFM_same');
      } else if (protocol === 'SMM') {
        const points: EvaluationPoint[] = [];
        for (const subset of SMM_SUBSETS) {
          const keep = missingMasks(splitLayout(test), { kind: 'SMM', keep: subset }, o.options.seed);
          points.push(point(subset, classificationMetrics((await predict(test, keep)).logProbs, task, truth)));
          step(`SMM ${subset}`);
        }
        out = { protocol, points, auilc: null };
      } else {
        // MACI
        if (!tp.recomputes) {
          out = {
            protocol,
            points: [],
            auilc: null,
            skipped: `MACI needs a BERT model to encode the counterfactual ([MASK]ed) text; this run reads the dataset's precomputed features`,
          };
          step('MACI skipped', plan[pi]);
        } else {
          const train = await openSplit(store, 'train', task);
          const valid = await openSplit(store, 'valid', task);
          const dictionary = biasDictionary(train.ids3, train.count, train.L, { classes: train.labels }, task);
          // the balanced rule's weights depend only on the validation text, labels and dictionary
          const balanced = balancedValidationWeights(valid.ids3, valid.count, valid.L, valid.labels, task, dictionary);
          const balancedText = describeBalanced(balanced, tokenNames(trainOpts.text));
          const points: EvaluationPoint[] = [];
          for (const r of rates) {
            const vKeep = missingMasks(splitLayout(valid), { kind: 'RMFM', rate: r }, o.options.seed);
            const tKeep = missingMasks(splitLayout(test), { kind: 'RMFM', rate: r }, o.options.seed);
            const v = await predict(valid, vKeep, dictionary);
            step(`MACI rate ${r} (validation)`, 2);
            const t = await predict(test, tKeep, dictionary);
            step(`MACI rate ${r} (test)`, 2);
            const maci = maciEvaluation({
              numClasses: task,
              validation: { missing: v.logProbs, counterfactual: v.counterfactual!, truth: { classes: valid.labels } },
              test: { missing: t.logProbs, counterfactual: t.counterfactual!, truth },
              selectionMetric: runSelectionMetric(trainOpts),
              balanced,
              tauRule: o.options.tauRule,
            });
            const p = point(r, maci.test);
            const values = (m: Metrics) => ({ ...m.values }) as Record<string, number>;
            p.maci = {
              tauRule: maci.tauRule,
              selectedTau: maci.selectedTau,
              selectionMetric: maci.selectionMetric as SelectionMetricName,
              taus: {
                validation: maci.byRule.validation.tau,
                balanced: maci.byRule.balanced?.tau ?? null,
                reference: maci.byRule.reference.tau,
              },
              testByRule: {
                validation: values(maci.byRule.validation.test),
                balanced: maci.byRule.balanced && values(maci.byRule.balanced.test),
                reference: values(maci.byRule.reference.test),
              },
              balanced: {
                description: balancedText,
                effectiveSampleSize: balanced.effectiveSampleSize,
                n: balanced.n,
                strata: balanced.strata.length,
              },
              testWithoutDebiasing: { ...maci.testWithoutDebiasing.values } as Record<string, number>,
              referenceProtocol: {
                label: maci.referenceProtocol.label,
                values: maci.referenceProtocol.values as Record<string, { value: number; tau: number }>,
              },
            };
            points.push(p);
          }
          const curves = sweepCurves<string>(
            points.map((p) => p.rate as number),
            points.map((p) => p.metrics),
          );
          out = { protocol, points, auilc: Object.fromEntries(Object.entries(curves).map(([k, c]) => [k, c.auilc])) };
        }
      }
      outcomes.push(out);
      await o.onOutcome?.(out);
    }
    return { engine: m.name, engineDetail, textNote: tp.note, outcomes };
  } finally {
    await engine?.dispose();
    text?.dispose();
    await store.close();
  }
}
