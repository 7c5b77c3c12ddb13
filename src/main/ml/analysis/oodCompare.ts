/**
 * IID vs OOD test splits for one run, side by side: label distributions, every metric with and
 * without MACI debiasing (spec 5), confusion matrices, per-class error rates, the selection
 * metric over tau, and the samples whose prediction flips between plain and debiased.
 *
 * tau is chosen on the VALIDATION split of the run's own dataset (complete view, selection metric,
 * smallest tau on ties: eval/maci.ts selectTau), never on either test split. The bias-word
 * dictionary comes from the run's TRAINING split. Both test splits are scored on the complete
 * view. A features-mode run has no counterfactual view, so only the plain side is filled and the
 * reason is given.
 */
import { openRunEngine } from '../runs/engine';
import type { SplitSide } from '../../../shared/contract/analysis';
import { FeatureStore } from '../../data/featureStore';
import { biasDictionary, debiasedScores, selectTau, tauGrid } from '../eval/maci';
import {
  classificationMetrics,
  predictClasses,
  selectionMetric,
  selectionMetricName,
  type Metrics,
} from '../eval/metrics';
import { SEVEN_CLASS_NAMES, THREE_CLASS_NAMES } from '../eval/labels';
import { loadCheckpoint } from '../runs/checkpoint';
import { openSplit, type SplitData } from '../runs/data';
import { openTextProvider } from '../runs/text';
import { predictSplit } from '../runs/predict';

/** One side of the comparison as computed here; the service adds the dataset id and kind. */
export type OodSideResult = Omit<SplitSide, 'datasetId' | 'kind'>;

export interface OodCompareResult {
  classNames: string[];
  selectionMetric: string;
  taus: number[];
  selectedTau: number | null;
  iid: OodSideResult;
  ood: OodSideResult;
  textNote: string;
  debiasNote: string | null;
  engine: string;
}

const MAX_FLIPS = 200;

function confusionOf(m: Metrics): number[][] {
  return m.numClasses === 3 ? m.confusion.threeClass : m.confusion.sevenClass;
}

function classErrors(conf: number[][]): number[] {
  return conf.map((row, c) => {
    const n = row.reduce((a, b) => a + b, 0);
    return n ? 1 - row[c] / n : NaN;
  });
}

export async function compareIidOod(o: {
  checkpointFile: string;
  /** the run's own dataset: validation (tau) and training (dictionary) splits */
  runDatasetDir: string;
  iidDir: string;
  oodDir: string;
  cacheDir?: string;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number, message: string) => void;
}): Promise<OodCompareResult> {
  const ckpt = loadCheckpoint(o.checkpointFile);
  const { options, ciderConfig: cfg } = ckpt.state;
  const task = options.task;
  const stores: FeatureStore[] = [];
  const open = async (dir: string) => {
    const s = await FeatureStore.open(dir);
    stores.push(s);
    return s;
  };
  const runStore = await open(o.runDatasetDir);
  const text = await openTextProvider({
    spec: options.text,
    L: cfg.textLength,
    datasetDl: runStore.manifest.dims.dl ?? null,
    cacheDir: o.cacheDir,
    bertWeights: ckpt.bert ?? undefined,
  });
  // ONNX Runtime when the run has an export, else TF.js
  const run = await openRunEngine(o.checkpointFile, ckpt);
  try {
    const debias = text.recomputes;
    const total = debias ? 3 : 2;
    let done = 0;
    const step = (msg: string) => o.onProgress?.(++done, total, msg);
    const train = await openSplit(runStore, 'train', task);
    const dictionary = debias
      ? biasDictionary(train.ids3, train.count, train.L, { classes: train.labels }, task)
      : undefined;
    const predict = (split: SplitData) =>
      predictSplit(run.engine, split, text, run.conf, {
        batchSize: options.evalBatchSize,
        dictionary,
        signal: o.signal,
      });
    const taus = tauGrid();
    let selectedTau: number | null = null;
    if (debias) {
      const valid = await openSplit(runStore, 'valid', task);
      const v = await predict(valid);
      selectedTau = selectTau(
        {
          missing: v.logProbs,
          counterfactual: v.counterfactual!,
          truth: { classes: valid.labels },
        },
        task,
        taus,
      ).tau;
      step('validation split: tau chosen');
    }
    const side = async (dir: string, what: string): Promise<OodSideResult> => {
      const store = dir === o.runDatasetDir ? runStore : await open(dir);
      const test = await openSplit(store, 'test', task);
      const p = await predict(test);
      const truth = { classes: test.labels };
      const plain = classificationMetrics(p.logProbs, task, truth);
      const plainPred = predictClasses(p.logProbs, task);
      const labelCounts = Array.from({ length: task }, (_, c) => test.labels.filter((y) => y === c).length);
      const plainErr = classErrors(confusionOf(plain));
      const out: OodSideResult = {
        datasetName: store.manifest.name,
        count: test.count,
        labelCounts,
        plain: { ...plain.values } as Record<string, number>,
        debiased: null,
        confusionPlain: confusionOf(plain),
        confusionDebiased: null,
        classErrors: plainErr.map((e) => ({ plain: e, debiased: null })),
        tauCurve: [],
        flips: [],
        flipCount: 0,
      };
      if (debias && selectedTau !== null) {
        const scores = debiasedScores(p.logProbs, p.counterfactual!, selectedTau);
        const deb = classificationMetrics(scores, task, truth);
        const debPred = predictClasses(scores, task);
        const { rawText } = await test.reader.samples();
        out.debiased = { ...deb.values } as Record<string, number>;
        out.confusionDebiased = confusionOf(deb);
        const debErr = classErrors(confusionOf(deb));
        out.classErrors = plainErr.map((e, c) => ({
          plain: e,
          debiased: debErr[c],
        }));
        out.tauCurve = taus.map((tau) =>
          selectionMetric(classificationMetrics(debiasedScores(p.logProbs, p.counterfactual!, tau), task, truth)),
        );
        for (let i = 0; i < test.count; i++) {
          if (plainPred[i] === debPred[i]) continue;
          out.flipCount++;
          if (out.flips.length < MAX_FLIPS)
            out.flips.push({
              index: i,
              truth: test.labels[i],
              plain: plainPred[i],
              debiased: debPred[i],
              text: rawText[i] ?? '',
            });
        }
      }
      step(`${what} test split`);
      return out;
    };
    const iid = await side(o.iidDir, 'IID');
    const ood = await side(o.oodDir, 'OOD');
    return {
      classNames: [...(task === 3 ? THREE_CLASS_NAMES : SEVEN_CLASS_NAMES)],
      selectionMetric: selectionMetricName(task),
      taus,
      selectedTau,
      iid,
      ood,
      textNote: text.note,
      debiasNote: debias
        ? null
        : "MACI debiasing needs a BERT model to encode the counterfactual ([MASK]ed) text; this run reads the dataset's precomputed features, so only the plain predictions are compared",
      engine: run.name,
    };
  } finally {
    await run.engine.dispose();
    text.dispose();
    for (const s of stores) await s.close();
  }
}
