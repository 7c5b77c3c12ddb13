/**
 * Every table of a report, from the model (the CSV/JSON exports write one file per table, the HTML
 * and PDF show the same rows). Numbers stay full precision here (JavaScript's shortest round-trip
 * form), so a CSV read back gives exactly the stored values; only the HTML/PDF round for display.
 */
import { CLASS_NAMES } from '../../shared/contract/datasets';
import type { EvaluationPrediction } from '../../shared/contract/training';
import type { ReportModel, ReportTable, RobustnessCurve, RunReport } from '../../shared/contract/reports';

type Cell = string | number | null;

export const slug = (s: string) =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');

/** a robustness curve's table id (without the run prefix) */
export function robustnessTableId(c: Pick<RobustnessCurve, 'protocol' | 'source' | 'evaluationId'>): string {
  const name = c.protocol.startsWith('MACI') ? 'maci' : slug(c.protocol);
  return c.source === 'evaluation' ? `robustness-${name}` : `robustness-sweep${c.evaluationId}-${name}`;
}

const rateCell = (r: number | string | null): Cell => (r === null ? 'complete' : r);

export function runTables(r: RunReport): ReportTable[] {
  const p = `run${r.run.id}`;
  const out: ReportTable[] = [];
  const classes = CLASS_NAMES[r.run.task];
  out.push({
    id: `${p}.run`,
    title: `Run ${r.run.id}`,
    columns: ['field', 'value'],
    rows: [
      ['id', r.run.id],
      ['name', r.run.name],
      ['status', r.run.status],
      ['task', `${r.run.task}-class`],
      ['epochs', r.run.epochsDone],
      ['selection metric', r.run.selectionMetric],
      ['best epoch', r.run.bestEpoch],
      ['best validation value', r.run.bestMetric],
      ['engine', r.run.engine],
      ['created', r.run.createdAt],
      ['finished', r.run.finishedAt],
    ],
  });
  if (r.dataset.available) {
    const d = r.dataset.data;
    out.push({
      id: `${p}.dataset-splits`,
      title: `Dataset ${d.name} (${d.distribution.toUpperCase()}): split sizes and 3-class labels`,
      columns: ['split', 'samples', ...CLASS_NAMES[3]],
      rows: (['train', 'valid', 'test'] as const).map((s) => [s, d.splits[s].count, ...d.splits[s].labels.three]),
    });
    out.push({
      id: `${p}.dataset-labels7`,
      title: `Dataset ${d.name}: 7-class labels`,
      columns: ['split', ...CLASS_NAMES[7]],
      rows: (['train', 'valid', 'test'] as const).map((s) => [s, ...d.splits[s].labels.seven]),
    });
  }
  if (r.config.available) {
    out.push({
      id: `${p}.config`,
      title: 'Training configuration',
      columns: ['setting', 'value', 'named switch'],
      rows: r.config.data.map((c) => [c.setting, c.value, c.switchNote ?? '']),
    });
  }
  if (r.curves.available) {
    const e = r.curves.data.epochs;
    const losses = Object.keys(e[0].losses);
    const val = [...new Set(e.flatMap((x) => Object.keys(x.validation)))];
    out.push({
      id: `${p}.epochs`,
      title: 'Training curves: losses (means over the epoch) and validation metrics',
      columns: ['epoch', ...losses.map((l) => `loss.${l}`), ...val.map((v) => `valid.${v}`), 'improved', 'seconds'],
      rows: e.map((x) => [
        x.epoch,
        ...losses.map((l) => x.losses[l] ?? null),
        ...val.map((v) => x.validation[v] ?? null),
        x.improved ? 1 : 0,
        x.durationMs / 1000,
      ]),
    });
  }
  if (r.metrics.available) {
    const m = r.metrics.data;
    if (m.complete.available) {
      const c = m.complete.data;
      out.push({
        id: `${p}.metrics-complete`,
        title: `Complete view, ${m.split} split (evaluation ${c.evaluationId}, ${c.checkpoint} checkpoint)`,
        columns: ['metric', 'value'],
        rows: Object.entries(c.metrics).map(([k, v]) => [k, v]),
        note: c.textNote,
      });
      for (const [name, mat] of Object.entries(c.confusion)) {
        const labels = mat.length === classes.length ? classes : mat.map((_, i) => String(i));
        out.push({
          id: `${p}.confusion-${slug(name)}`,
          title: `Confusion matrix ${name} (rows truth, columns prediction)`,
          columns: ['truth \\ prediction', ...labels],
          rows: mat.map((row, i) => [labels[i], ...row]),
        });
      }
    }
    if (m.debiased.available) {
      const d = m.debiased.data;
      out.push({
        id: `${p}.metrics-debiased`,
        title: `Debiased inference (MACI), ${m.split} split: tau chosen on validation, beside the ${d.referenceLabel}`,
        columns: [
          'rate',
          'metric',
          'plain',
          'debiased (tau on validation)',
          'tau',
          `${d.referenceLabel}`,
          'reference tau',
        ],
        rows: d.rows.map((x) => [rateCell(x.rate), x.metric, x.plain, x.debiased, x.tau, x.reference, x.referenceTau]),
        note: `The ${d.referenceLabel} takes each metric's maximum over tau on the TEST split (optimistic); the debiased column's tau is chosen on the validation split. ${d.textNote}`,
      });
    }
  }
  if (r.robustness.available) {
    for (const c of r.robustness.data) {
      const metrics = [...new Set(c.points.flatMap((x) => Object.keys(x.metrics)))];
      out.push({
        id: `${p}.${robustnessTableId(c)}`,
        title: `Robustness: ${c.protocol} (${c.source === 'evaluation' ? `evaluation ${c.evaluationId}` : c.source}, mask seed ${c.seed})`,
        columns: ['rate', ...metrics],
        rows: [
          ...c.points.map((x) => [rateCell(x.rate), ...metrics.map((k) => x.metrics[k] ?? null)]),
          ...(c.auilc ? [['AUILC', ...metrics.map((k) => c.auilc![k] ?? null)]] : []),
        ],
        note: c.textNote,
      });
    }
  }
  if (r.explanations.available) {
    const x = r.explanations.data;
    if (x.contributions.available)
      out.push({
        id: `${p}.contributions`,
        title: 'Per-modality contributions (exact Shapley values) of pinned clips',
        columns: ['item', 'predicted', 'probabilities', 'text', 'audio', 'vision'],
        rows: x.contributions.data.map((c) => [
          c.item,
          c.predicted,
          // one text field for reading (the JSON export's model keeps the full values)
          c.probabilities.map((v) => v.toFixed(4)).join(' '),
          c.shapley.text,
          c.shapley.audio,
          c.shapley.vision,
        ]),
      });
    if (x.counterfactualEdits.available)
      out.push({
        id: `${p}.counterfactual-edits`,
        title: 'Counterfactual edits of pinned clips',
        columns: [
          'item',
          'text',
          'counterfactual text',
          'prediction',
          'counterfactual prediction',
          'debiased prediction',
          'tau',
        ],
        rows: x.counterfactualEdits.data.map((c) => [
          c.item,
          c.text,
          c.counterfactualText,
          c.prediction,
          c.counterfactualPrediction,
          c.debiasedPrediction,
          c.tau,
        ]),
      });
    if (x.oodComparison.available) {
      const o = x.oodComparison.data;
      const paired = o.pairedRun ? `run ${o.pairedRun.id}` : null;
      out.push({
        id: `${p}.ood-comparison`,
        title: `IID (${o.iidSplit}) vs OOD (${o.oodSplit}) test splits, plain and debiased`,
        columns: [
          'metric',
          'IID plain',
          'IID debiased',
          'OOD plain',
          'OOD debiased',
          ...(paired ? [`OOD plain (${paired})`, `OOD debiased (${paired})`] : []),
        ],
        rows: o.rows.map((x) => [
          x.metric,
          x.iidPlain,
          x.iidDebiased,
          x.oodPlain,
          x.oodDebiased,
          ...(paired ? [x.pairedOodPlain ?? null, x.pairedOodDebiased ?? null] : []),
        ]),
        ...(o.notes?.length ? { note: o.notes.join('; ') } : {}),
      });
    }
  }
  if (r.agreement.available) {
    const a = r.agreement.data;
    out.push({
      id: `${p}.agreement`,
      title: `Annotation agreement (${a.annotators.length} annotators, ${a.clips} clips)`,
      columns: ['statistic', 'value', 'detail'],
      rows: [
        ['units rated by two or more', a.units, ''],
        ["Krippendorff's alpha (interval)", a.alphaInterval, ''],
        ["Krippendorff's alpha (nominal, 3-class)", a.alpha3, ''],
        ["Krippendorff's alpha (nominal, 7-class)", a.alpha7, ''],
        ['kappa (3-class)', a.kappa3?.value ?? null, a.kappa3 ? `${a.kappa3.method}, ${a.kappa3.units} units` : ''],
        ['kappa (7-class)', a.kappa7?.value ?? null, a.kappa7 ? `${a.kappa7.method}, ${a.kappa7.units} units` : ''],
      ],
    });
    out.push({
      id: `${p}.agreement-clips`,
      title: 'Annotation agreement per clip',
      columns: ['clip', 'name', 'raters', 'mean score', 'score sd', 'pair agreement (3-class)', 'alpha (interval)'],
      rows: a.perClip.map((c) => [
        c.clipId,
        c.name,
        c.raters,
        c.meanScore,
        c.scoreSd,
        c.pairAgreement3,
        c.alphaInterval,
      ]),
    });
  }
  const t = r.trace;
  out.push({
    id: `${p}.trace`,
    title: 'Traceability: what the numbers were computed from',
    columns: ['item', 'sha256', 'bytes', 'path'],
    rows: [
      ...(t.data.available
        ? [
            ['dataset (sha256 of the sha256sum listing below)', t.data.data.sha256, null, t.data.data.folder] as Cell[],
            ...t.data.data.files.map((f) => [`dataset file`, f.sha256, f.bytes, f.file]),
          ]
        : [['dataset', null, null, t.data.reason]]),
      t.checkpoint.available
        ? ['checkpoint', t.checkpoint.data.sha256, t.checkpoint.data.bytes, t.checkpoint.data.file]
        : ['checkpoint', null, null, t.checkpoint.reason],
      ['engines', t.engines.join(', '), null, null],
    ],
  });
  return out;
}

