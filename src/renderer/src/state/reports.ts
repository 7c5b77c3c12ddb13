/**
 * The Reports view's state, as a pure reducer: which runs (one, or several to compare), which
 * sections and formats, the pinned clips/samples, the folder to save into; the preview's HTML and
 * the last export's files.
 */
import {
  REPORT_FORMATS,
  REPORT_SECTIONS,
  type PinnedRef,
  type ReportExportResult,
  type ReportFormat,
  type ReportSectionName,
} from '../../../shared/contract/reports';
import type { RunRecord } from '../../../shared/contract/training';

export interface ReportsState {
  runs: RunRecord[];
  selected: number[];
  sections: ReportSectionName[];
  formats: ReportFormat[];
  /** "clip:3, test:12" */
  pinned: string;
  folder: string;
  baseName: string;
  preview: { html: string; tables: number } | null;
  busy: 'preview' | 'export' | null;
  result: ReportExportResult | null;
  error: string | null;
}

export const initialReports: ReportsState = {
  runs: [],
  selected: [],
  sections: [...REPORT_SECTIONS],
  formats: ['html', 'pdf'],
  pinned: '',
  folder: '',
  baseName: '',
  preview: null,
  busy: null,
  result: null,
  error: null,
};

export type ReportsAction =
  | { type: 'loaded'; runs: RunRecord[] }
  | { type: 'toggleRun'; id: number }
  | { type: 'toggleSection'; section: ReportSectionName }
  | { type: 'toggleFormat'; format: ReportFormat }
  | { type: 'set'; field: 'pinned' | 'folder' | 'baseName'; value: string }
  | { type: 'busy'; what: 'preview' | 'export' }
  | { type: 'previewed'; html: string; tables: number }
  | { type: 'exported'; result: ReportExportResult }
  | { type: 'error'; message: string };

const toggle = <T>(xs: readonly T[], x: T): T[] => (xs.includes(x) ? xs.filter((y) => y !== x) : [...xs, x]);

export function reportsReducer(s: ReportsState, a: ReportsAction): ReportsState {
  switch (a.type) {
    case 'loaded': {
      const ids = new Set(a.runs.map((r) => r.id));
      const selected = s.selected.filter((id) => ids.has(id));
      // a first visit selects the newest run that has finished an epoch
      if (!s.runs.length && !selected.length) {
        const first = a.runs.find((r) => r.epochsDone > 0);
        if (first) selected.push(first.id);
      }
      return { ...s, runs: a.runs, selected };
    }
    case 'toggleRun':
      return { ...s, selected: toggle(s.selected, a.id), preview: null };
    case 'toggleSection':
      return {
        ...s,
        sections: REPORT_SECTIONS.filter((x) => (x === a.section ? !s.sections.includes(x) : s.sections.includes(x))),
        preview: null,
      };
    case 'toggleFormat':
      return {
        ...s,
        formats: REPORT_FORMATS.filter((x) => (x === a.format ? !s.formats.includes(x) : s.formats.includes(x))),
      };
    case 'set':
      return {
        ...s,
        [a.field]: a.value,
        ...(a.field === 'pinned' ? { preview: null } : {}),
      };
    case 'busy':
      return {
        ...s,
        busy: a.what,
        error: null,
        ...(a.what === 'export' ? { result: null } : {}),
      };
    case 'previewed':
      return { ...s, busy: null, preview: { html: a.html, tables: a.tables } };
    case 'exported':
      return { ...s, busy: null, result: a.result };
    case 'error':
      return { ...s, busy: null, error: a.message };
  }
}

/** "clip:3, test:12" -> pinned refs, or the first bad item */
export function parsePinned(text: string): { pinned: PinnedRef[] } | { error: string } {
  const pinned: PinnedRef[] = [];
  for (const item of text
    .split(/[,\s]+/)
    .map((x) => x.trim())
    .filter(Boolean)) {
    const m = /^(clip|train|valid|test):(\d+)$/.exec(item);
    if (!m) return { error: `"${item}" is not clip:ID or train|valid|test:INDEX` };
    pinned.push(
      m[1] === 'clip' ? { clipId: Number(m[2]) } : { split: m[1] as 'train' | 'valid' | 'test', index: Number(m[2]) },
    );
  }
  return { pinned };
}

/** the report request for preview / export, or why it cannot be made yet */
export function reportRequest(s: ReportsState):
  | {
      ok: true;
      runIds: number[];
      sections: ReportSectionName[];
      pinned: PinnedRef[];
    }
  | { ok: false; error: string } {
  if (!s.selected.length) return { ok: false, error: 'choose a run (or several to compare)' };
  if (!s.sections.length) return { ok: false, error: 'choose at least one section' };
  const p = parsePinned(s.pinned);
  if ('error' in p) return { ok: false, error: p.error };
  const runIds = [...s.selected].sort((a, b) => a - b);
  return { ok: true, runIds, sections: s.sections, pinned: p.pinned };
}

export function exportRequest(s: ReportsState):
  | ({ ok: true } & {
      runIds: number[];
      sections: ReportSectionName[];
      pinned: PinnedRef[];
      formats: ReportFormat[];
      folder: string;
      baseName?: string;
    })
  | { ok: false; error: string } {
  const r = reportRequest(s);
  if (!r.ok) return r;
  if (!s.formats.length) return { ok: false, error: 'choose at least one format' };
  if (!s.folder.trim()) return { ok: false, error: 'type the folder to save into' };
  return {
    ...r,
    formats: s.formats,
    folder: s.folder.trim(),
    ...(s.baseName.trim() ? { baseName: s.baseName.trim() } : {}),
  };
}
