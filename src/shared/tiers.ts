/**
 * Annotation tiers (as in ELAN and NOVA): a project's named tracks, each of one kind, annotated per
 * annotator with time-aligned segments. Plain data and the value rules the UI and the service share,
 * so a value the field refuses is the value the service refuses. No Node, no DOM.
 */

export const TIER_KINDS = ['score', 'category', 'text'] as const;
export type TierKind = (typeof TIER_KINDS)[number];
export const TIER_KIND_LABELS: Record<TierKind, string> = {
  score: 'continuous score (-3 .. +3)',
  category: 'category (labels)',
  text: 'free text',
};
export const SCORE_MIN = -3;
export const SCORE_MAX = 3;
/** the project's default tier: sentiment scores, what dataset export reads when a clip has no clip score */
export const DEFAULT_TIER_NAME = 'sentiment';

export interface Tier {
  id: number;
  projectId: number;
  name: string;
  kind: TierKind;
  /** the label set of a category tier (its controlled vocabulary); empty otherwise */
  labels: string[];
  isDefault: boolean;
}

export type TierValue = number | string | null;

/** One annotator's segment on one tier of one clip. */
export interface TierSegment {
  id: number;
  tierId: number;
  clipId: number;
  annotatorId: number;
  /** seconds, start < end */
  start: number;
  end: number;
  /** score tier: a number in [-3, 3]; category: one of the tier's labels; text: a string; null: not coded yet */
  value: TierValue;
}

export interface SegmentInput {
  start: number;
  end: number;
  value: TierValue;
}

export type Checked<T> = { ok: true; value: T } | { ok: false; message: string };

/**
 * What the user typed into a score field: empty is "not coded", a number in [-3, 3] is taken as is,
 * anything else is refused with the reason (never clamped or rounded into range).
 */
export function parseScore(text: string): Checked<number | null> {
  const t = text.trim();
  if (t === '') return { ok: true, value: null };
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(t)) return { ok: false, message: `"${text}" is not a number` };
  const n = Number(t);
  if (n < SCORE_MIN || n > SCORE_MAX)
    return { ok: false, message: `${t} is outside ${SCORE_MIN} .. +${SCORE_MAX}; scores are not changed to fit` };
  return { ok: true, value: n };
}

/** A segment value for a tier, as stored: refused (with the reason) rather than changed. */
export function checkTierValue(tier: Pick<Tier, 'kind' | 'labels' | 'name'>, value: unknown): Checked<TierValue> {
  if (value === null || value === undefined || value === '') return { ok: true, value: null };
  if (tier.kind === 'score') {
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) return { ok: false, message: `${value} is not a number` };
      if (value < SCORE_MIN || value > SCORE_MAX)
        return { ok: false, message: `${value} is outside ${SCORE_MIN} .. +${SCORE_MAX} (tier "${tier.name}")` };
      return { ok: true, value };
    }
    if (typeof value === 'string') return parseScore(value);
    return { ok: false, message: `tier "${tier.name}" takes a score, not ${typeof value}` };
  }
  if (typeof value !== 'string') return { ok: false, message: `tier "${tier.name}" takes text, not a number` };
  if (tier.kind === 'category' && !tier.labels.includes(value))
    return {
      ok: false,
      message: `"${value}" is not a label of tier "${tier.name}" (${tier.labels.join(', ') || 'no labels yet'})`,
    };
  return { ok: true, value };
}

/** A category tier's label list as typed (comma-separated): trimmed, no empties, no duplicates. */
export function parseLabels(text: string): Checked<string[]> {
  const labels = text
    .split(',')
    .map((l) => l.trim())
    .filter(Boolean);
  const seen = new Set<string>();
  for (const l of labels) {
    if (seen.has(l.toLowerCase())) return { ok: false, message: `label "${l}" is given twice` };
    seen.add(l.toLowerCase());
  }
  if (!labels.length) return { ok: false, message: 'a category tier needs at least one label' };
  return { ok: true, value: labels };
}

/** Segments of one track must be in time order, inside the clip and not overlapping. */
export function checkSegments(segments: readonly SegmentInput[], durationSec: number): string | null {
  const sorted = [...segments].sort((a, b) => a.start - b.start);
  for (let i = 0; i < sorted.length; i++) {
    const s = sorted[i];
    if (!(s.start >= 0) || !(s.end > s.start))
      return `segment ${s.start.toFixed(3)}-${s.end.toFixed(3)} s: the end must come after the start`;
    if (s.end > durationSec + 1e-6)
      return `segment ${s.start.toFixed(3)}-${s.end.toFixed(3)} s ends after the clip (${durationSec.toFixed(3)} s)`;
    if (i > 0 && s.start < sorted[i - 1].end - 1e-9)
      return `segments ${sorted[i - 1].start.toFixed(3)}-${sorted[i - 1].end.toFixed(3)} s and ${s.start.toFixed(3)}-${s.end.toFixed(3)} s overlap`;
  }
  return null;
}

/** Agreement on one tier: alpha interval (score tiers) or alpha nominal + kappa (category tiers). */
export interface TierAgreementFigures {
  /** units (time slices) coded by at least two annotators */
  units: number;
  annotators: number;
  alphaInterval: number | null;
  alphaNominal: number | null;
  /** Cohen's with two annotators, Fleiss' with three or more, over the units all of them coded */
  kappa: { method: 'cohen' | 'fleiss'; value: number | null; units: number } | null;
}

export interface TierAgreement extends TierAgreementFigures {
  tierId: number;
  tierName: string;
  kind: TierKind;
  clips: (TierAgreementFigures & { clipId: number })[];
}