/**
 * How wide a column reads, in characters: its widest cell as the HTML/PDF print it (numbers to four
 * decimals) or its header's longest word (headers wrap); text longer than `wrapAt` wraps.
 */
export function columnChars(
  t: Pick<ReportTable, 'columns' | 'rows'>,
  i: number,
  wrapAt = 28,
  headersWrap = true,
): number {
  const header = headersWrap ? Math.max(...t.columns[i].split(/\s+/).map((w) => w.length)) : t.columns[i].length;
  let widest = header;
  for (const r of t.rows.slice(0, 500)) {
    const v = r[i];
    const n =
      v === null || v === undefined
        ? 1
        : typeof v === 'number'
          ? Number.isInteger(v)
            ? String(v).length
            : v.toFixed(4).length
          : Math.min(wrapAt, String(v).length);
    if (n > widest) widest = n;
  }
  return widest;
}

/**
 * Column groups of a table too wide for a page: each group repeats the first (key) column and
 * takes as many of the next columns as fit `pageChars` (characters across the page, counting
 * `padChars` per cell). One group holding every column when the table fits. Used so a printed
 * table is split, never cut at the page edge.
 */
export function columnGroups(
  t: Pick<ReportTable, 'columns' | 'rows'>,
  pageChars: number,
  padChars = 2,
  headersWrap = true,
): number[][] {
  const widths = t.columns.map((_, i) => columnChars(t, i, 28, headersWrap) + padChars);
  if (widths.reduce((a, b) => a + b, 0) <= pageChars) return [t.columns.map((_, i) => i)];
  const groups: number[][] = [];
  let group = [0];
  let used = widths[0];
  for (let i = 1; i < widths.length; i++) {
    if (group.length > 1 && used + widths[i] > pageChars) {
      groups.push(group);
      group = [0];
      used = widths[0];
    }
    group.push(i);
    used += widths[i];
  }
  groups.push(group);
  return groups;
}

