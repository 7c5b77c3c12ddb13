/**
 * Robustness curves: a metric against the missing rate p for every protocol, on the test split,
 * with seeded masks (spec 3) and AUILC per curve. Protocol names:
 * - 'RMFM', 'RMM', 'TMFM', 'STMFM': the evaluation protocols at rate p (TMFM/STMFM aligned only);
 * - 'SMM:<kept>' (e.g. 'SMM:T'): the modalities NOT kept are dropped at rate p, the kept ones
 *   never, so p = 1 is exactly SMM with that subset and p = 0 the complete view;
 * - 'RMFM_same:<wt>/<wa>/<wv>': per-modality rates (p wt, p wa, p wv), weights in [0, 1].
 * SMM and RMFM_same draw from RMFM's per-sample streams (eval/missing.ts), so all these curves
 * share their random numbers and are nested over p.
 */
import { FeatureStore } from '../../data/featureStore';
import { openRunEngine } from '../runs/engine';
import { classificationMetrics } from '../eval/metrics';
import { missingMasks, SMM_SUBSETS, SWEEP_PROTOCOLS, type MissingProtocol, type SmmSubset } from '../eval/missing';
import { sweepCurves } from '../eval/sweep';
import { loadCheckpoint } from '../runs/checkpoint';
import { openSplit, splitLayout } from '../runs/data';
import { openTextProvider } from '../runs/text';
import { predictSplit } from '../runs/predict';
import { AnalysisError } from './analyzer';

export interface RobustnessCurveResult {
  protocol: string;
  rates: number[];
  metrics: Record<string, number[]>;
  auilc: Record<string, number | null>;
  skipped?: string;
}

/** The protocol of one robustness curve at rate p; throws with the accepted forms on a bad name. */
export function robustnessProtocol(name: string, p: number): MissingProtocol {
  if ((SWEEP_PROTOCOLS as readonly string[]).includes(name))
    return { kind: name as (typeof SWEEP_PROTOCOLS)[number], rate: p };
  const smm = /^SMM:([TAV]{1,3})$/.exec(name);
  if (smm && (SMM_SUBSETS as readonly string[]).includes(smm[1])) {
    const kept = smm[1] as SmmSubset;
    return {
      kind: 'RMFM_same',
      rates: {
        text: kept.includes('T') ? 0 : p,
        audio: kept.includes('A') ? 0 : p,
        vision: kept.includes('V') ? 0 : p,
      },
    };
  }
  const same = /^RMFM_same:([0-9.]+)\/([0-9.]+)\/([0-9.]+)$/.exec(name);
  if (same) {
    const w = same.slice(1, 4).map(Number);
    if (w.every((x) => Number.isFinite(x) && x >= 0 && x <= 1))
      return {
        kind: 'RMFM_same',
        rates: { text: p * w[0], audio: p * w[1], vision: p * w[2] },
      };
  }
  throw new AnalysisError(
    `unknown robustness protocol "${name}": use RMFM, RMM, TMFM, STMFM, SMM:<kept modalities> (e.g. SMM:T, SMM:AV) or RMFM_same:<wt>/<wa>/<wv> (weights in [0, 1])`,
  );
}

export async function runRobustness(o: {
  checkpointFile: string;
  datasetDir: string;
  protocols: string[];
  rates: number[];
  seed: number;
  cacheDir?: string;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number, message: string) => void;
  onStart?: (info: { engine: string; textNote: string; count: number }) => void;
}): Promise<{
  curves: RobustnessCurveResult[];
  engine: string;
  textNote: string;
}> {
  for (const p of o.protocols) robustnessProtocol(p, 0);
  const rates = [...o.rates].sort((a, b) => a - b);
  const ckpt = loadCheckpoint(o.checkpointFile);
  const { options, ciderConfig: cfg } = ckpt.state;
  const task = options.task;
  const store = await FeatureStore.open(o.datasetDir);
  const text = await openTextProvider({
    spec: options.text,
    L: cfg.textLength,
    datasetDl: store.manifest.dims.dl ?? null,
    cacheDir: o.cacheDir,
    bertWeights: ckpt.bert ?? undefined,
  });
  // ONNX Runtime when the run has an export, else TF.js
  const run = await openRunEngine(o.checkpointFile, ckpt);
  const engine = run.name;
  try {
    const test = await openSplit(store, 'test', task);
    o.onStart?.({ engine, textNote: text.note, count: test.count });
    const truth = { classes: test.labels };
    const total = o.protocols.length * rates.length;
    let done = 0;
    const curves: RobustnessCurveResult[] = [];
    for (const name of o.protocols) {
      if ((name === 'TMFM' || name === 'STMFM') && !test.aligned) {
        curves.push({
          protocol: name,
          rates,
          metrics: {},
          auilc: {},
          skipped: `${name} needs aligned data (one time mask shared by text, audio and vision); this dataset is unaligned`,
        });
        done += rates.length;
        o.onProgress?.(done, total, `${name} skipped (unaligned data)`);
        continue;
      }
      const perRate: Record<string, number>[] = [];
      for (const p of rates) {
        o.signal?.throwIfAborted();
        const keep = missingMasks(splitLayout(test), robustnessProtocol(name, p), o.seed);
        const pred = await predictSplit(run.engine, test, text, run.conf, {
          batchSize: options.evalBatchSize,
          keep,
          signal: o.signal,
        });
        perRate.push({
          ...classificationMetrics(pred.logProbs, task, truth).values,
        } as Record<string, number>);
        done++;
        o.onProgress?.(done, total, `${name} rate ${p}`);
      }
      const c = sweepCurves<string>(rates, perRate);
      curves.push({
        protocol: name,
        rates,
        metrics: Object.fromEntries(Object.entries(c).map(([k, v]) => [k, v.values])),
        auilc: Object.fromEntries(Object.entries(c).map(([k, v]) => [k, v.auilc])),
      });
    }
    return { curves, engine, textNote: text.note };
  } finally {
    await run.engine.dispose();
    text.dispose();
    await store.close();
  }
}
