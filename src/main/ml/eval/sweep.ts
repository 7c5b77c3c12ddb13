/**
 * Missing-rate sweeps and their summary, AUILC (spec 3): the trapezoidal area under a metric's
 * curve over the missing rate on [0, 1].
 */
import { badArgument } from './errors';
import type { NumClasses } from './labels';
import { type MetricName, type Metrics, type Truth, classificationMetrics } from './metrics';
import {
  DEFAULT_EVAL_SEED,
  type KeepMasks,
  type MissingLayout,
  type SweepProtocolName,
  missingMasks,
  sweepProtocol,
} from './missing';

/**
 * Rates are snapped to 12 decimals so that 0.1 * 3 gives 0.3, not 0.30000000000000004: the rates
 * are shown, stored and compared as keys, and should print as the user typed them.
 */
function snap(x: number): number {
  return Number(x.toFixed(12)) + 0;
}

/** The standard sweep {0.0, 0.1, ..., 1.0}, computed as i / 10 (no accumulated float error). */
export function standardRates(): number[] {
  return Array.from({ length: 11 }, (_, i) => i / 10);
}

/**
 * Parse a rate list: "start:stop:step" (inclusive of stop when it lies on the grid, within a
 * float tolerance), e.g. "0:1:0.1" -> 0, 0.1, ..., 1 (11 rates) and "0:1:0.3" -> 0, 0.3, 0.6, 0.9;
 * or a comma list "0,0.25,1"; or a single number. Rates must lie in [0, 1]. Values are sorted and
 * must be distinct.
 */
export function parseRates(spec: string): number[] {
  const fn = 'parseRates';
  const text = spec.trim();
  if (text === '') throw badArgument(fn, 'spec', 'is empty; expected "start:stop:step" (e.g. 0:1:0.1) or a comma list');
  const num = (s: string, what: string): number => {
    const v = Number(s.trim());
    if (s.trim() === '' || !Number.isFinite(v))
      throw badArgument(fn, 'spec', `has a ${what} "${s}" that is not a number (in "${spec}")`);
    return v;
  };
  let rates: number[];
  if (text.includes(':')) {
    const parts = text.split(':');
    if (parts.length !== 3)
      throw badArgument(fn, 'spec', `must be "start:stop:step" with three numbers, got "${spec}"`);
    const start = num(parts[0], 'start');
    const stop = num(parts[1], 'stop');
    const step = num(parts[2], 'step');
    if (!(step > 0)) throw badArgument(fn, 'spec', `has step ${step}; it must be > 0 (in "${spec}")`);
    if (stop < start) throw badArgument(fn, 'spec', `has stop ${stop} below start ${start} (in "${spec}")`);
    // count by division, not by repeated addition: (1 - 0) / 0.1 = 10.000000000000002 is 10 steps
    const count = Math.floor((stop - start) / step + 1e-9);
    if (count > 10000) throw badArgument(fn, 'spec', `would give ${count + 1} rates; use a larger step (in "${spec}")`);
    rates = Array.from({ length: count + 1 }, (_, i) => snap(start + i * step));
  } else {
    rates = text.split(',').map((s) => snap(num(s, 'rate')));
  }
  rates.sort((a, b) => a - b);
  for (let i = 0; i < rates.length; i++) {
    if (rates[i] < 0 || rates[i] > 1)
      throw badArgument(fn, 'spec', `gives rate ${rates[i]} outside [0, 1] (in "${spec}")`);
    if (i > 0 && rates[i] === rates[i - 1]) throw badArgument(fn, 'spec', `repeats rate ${rates[i]} (in "${spec}")`);
  }
  return rates;
}

/**
 * Area under metric-vs-rate over [0, 1] by the trapezoidal rule, for any (also non-uniform) set
 * of rates, given in any order. The sweep must include rates 0 and 1: we do not extrapolate, so an
 * AUILC is always comparable to another over the same interval. Equals numpy.trapz(metrics, rates)
 * on sorted rates. A constant metric m gives m.
 */
