/**
 * ELAN .eaf (EAF 3.0) export and import of a clip's tiers:
 *   transcript                 the transcript segments (corrected text where corrected)
 *   sentiment (NAME)           NAME's clip-level score, one annotation over the whole clip
 *   segment sentiment (NAME)   NAME's per-segment scores, aligned to the segments
 *   note (NAME) / segment note (NAME) / correction (NAME)   notes and transcript corrections
 *   TIER@NAME                  NAME's segments on the project tier TIER, with the linguistic type
 *                              of its kind (cider-score, cider-text, or cider-category-TIER whose
 *                              controlled vocabulary TIER holds the category labels)
 * Tiers carry ANNOTATOR="NAME" too. On import, segment tiers are matched to the clip's transcript
 * segments by largest time overlap; project tiers keep their own boundaries; a tier ELAN users made
 * with another name and no known type is ignored and listed.
 */
import type { Annotation, Annotator, TranscriptSegment } from '../../shared/clips';
import { checkTierValue, type SegmentInput, type Tier, type TierKind, type TierSegment } from '../../shared/tiers';
import { child, childrenNamed, escapeXml, parseXml, type XmlElement } from './xml';

export interface EafClip {
  name: string;
  mediaUrl: string;
  mimeType: string;
  durationSec: number;
  segments: TranscriptSegment[];
}

export interface EafAnnotationOut {
  annotator: string;
  segment: number;
  score: number | null;
  note: string;
  correction: string | null;
}

export interface EafTierDef {
  name: string;
  kind: TierKind;
  labels: string[];
}

export interface EafTrack {
  tier: EafTierDef;
  annotator: string;
  segments: SegmentInput[];
}

export interface EafContent {
  /** the transcript tier's annotations as timed segments (empty when the file has none) */
  segments: TranscriptSegment[];
  annotations: EafAnnotationOut[];
  /** project tiers declared in the file (by linguistic type), with or without segments */
  tiers: EafTierDef[];
  tracks: EafTrack[];
  ignoredTiers: string[];
}

/** the project tiers and their segments on the clip, for export */
export interface EafTiers {
  tiers: readonly Tier[];
  segments: readonly TierSegment[];
}

const SCORE_LT = 'cider-score';
const TEXT_LT = 'cider-text';
const CATEGORY_LT = 'cider-category-';
const ltOf = (t: Pick<Tier, 'kind' | 'name'>) =>
  t.kind === 'score' ? SCORE_LT : t.kind === 'text' ? TEXT_LT : `${CATEGORY_LT}${t.name}`;

const ms = (s: number) => Math.round(s * 1000);

