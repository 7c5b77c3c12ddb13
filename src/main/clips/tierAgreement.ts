/**
 * Agreement per tier between annotators whose segments need not share boundaries. A clip's units are
 * the time slices between consecutive boundaries of any annotator's segments on that tier; each
 * annotator's value for a slice is the value of their segment covering it (none where they coded
 * nothing). Score tiers: Krippendorff's alpha (interval). Category tiers: alpha (nominal) and kappa
 * (Cohen's with two annotators, Fleiss' with more, over the slices all of them coded). Free-text tiers
 * get unit counts only. Overall figures pool the slices of every clip.
 */
import type { Tier, TierAgreement, TierAgreementFigures, TierSegment } from '../../shared/tiers';
import { cohenKappa, fleissKappa, krippendorffAlpha } from './agreement';

/** slices shorter than this (boundaries a rounding apart) are not units */
const MIN_SLICE_SEC = 1e-3;

type SliceUnit = Map<number, number>; // annotator -> coded value (score, or label index)

function clipUnits(tier: Tier, segments: readonly TierSegment[]): SliceUnit[] {
  const coded = segments.filter((s) => s.value !== null && s.value !== '');
  const bounds = [...new Set(coded.flatMap((s) => [s.start, s.end]))].sort((a, b) => a - b);
  const byAnnotator = new Map<number, TierSegment[]>();
  for (const s of coded) {
    const list = byAnnotator.get(s.annotatorId);
    if (list) list.push(s);
    else byAnnotator.set(s.annotatorId, [s]);
  }
  // one cursor per annotator: slices and each annotator's (non-overlapping) segments are both in time order
  const tracks = [...byAnnotator].map(([who, segs]) => ({ who, segs: segs.sort((a, b) => a.start - b.start), at: 0 }));
  const units: SliceUnit[] = [];
  for (let i = 0; i + 1 < bounds.length; i++) {
    if (bounds[i + 1] - bounds[i] < MIN_SLICE_SEC) continue;
    const mid = (bounds[i] + bounds[i + 1]) / 2;
    const u: SliceUnit = new Map();
    for (const tr of tracks) {
      while (tr.at < tr.segs.length && tr.segs[tr.at].end <= mid) tr.at++;
      const s = tr.segs[tr.at];
      if (!s || s.start > mid) continue;
      const v = tier.kind === 'score' ? Number(s.value) : tier.labels.indexOf(String(s.value));
      if (tier.kind === 'category' && v < 0) continue; // a label since removed from the set
      u.set(tr.who, v);
    }
    if (u.size) units.push(u);
  }
  return units;
}

function figures(tier: Tier, units: readonly SliceUnit[]): TierAgreementFigures {
  const ids = [...new Set(units.flatMap((u) => [...u.keys()]))].sort((a, b) => a - b);
  const paired = units.filter((u) => u.size >= 2);
  const rows = paired.map((u) => ids.map((id) => u.get(id) ?? null));
  let kappa: TierAgreementFigures['kappa'] = null;
  if (tier.kind === 'category' && ids.length >= 2) {
    const full = units.filter((u) => ids.every((id) => u.has(id)));
    if (ids.length === 2)
      kappa = {
        method: 'cohen',
        value: cohenKappa(
          full.map((u) => u.get(ids[0])!),
          full.map((u) => u.get(ids[1])!),
        ),
        units: full.length,
      };
    else
      kappa = {
        method: 'fleiss',
        value: fleissKappa(
          full.map((u) => {
            const row = new Array<number>(tier.labels.length).fill(0);
            for (const id of ids) row[u.get(id)!]++;
            return row;
          }),
        ),
        units: full.length,
      };
  }
  return {
    units: paired.length,
    annotators: ids.length,
    alphaInterval: tier.kind === 'score' ? krippendorffAlpha(rows, 'interval') : null,
    alphaNominal: tier.kind === 'category' ? krippendorffAlpha(rows, 'nominal') : null,
    kappa,
  };
}

export function tierAgreement(tiers: readonly Tier[], segments: readonly TierSegment[]): TierAgreement[] {
  return tiers.map((tier) => {
    const byClip = new Map<number, TierSegment[]>();
    for (const s of segments) {
      if (s.tierId !== tier.id) continue;
      const list = byClip.get(s.clipId);
      if (list) list.push(s);
      else byClip.set(s.clipId, [s]);
    }
    const perClip = [...byClip]
      .sort((a, b) => a[0] - b[0])
      .map(([clipId, segs]) => ({ clipId, units: clipUnits(tier, segs) }));
    return {
      tierId: tier.id,
      tierName: tier.name,
      kind: tier.kind,
      ...figures(
        tier,
        perClip.flatMap((c) => c.units),
      ),
      clips: perClip.map((c) => ({ clipId: c.clipId, ...figures(tier, c.units) })),
    };
  });
}
