/**
 * Inter-annotator agreement: Krippendorff's alpha (interval for the sentiment scores, nominal for
 * classes; any number of annotators, missing values allowed), Cohen's kappa (two annotators) and
 * Fleiss' kappa (three or more, units rated by all of them).
 *
 * Each returns null where the statistic is undefined (no pairable values, or no variation at all:
 * expected disagreement 0), rather than a misleading 1 or NaN.
 */
import type { Annotation, Annotator, ClipAgreement, ProjectAgreement } from '../../shared/clips';
import { sevenClassLabel, threeClassLabel } from '../ml/eval/labels';

export type AlphaMetric = 'interval' | 'nominal';

const delta2 = (metric: AlphaMetric, a: number, b: number): number =>
  metric === 'interval' ? (a - b) ** 2 : a === b ? 0 : 1;

/**
 * Krippendorff's alpha. `units[u][c]` is coder c's value for unit u, or null/undefined when that
 * coder did not rate it. alpha = 1 - D_o / D_e over the pairable values (units with >= 2 values):
 *   D_o = 1/n sum_u 1/(m_u - 1) sum_{i != j in u} delta2(v_i, v_j)
 *   D_e = 1/(n (n - 1)) sum_{i != j over all pairable values} delta2(v_i, v_j)
 */
export function krippendorffAlpha(
  units: readonly (readonly (number | null | undefined)[])[],
  metric: AlphaMetric = 'interval',
): number | null {
  const pairable: number[][] = [];
  for (const u of units) {
    const vs = u.filter((v): v is number => v !== null && v !== undefined && Number.isFinite(v));
    if (vs.length >= 2) pairable.push(vs);
  }
  const all = pairable.flat();
  const n = all.length;
  if (n < 2) return null;
  let Do = 0;
  for (const vs of pairable) {
    let s = 0;
    for (let i = 0; i < vs.length; i++)
      for (let j = 0; j < vs.length; j++) if (i !== j) s += delta2(metric, vs[i], vs[j]);
    Do += s / (vs.length - 1);
  }
  Do /= n;
  let De = 0;
  if (metric === 'interval') {
    let sum = 0;
    let sq = 0;
    for (const v of all) {
      sum += v;
      sq += v * v;
    }
    De = (2 * (n * sq - sum * sum)) / (n * (n - 1));
  } else {
    const counts = new Map<number, number>();
    for (const v of all) counts.set(v, (counts.get(v) ?? 0) + 1);
    let same = 0;
    for (const c of counts.values()) same += c * c;
    De = (n * n - same) / (n * (n - 1));
  }
  if (De <= 1e-12) return null;
  return 1 - Do / De;
}

/** Cohen's kappa of two raters' labels for the same items. */
export function cohenKappa(a: readonly number[], b: readonly number[]): number | null {
  if (a.length !== b.length) throw new Error(`cohenKappa: ${a.length} labels against ${b.length}`);
  const N = a.length;
  if (N === 0) return null;
  let agree = 0;
  const ca = new Map<number, number>();
  const cb = new Map<number, number>();
  for (let i = 0; i < N; i++) {
    if (a[i] === b[i]) agree++;
    ca.set(a[i], (ca.get(a[i]) ?? 0) + 1);
    cb.set(b[i], (cb.get(b[i]) ?? 0) + 1);
  }
  const po = agree / N;
  let pe = 0;
  for (const [k, v] of ca) pe += (v / N) * ((cb.get(k) ?? 0) / N);
  if (1 - pe <= 1e-12) return null;
  return (po - pe) / (1 - pe);
}

/** Fleiss' kappa from a subjects x categories table of counts (every row sums to the same n >= 2). */
export function fleissKappa(counts: readonly (readonly number[])[]): number | null {
  const N = counts.length;
  if (N === 0) return null;
  const n = counts[0].reduce((x, y) => x + y, 0);
  if (n < 2) return null;
  const k = counts[0].length;
  const pj = new Array<number>(k).fill(0);
  let Pbar = 0;
  for (const row of counts) {
    const s = row.reduce((x, y) => x + y, 0);
    if (s !== n) throw new Error(`fleissKappa: every subject needs the same number of ratings (${n}); one has ${s}`);
    let sq = 0;
    row.forEach((c, j) => {
      pj[j] += c;
      sq += c * c;
    });
    Pbar += (sq - n) / (n * (n - 1));
  }
  Pbar /= N;
  const Pe = pj.reduce((acc, c) => acc + (c / (N * n)) ** 2, 0);
  if (1 - Pe <= 1e-12) return null;
  return (Pbar - Pe) / (1 - Pe);
}

