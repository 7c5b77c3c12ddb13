/** `cider report`: a run's (or several runs') report as HTML, PDF, CSV or JSON files. */
import path from 'node:path';
import {
  REPORT_FORMATS,
  REPORT_SECTIONS,
  type PinnedRef,
  type ReportExportResult,
  type ReportFormat,
  type ReportSectionName,
} from '../../shared/contract/reports';
import { flagString, UsageError, type CommandSpec } from '../args';
import { call, print, type Command } from '../io';

export const REPORTS_SPECS: Record<string, CommandSpec> = {
  report: {
    usage: [
      'report RUN[,RUN...] --format html|pdf|csv|json[,...] --out PATH [--sections dataset,config,...] [--pin clip:ID|test:N]',
      '       [--title TEXT]',
    ],
    summary:
      'a report (runs compared when several): html/pdf: PATH is a file (.html/.pdf) or a folder;\ncsv/json: PATH is a folder (one file per table and per-sample predictions)',
    options: {
      format: { type: 'string', value: 'F[,F...]', help: `${REPORT_FORMATS.join(', ')} (required)` },
      out: { type: 'string', value: 'PATH', help: 'a folder, or a .html/.pdf/.json file (required)' },
      sections: { type: 'string', value: 'S,S,...', help: `sections: ${REPORT_SECTIONS.join(', ')}` },
      pin: { type: 'string', value: 'clip:ID|SPLIT:N,...', help: 'samples shown in detail' },
      title: { type: 'string', value: 'TEXT', help: "the report's title" },
    },
  },
};

function parseList<T extends string>(v: string | undefined, allowed: readonly T[], what: string): T[] | undefined {
  if (v === undefined) return undefined;
  const items = v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const i of items)
    if (!(allowed as readonly string[]).includes(i))
      throw new UsageError(`--${what}: "${i}" is not one of ${allowed.join(', ')}`);
  return items as T[];
}

function parsePins(v: string | undefined): PinnedRef[] {
  if (!v) return [];
  return v.split(',').map((s) => {
    const m = /^(clip|train|valid|test):(\d+)$/.exec(s.trim());
    if (!m) throw new UsageError(`--pin: "${s}" is not clip:ID or train|valid|test:INDEX`);
    return m[1] === 'clip'
      ? { clipId: Number(m[2]) }
      : { split: m[1] as 'train' | 'valid' | 'test', index: Number(m[2]) };
  });
}

/** --out PATH: a file name with the format's extension (html/pdf/json) names the file inside its folder; anything else is the folder. */
export function splitOut(out: string, formats: ReportFormat[]): { folder: string; baseName?: string } {
  const ext = path.extname(out).slice(1).toLowerCase();
  if (formats.length === 1 && ext === formats[0] && formats[0] !== 'csv') {
    const base = path.basename(out, path.extname(out));
    return { folder: path.dirname(out), baseName: base };
  }
  return { folder: out };
}

export const REPORTS_COMMANDS: Record<string, Command> = {
  async report(app, args, io) {
    const ref = args.positionals[1];
    if (!ref) throw new UsageError('report needs a RUN id (or RUN,RUN,... to compare)');
    const runIds = ref.split(',').map((s) => Number(s));
    if (runIds.some((n) => !Number.isInteger(n) || n <= 0))
      throw new UsageError(`report: "${ref}" is not a run id or a comma-separated list of them`);
    const formats = parseList(flagString(args, 'format'), REPORT_FORMATS, 'format');
    if (!formats?.length) throw new UsageError(`report needs --format ${REPORT_FORMATS.join('|')}`);
    const out = flagString(args, 'out');
    if (!out) throw new UsageError('report needs --out PATH (a folder, or a .html/.pdf/.json file)');
    const sections = parseList<ReportSectionName>(flagString(args, 'sections'), REPORT_SECTIONS, 'sections');
    const { folder, baseName } = splitOut(out, formats);
    const res = await call<ReportExportResult>(app, 'reports.export', {
      runIds,
      formats,
      folder: path.resolve(folder),
      ...(baseName ? { baseName } : {}),
      ...(sections ? { sections } : {}),
      pinned: parsePins(flagString(args, 'pin')),
      ...(flagString(args, 'title') ? { title: flagString(args, 'title') } : {}),
    });
    print(io, args, res, () => [
      `wrote ${res.files.length} file(s) to ${res.folder}:`,
      ...res.files.map((f) => `  ${f.format.padEnd(4)} ${path.relative(res.folder, f.path)} (${f.bytes} bytes)`),
      ...(res.pdf ? [`PDF made by ${res.pdf.renderer}: ${res.pdf.detail}`] : []),
    ]);
    return 0;
  },
};