export function exportEaf(
  clip: EafClip,
  annotations: readonly Annotation[],
  annotators: readonly Annotator[],
  now = new Date(),
  projectTiers: EafTiers = { tiers: [], segments: [] },
): string {
  const slots: number[] = [];
  const slot = (t: number) => {
    slots.push(ms(t));
    return `ts${slots.length}`;
  };
  let aid = 0;
  const tiers: string[] = [];
  const span = (s: TranscriptSegment | undefined): [number, number] =>
    s && s.start !== null && s.end !== null ? [s.start, s.end] : [0, clip.durationSec];
  const tier = (
    id: string,
    annotator: string | null,
    items: { span: [number, number]; value: string; cve?: string }[],
    lt = 'default-lt',
  ) => {
    const body = items
      .map((it) => {
        const a = slot(it.span[0]);
        const b = slot(it.span[1]);
        const cve = it.cve ? ` CVE_REF="${escapeXml(it.cve)}"` : '';
        return `      <ANNOTATION>\n        <ALIGNABLE_ANNOTATION ANNOTATION_ID="a${++aid}" TIME_SLOT_REF1="${a}" TIME_SLOT_REF2="${b}"${cve}>\n          <ANNOTATION_VALUE>${escapeXml(it.value)}</ANNOTATION_VALUE>\n        </ALIGNABLE_ANNOTATION>\n      </ANNOTATION>`;
      })
      .join('\n');
    const who = annotator === null ? '' : ` ANNOTATOR="${escapeXml(annotator)}" PARTICIPANT="${escapeXml(annotator)}"`;
    tiers.push(
      `  <TIER LINGUISTIC_TYPE_REF="${escapeXml(lt)}" TIER_ID="${escapeXml(id)}"${who}>${body ? `\n${body}\n  ` : ''}</TIER>`,
    );
  };
  tier(
    'transcript',
    null,
    clip.segments.map((s) => ({ span: span(s), value: s.correction ?? s.text })),
  );
  for (const who of annotators) {
    const mine = annotations.filter((a) => a.annotatorId === who.id);
    if (!mine.length) continue;
    const clipLevel = mine.filter((a) => a.segment === -1);
    const segLevel = mine.filter((a) => a.segment >= 0);
    const seg = (a: Annotation) => span(clip.segments[a.segment]);
    tier(
      `sentiment (${who.name})`,
      who.name,
      clipLevel.filter((a) => a.score !== null).map((a) => ({ span: [0, clip.durationSec], value: String(a.score) })),
    );
    tier(
      `segment sentiment (${who.name})`,
      who.name,
      segLevel.filter((a) => a.score !== null).map((a) => ({ span: seg(a), value: String(a.score) })),
    );
    tier(
      `note (${who.name})`,
      who.name,
      clipLevel.filter((a) => a.note).map((a) => ({ span: [0, clip.durationSec], value: a.note })),
    );
    tier(
      `segment note (${who.name})`,
      who.name,
      segLevel.filter((a) => a.note).map((a) => ({ span: seg(a), value: a.note })),
    );
    tier(
      `correction (${who.name})`,
      who.name,
      segLevel.filter((a) => a.correction).map((a) => ({ span: seg(a), value: a.correction! })),
    );
  }
  const cveId = (t: Tier, label: string) => `${t.name}-${t.labels.indexOf(label) + 1}`;
  for (const t of projectTiers.tiers) {
    for (const who of annotators) {
      const mine = projectTiers.segments
        .filter((s) => s.tierId === t.id && s.annotatorId === who.id)
        .sort((a, b) => a.start - b.start);
      if (!mine.length) continue;
      tier(
        `${t.name}@${who.name}`,
        who.name,
        mine.map((s) => ({
          span: [s.start, s.end],
          value: s.value === null ? '' : String(s.value),
          cve: t.kind === 'category' && typeof s.value === 'string' ? cveId(t, s.value) : undefined,
        })),
        ltOf(t),
      );
    }
  }
  const types = [
    '  <LINGUISTIC_TYPE GRAPHIC_REFERENCES="false" LINGUISTIC_TYPE_ID="default-lt" TIME_ALIGNABLE="true"/>',
  ];
  const kinds = new Set(projectTiers.tiers.map((t) => t.kind));
  if (kinds.has('score'))
    types.push(
      `  <LINGUISTIC_TYPE GRAPHIC_REFERENCES="false" LINGUISTIC_TYPE_ID="${SCORE_LT}" TIME_ALIGNABLE="true"/>`,
    );
  if (kinds.has('text'))
    types.push(`  <LINGUISTIC_TYPE GRAPHIC_REFERENCES="false" LINGUISTIC_TYPE_ID="${TEXT_LT}" TIME_ALIGNABLE="true"/>`);
  const categories = projectTiers.tiers.filter((t) => t.kind === 'category');
  for (const t of categories)
    types.push(
      `  <LINGUISTIC_TYPE CONTROLLED_VOCABULARY_REF="${escapeXml(t.name)}" GRAPHIC_REFERENCES="false" LINGUISTIC_TYPE_ID="${escapeXml(ltOf(t))}" TIME_ALIGNABLE="true"/>`,
    );
  const language = categories.length
    ? '  <LANGUAGE LANG_DEF="http://cdb.iso.org/lg/CDB-00130975-001" LANG_ID="und" LANG_LABEL="undetermined (und)"/>\n'
    : '';
  const vocabularies = categories
    .map(
      (t) =>
        `  <CONTROLLED_VOCABULARY CV_ID="${escapeXml(t.name)}">\n    <DESCRIPTION LANG_REF="und">labels of the CIDer tier ${escapeXml(t.name)}</DESCRIPTION>\n${t.labels
          .map(
            (l) =>
              `    <CV_ENTRY_ML CVE_ID="${escapeXml(cveId(t, l))}">\n      <CVE_VALUE LANG_REF="und">${escapeXml(l)}</CVE_VALUE>\n    </CV_ENTRY_ML>`,
          )
          .join('\n')}\n  </CONTROLLED_VOCABULARY>\n`,
    )
    .join('');
  const timeOrder = slots.map((v, i) => `    <TIME_SLOT TIME_SLOT_ID="ts${i + 1}" TIME_VALUE="${v}"/>`).join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>
<ANNOTATION_DOCUMENT AUTHOR="CIDer Studio" DATE="${now.toISOString()}" FORMAT="3.0" VERSION="3.0" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="http://www.mpi.nl/tools/elan/EAFv3.0.xsd">
  <HEADER MEDIA_FILE="" TIME_UNITS="milliseconds">
    <MEDIA_DESCRIPTOR MEDIA_URL="${escapeXml(clip.mediaUrl)}" MIME_TYPE="${escapeXml(clip.mimeType)}"/>
    <PROPERTY NAME="cider:clip">${escapeXml(clip.name)}</PROPERTY>
  </HEADER>
  <TIME_ORDER>
${timeOrder}
  </TIME_ORDER>
${tiers.join('\n')}
${types.join('\n')}
${language}${vocabularies}</ANNOTATION_DOCUMENT>
`;
}

interface TimedValue {
  start: number;
  end: number;
  value: string;
}

function readTier(tier: XmlElement, times: Map<string, number>, byId: Map<string, TimedValue>): TimedValue[] {
  const out: TimedValue[] = [];
  for (const ann of childrenNamed(tier, 'ANNOTATION')) {
    const al = child(ann, 'ALIGNABLE_ANNOTATION');
    const ref = child(ann, 'REF_ANNOTATION');
    const value = (child(al ?? ref ?? ann, 'ANNOTATION_VALUE')?.text ?? '').trim();
    let tv: TimedValue | undefined;
    if (al) {
      const a = times.get(al.attrs.TIME_SLOT_REF1);
      const b = times.get(al.attrs.TIME_SLOT_REF2);
      if (a === undefined || b === undefined) continue; // unaligned slots: no time to match on
      tv = { start: a, end: b, value };
      byId.set(al.attrs.ANNOTATION_ID, tv);
    } else if (ref) {
      const parent = byId.get(ref.attrs.ANNOTATION_REF);
      if (!parent) continue;
      tv = { start: parent.start, end: parent.end, value };
      byId.set(ref.attrs.ANNOTATION_ID, tv);
    }
    if (tv) out.push(tv);
  }
  return out;
}

/** The segment a time span belongs to: largest overlap, else the nearest. */
function matchSegment(segments: readonly TranscriptSegment[], start: number, end: number): number {
  let best = -1;
  let bestOverlap = -Infinity;
  segments.forEach((s, i) => {
    if (s.start === null || s.end === null) return;
    const overlap = Math.min(end, s.end) - Math.max(start, s.start);
    if (overlap > bestOverlap) {
      bestOverlap = overlap;
      best = i;
    }
  });
  return best >= 0 ? best : 0;
}

const TIER_NAME = /^(sentiment|segment sentiment|note|segment note|correction) \((.+)\)$/;

export function importEaf(xml: string, clipSegments: readonly TranscriptSegment[], file = 'file.eaf'): EafContent {
  const doc = parseXml(xml, file);
  if (doc.name !== 'ANNOTATION_DOCUMENT') throw new Error(`${file}: not an ELAN file (root element <${doc.name}>)`);
  const header = child(doc, 'HEADER');
  const unitScale =
    header?.attrs.TIME_UNITS === 'NTSC-frames' || header?.attrs.TIME_UNITS === 'PAL-frames' ? null : 1000;
  if (unitScale === null)
    throw new Error(`${file}: time units ${header?.attrs.TIME_UNITS} are not supported (milliseconds only)`);
  const times = new Map<string, number>();
  for (const ts of childrenNamed(
    child(doc, 'TIME_ORDER') ?? { name: '', attrs: {}, children: [], text: '' },
    'TIME_SLOT',
  )) {
    if (ts.attrs.TIME_VALUE !== undefined) times.set(ts.attrs.TIME_SLOT_ID, Number(ts.attrs.TIME_VALUE) / unitScale);
  }
  const byId = new Map<string, TimedValue>();
  const tiers = childrenNamed(doc, 'TIER');
  // read parents before their REF children: ELAN writes them in document order, so one pass suffices
  const values = new Map(tiers.map((t) => [t.attrs.TIER_ID, readTier(t, times, byId)]));
  const transcriptTier = values.get('transcript');
  const segments: TranscriptSegment[] = (transcriptTier ?? [])
    .filter((v) => v.value)
    .sort((a, b) => a.start - b.start)
    .map((v, index) => ({ index, start: v.start, end: v.end, text: v.value }));
  const segs = segments.length ? segments : clipSegments;
  const merged = new Map<string, EafAnnotationOut>();
  const get = (annotator: string, segment: number) => {
    const key = `${annotator}\0${segment}`;
    let a = merged.get(key);
    if (!a) merged.set(key, (a = { annotator, segment, score: null, note: '', correction: null }));
    return a;
  };
  const ignoredTiers: string[] = [];
  // project tiers: known by their linguistic type; a category tier's labels are its vocabulary
  const vocabularies = new Map<string, string[]>();
  for (const cv of childrenNamed(doc, 'CONTROLLED_VOCABULARY')) {
    const ml = childrenNamed(cv, 'CV_ENTRY_ML').map((e) => (child(e, 'CVE_VALUE')?.text ?? '').trim());
    const old = childrenNamed(cv, 'CV_ENTRY').map((e) => e.text.trim());
    vocabularies.set(cv.attrs.CV_ID, [...ml, ...old].filter(Boolean));
  }
  const typeDefs = new Map<string, EafTierDef | null>();
  const tierDefs = new Map<string, EafTierDef>();
  for (const lt of childrenNamed(doc, 'LINGUISTIC_TYPE')) {
    const ltId = lt.attrs.LINGUISTIC_TYPE_ID;
    const cv = lt.attrs.CONTROLLED_VOCABULARY_REF;
    let def: EafTierDef | null = null;
    if (cv !== undefined) {
      const labels = vocabularies.get(cv);
      if (!labels)
        throw new Error(`${file}: linguistic type "${ltId}" refers to a missing controlled vocabulary "${cv}"`);
      def = { name: ltId.startsWith(CATEGORY_LT) ? ltId.slice(CATEGORY_LT.length) : cv, kind: 'category', labels };
      tierDefs.set(def.name.toLowerCase(), def);
    } else if (ltId === SCORE_LT) def = { name: '', kind: 'score', labels: [] };
    else if (ltId === TEXT_LT) def = { name: '', kind: 'text', labels: [] };
    typeDefs.set(ltId, def);
  }
  const tracks: EafTrack[] = [];
  for (const t of tiers) {
    const id = t.attrs.TIER_ID;
    if (id === 'transcript') continue;
    const kindDef = typeDefs.get(t.attrs.LINGUISTIC_TYPE_REF);
    if (kindDef) {
      const annotator = (t.attrs.ANNOTATOR || t.attrs.PARTICIPANT || '').trim();
      if (!annotator) {
        ignoredTiers.push(id);
        continue;
      }
      const suffix = `@${annotator}`;
      const name = kindDef.kind === 'category' ? kindDef.name : id.endsWith(suffix) ? id.slice(0, -suffix.length) : id;
      const def: EafTierDef = { ...kindDef, name };
      const known = tierDefs.get(name.toLowerCase());
      if (known && known.kind !== def.kind)
        throw new Error(`${file}: tier "${name}" is both a ${known.kind} and a ${def.kind} tier`);
      tierDefs.set(name.toLowerCase(), known ?? def);
      const segments = (values.get(id) ?? [])
        .sort((a, b) => a.start - b.start)
        .map((v) => {
          const checked = checkTierValue(def, v.value);
          if (!checked.ok) throw new Error(`${file}: tier "${id}" at ${v.start.toFixed(3)} s: ${checked.message}`);
          return { start: v.start, end: v.end, value: checked.value };
        });
      tracks.push({ tier: known ?? def, annotator, segments });
      continue;
    }
    const m = TIER_NAME.exec(id);
    if (!m) {
      ignoredTiers.push(id);
      continue;
    }
    const [, kind, annotator] = m;
    for (const v of values.get(id) ?? []) {
      const segment = kind === 'sentiment' || kind === 'note' ? -1 : matchSegment(segs, v.start, v.end);
      const a = get(annotator, segment);
      if (kind.endsWith('sentiment')) {
        const n = Number(v.value);
        if (!Number.isFinite(n) || n < -3 || n > 3)
          throw new Error(`${file}: tier "${id}" has "${v.value}", not a score in [-3, 3]`);
        a.score = n;
      } else if (kind.endsWith('note')) a.note = v.value;
      else a.correction = v.value;
    }
  }
  return { segments, annotations: [...merged.values()], tiers: [...tierDefs.values()], tracks, ignoredTiers };
}