type Unit = { clipId: number; segment: number; scores: Map<number, number> };

function unitsOf(annotations: readonly Annotation[]): Unit[] {
  const map = new Map<string, Unit>();
  for (const a of annotations) {
    if (a.score === null) continue;
    const key = `${a.clipId}:${a.segment}`;
    let u = map.get(key);
    if (!u) map.set(key, (u = { clipId: a.clipId, segment: a.segment, scores: new Map() }));
    u.scores.set(a.annotatorId, a.score);
  }
  return [...map.values()];
}

function pairAgreement(units: Unit[], label: (s: number) => number): number | null {
  let pairs = 0;
  let same = 0;
  for (const u of units) {
    const ls = [...u.scores.values()].map(label);
    for (let i = 0; i < ls.length; i++)
      for (let j = i + 1; j < ls.length; j++) {
        pairs++;
        if (ls[i] === ls[j]) same++;
      }
  }
  return pairs ? same / pairs : null;
}

function kappaFor(
  units: Unit[],
  annotators: readonly Annotator[],
  label: (s: number) => number,
  classes: number,
): ProjectAgreement['kappa3'] {
  const ids = annotators.map((a) => a.id).filter((id) => units.some((u) => u.scores.has(id)));
  if (ids.length < 2) return null;
  const full = units.filter((u) => ids.every((id) => u.scores.has(id)));
  if (ids.length === 2) {
    const a = full.map((u) => label(u.scores.get(ids[0])!));
    const b = full.map((u) => label(u.scores.get(ids[1])!));
    return { method: 'cohen', value: cohenKappa(a, b), units: full.length };
  }
  const table = full.map((u) => {
    const row = new Array<number>(classes).fill(0);
    for (const id of ids) row[label(u.scores.get(id)!)]++;
    return row;
  });
  return { method: 'fleiss', value: fleissKappa(table), units: full.length };
}

function clipAgreement(clipId: number, units: Unit[], raters: Set<number>): ClipAgreement {
  const rated = units.filter((u) => u.scores.size >= 2);
  const clipUnit = units.find((u) => u.segment === -1);
  const clipScores = clipUnit ? [...clipUnit.scores.values()] : [];
  const allScores = clipScores.length ? clipScores : units.flatMap((u) => [...u.scores.values()]);
  const mean = allScores.length ? allScores.reduce((a, b) => a + b, 0) / allScores.length : null;
  const sd =
    clipScores.length >= 2 && mean !== null
      ? Math.sqrt(clipScores.reduce((a, s) => a + (s - mean) ** 2, 0) / (clipScores.length - 1))
      : null;
  const segmentUnits = units.filter((u) => u.segment >= 0);
  return {
    clipId,
    units: rated.length,
    raters: raters.size,
    meanScore: mean,
    scoreSd: sd,
    scoreRange: clipScores.length >= 2 ? Math.max(...clipScores) - Math.min(...clipScores) : null,
    pairAgreement3: pairAgreement(rated, threeClassLabel),
    pairAgreement7: pairAgreement(rated, sevenClassLabel),
    alphaInterval:
      segmentUnits.length >= 2
        ? krippendorffAlpha(
            segmentUnits.map((u) => [...u.scores.values()]),
            'interval',
          )
        : null,
  };
}

/** Agreement per clip and over the project; units are (clip, segment) pairs, segment -1 = the whole clip. */
export function projectAgreement(
  annotations: readonly Annotation[],
  annotators: readonly Annotator[],
): ProjectAgreement {
  const units = unitsOf(annotations);
  const ids = annotators.map((a) => a.id);
  const rows = units.map((u) => ids.map((id) => u.scores.get(id) ?? null));
  const byClip = new Map<number, Unit[]>();
  for (const u of units) byClip.set(u.clipId, [...(byClip.get(u.clipId) ?? []), u]);
  const clips: ClipAgreement[] = [...byClip.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([clipId, us]) => clipAgreement(clipId, us, new Set(us.flatMap((u) => [...u.scores.keys()]))));
  return {
    annotators: [...annotators],
    units: units.filter((u) => u.scores.size >= 2).length,
    alphaInterval: krippendorffAlpha(rows, 'interval'),
    alpha3: krippendorffAlpha(
      rows.map((r) => r.map((s) => (s === null ? null : threeClassLabel(s)))),
      'nominal',
    ),
    alpha7: krippendorffAlpha(
      rows.map((r) => r.map((s) => (s === null ? null : sevenClassLabel(s)))),
      'nominal',
    ),
    kappa3: kappaFor(units, annotators, threeClassLabel, 3),
    kappa7: kappaFor(units, annotators, sevenClassLabel, 7),
    clips,
  };
}