/** A table as the column groups of `columnGroups`, each a table of its own (title says which part). */
export function tableParts(t: ReportTable, pageChars: number, headersWrap = true): ReportTable[] {
  const groups = columnGroups(t, pageChars, 2, headersWrap);
  if (groups.length === 1) return [t];
  return groups.map((g, k) => ({
    ...t,
    title: `${t.title} (part ${k + 1} of ${groups.length})`,
    columns: g.map((i) => t.columns[i]),
    rows: t.rows.map((r) => g.map((i) => r[i] ?? null)),
  }));
}

export function reportTables(model: ReportModel): ReportTable[] {
  const out: ReportTable[] = [
    {
      id: 'report',
      title: 'Report',
      columns: ['field', 'value'],
      rows: [
        ['title', model.title],
        ['generated', model.generatedAt],
        ['app version', model.app.version],
        ['mode', model.app.mode],
        ['backend', `${model.app.backend.name}${model.app.backend.gpu ? ' (GPU)' : ''}`],
        ['backend reason', model.app.backend.reason],
        ['TensorFlow.js', model.app.backend.tfjsVersion],
        ['node', model.app.node],
        ['platform', model.app.platform],
        ['runs', model.runs.map((r) => r.run.id).join(' ')],
      ],
    },
  ];
  if (model.comparison.available) {
    const c = model.comparison.data;
    const runCols = c.runIds.map((id) => `run ${id}`);
    out.push({
      id: 'comparison.metrics',
      title: 'Complete-view test metrics by run',
      columns: ['metric', ...runCols],
      rows: c.metrics.map((m) => [m.metric, ...m.values]),
    });
    if (c.auilc.length)
      out.push({
        id: 'comparison.auilc',
        title: 'RMFM AUILC by run',
        columns: ['metric', ...runCols],
        rows: c.auilc.map((m) => [m.metric, ...m.values]),
      });
    out.push({
      id: 'comparison.config-diff',
      title: 'Settings that differ',
      columns: ['setting', ...runCols],
      rows: c.configDiff.map((d) => [d.setting, ...d.values]),
    });
  }
  for (const r of model.runs) out.push(...runTables(r));
  return out;
}