export function auilc(rates: readonly number[], metrics: readonly number[]): number {
  const fn = 'auilc';
  if (rates.length !== metrics.length)
    throw badArgument(fn, 'metrics', `has ${metrics.length} values but rates has ${rates.length}`);
  if (rates.length < 2) throw badArgument(fn, 'rates', `needs at least two rates (0 and 1), got ${rates.length}`);
  const points = rates.map((r, i) => ({ r, m: metrics[i] }));
  for (const { r, m } of points) {
    if (!(r >= 0 && r <= 1)) throw badArgument(fn, 'rates', `has ${r}, outside [0, 1]`);
    if (!Number.isFinite(m))
      throw badArgument(fn, 'metrics', `has ${m} at rate ${r}; AUILC needs a finite metric at every rate`);
  }
  points.sort((a, b) => a.r - b.r);
  for (let i = 1; i < points.length; i++)
    if (points[i].r === points[i - 1].r) throw badArgument(fn, 'rates', `repeats rate ${points[i].r}`);
  if (points[0].r !== 0 || points[points.length - 1].r !== 1) {
    throw badArgument(
      fn,
      'rates',
      `must span [0, 1] (include 0 and 1), got ${points[0].r}..${points[points.length - 1].r}`,
    );
  }
  let area = 0;
  for (let i = 1; i < points.length; i++)
    area += ((points[i].r - points[i - 1].r) * (points[i].m + points[i - 1].m)) / 2;
  return area;
}

/** One metric's curve over a sweep. */
export interface SweepCurve {
  rates: number[];
  values: number[];
  /** null when the sweep does not span [0, 1] or a value is not finite (e.g. Non0 with no non-neutral sample) */
  auilc: number | null;
}

/**
 * Per-metric curves and AUILCs from per-rate metric records (e.g. Metrics.values at each rate).
 * A partial sweep (say 0:0.5:0.1) still gives its curves; its AUILC is null rather than an error,
 * so a user's custom sweep is never lost to the summary.
 */
export function sweepCurves<K extends string>(
  rates: readonly number[],
  perRate: readonly Record<K, number>[],
): Record<K, SweepCurve> {
  if (rates.length !== perRate.length)
    throw badArgument('sweepCurves', 'perRate', `has ${perRate.length} entries but rates has ${rates.length}`);
  if (perRate.length === 0) throw badArgument('sweepCurves', 'perRate', 'is empty');
  const spans =
    rates.includes(0) &&
    rates.includes(1) &&
    new Set(rates).size === rates.length &&
    rates.every((r) => r >= 0 && r <= 1);
  const out = {} as Record<K, SweepCurve>;
  for (const name of Object.keys(perRate[0]) as K[]) {
    const values = perRate.map((r) => r[name]);
    out[name] = {
      rates: [...rates],
      values,
      auilc: spans && values.every(Number.isFinite) ? auilc(rates, values) : null,
    };
  }
  return out;
}

/** One rate of a missing-rate sweep. */
export interface MissingSweepPoint {
  rate: number;
  metrics: Metrics;
}

export interface MissingSweepResult {
  protocol: SweepProtocolName;
  seed: number;
  rates: number[];
  points: MissingSweepPoint[];
  /** every metric of the task as a curve over the rates, with its AUILC */
  curves: Partial<Record<MetricName, SweepCurve>>;
}

/**
 * Run a sweep of one protocol over rates: for each rate draw the seeded keep masks for the whole
 * split (so every rate sees the same per-sample random numbers and the curves are nested), ask
 * `predict` for the (N, C) scores of that missing view, and score them. The model stays outside
 * this module: `predict` applies the masks (missingView) and runs the model, in batches as it likes.
 */
export async function runMissingSweep(args: {
  protocol: SweepProtocolName;
  rates: readonly number[];
  layout: MissingLayout;
  numClasses: NumClasses;
  truth: Truth;
  predict: (keep: KeepMasks, rate: number) => ArrayLike<number> | Promise<ArrayLike<number>>;
  seed?: number;
  onProgress?: (done: number, total: number, point: MissingSweepPoint) => void;
  signal?: AbortSignal;
}): Promise<MissingSweepResult> {
  const seed = args.seed ?? DEFAULT_EVAL_SEED;
  if (args.rates.length === 0) throw badArgument('runMissingSweep', 'rates', 'is empty');
  const rates = [...args.rates].sort((a, b) => a - b);
  const points: MissingSweepPoint[] = [];
  for (const rate of rates) {
    args.signal?.throwIfAborted();
    const keep = missingMasks(args.layout, sweepProtocol(args.protocol, rate), seed);
    const scores = await args.predict(keep, rate);
    const point = { rate, metrics: classificationMetrics(scores, args.numClasses, args.truth) };
    points.push(point);
    args.onProgress?.(points.length, rates.length, point);
  }
  const curves: Partial<Record<MetricName, SweepCurve>> = sweepCurves<string>(
    rates,
    points.map((p) => p.metrics.values),
  );
  return { protocol: args.protocol, seed, rates, points, curves };
}