/** Per-sample predictions of one evaluation, with the test split's sample ids when known. */
export function predictionsTable(
  runId: number,
  task: 3 | 7,
  evaluationId: number,
  protocol: string,
  preds: EvaluationPrediction[],
  sampleIds: string[] | null,
): ReportTable {
  const classes = CLASS_NAMES[task];
  return {
    id: `run${runId}.predictions-e${evaluationId}`,
    title: `Per-sample predictions, evaluation ${evaluationId} (${protocol}), test split`,
    columns: [
      'index',
      'sample_id',
      'truth',
      'truth_class',
      'prediction',
      'prediction_class',
      'correct',
      ...classes.map((c) => `logp_${c}`),
    ],
    rows: preds.map((p) => [
      p.index,
      sampleIds?.[p.index] ?? null,
      p.truth,
      classes[p.truth] ?? null,
      p.prediction,
      classes[p.prediction] ?? null,
      p.truth === p.prediction ? 1 : 0,
      ...p.logProbs,
    ]),
  };
}

/** RFC 4180: fields with a comma, quote, CR or LF are quoted; quotes doubled; CRLF line ends. Null is an empty field. */
export function toCsv(t: Pick<ReportTable, 'columns' | 'rows'>): string {
  const cell = (v: Cell) => {
    if (v === null || v === undefined) return '';
    const s = typeof v === 'number' ? (Number.isFinite(v) ? String(v) : '') : v;
    return /[",\r\n]/.test(s) || /^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [t.columns, ...t.rows].map((r) => r.map(cell).join(',')).join('\r\n') + '\r\n';
}

/** The inverse of toCsv (for tests and for reading an export back). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field || row.length) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

/** a table as JSON records (column name -> value) */
export function toJsonRecords(t: ReportTable): {
  id: string;
  title: string;
  note?: string;
  columns: string[];
  records: Record<string, Cell>[];
} {
  return {
    id: t.id,
    title: t.title,
    ...(t.note ? { note: t.note } : {}),
    columns: t.columns,
    records: t.rows.map((r) => Object.fromEntries(t.columns.map((c, i) => [c, r[i] ?? null]))),
  };
}
