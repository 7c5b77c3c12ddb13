/**
 * The report as one self-contained HTML file: CSS inline, charts as inline SVG, no script, no
 * network (a Content-Security-Policy forbids any fetch), print styles for the PDF. Reads only the
 * report model and its tables, so it shows exactly what the CSV/JSON exports hold (rounded to four
 * decimals for reading; the exports keep full precision).
 */
import { CLASS_NAMES } from '../../shared/contract/datasets';
import type { PinnedSection, ReportModel, ReportSection, ReportTable, RunReport } from '../../shared/contract/reports';
import { barChart, escapeXml as esc, lineChart } from './svg';
import { columnGroups, reportTables, robustnessTableId, slug } from './tables';

export const REPORT_CSS = `
:root { color-scheme: light; }
body { font: 13px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: #1d2125; margin: 24px auto; max-width: 1000px; padding: 0 16px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 18px; border-bottom: 2px solid #1f6feb; padding-bottom: 3px; margin-top: 28px; }
h3 { font-size: 15px; margin: 18px 0 6px; }
.meta { color: #555; margin: 0 0 12px; }
.prov { background: #f6f8fa; border: 1px solid #d0d7de; border-radius: 6px; padding: 8px 12px; margin: 12px 0; }
.prov code, td code { font-size: 11px; word-break: break-all; }
table { border-collapse: collapse; margin: 6px 0 12px; font-size: 12px; }
th, td { border: 1px solid #d0d7de; padding: 3px 7px; text-align: left; vertical-align: top; }
th { background: #f0f3f6; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
caption { text-align: left; font-weight: 600; padding: 4px 0; }
.note { color: #555; font-size: 12px; margin: 2px 0 10px; }
.na { color: #8a5a00; background: #fff8e5; border-left: 3px solid #e9a23b; padding: 4px 8px; margin: 6px 0; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; }
figure { margin: 4px 0; break-inside: avoid; }
svg.chart { max-width: 100%; height: auto; background: #fff; }
section.run { break-before: page; }
section.run:first-of-type { break-before: auto; }
.table-wrap { break-inside: auto; }
tr { break-inside: avoid; }
@page { size: A4; margin: 14mm; }
@media print { body { margin: 0; max-width: none; } }
.print-parts { display: none; }
@media print {
  .table-wrap.wide > table { display: none; }
  .print-parts { display: block; }
  .print-parts table { font-size: 10px; }
  .print-parts th, .print-parts td { padding: 2px 4px; }
}
`;

/** characters of 10px table text across an A4 page inside the 14 mm margins (about 688 px; 125 leaves room, checked by rendering the PDF) */
const PRINT_PAGE_CHARS = 125;

export function fmt(v: string | number | null | undefined): string {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'string') return v;
  if (!Number.isFinite(v)) return '—';
  return Number.isInteger(v) ? String(v) : v.toFixed(4);
}

export function tableHtml(t: ReportTable): string {
  const head = `<tr>${t.columns.map((c) => `<th>${esc(c)}</th>`).join('')}</tr>`;
  const body = t.rows
    .map(
      (r) =>
        `<tr>${r.map((v) => (typeof v === 'number' ? `<td class="num">${fmt(v)}</td>` : `<td>${esc(fmt(v))}</td>`)).join('')}</tr>`,
    )
    .join('');
  const groups = columnGroups(t, PRINT_PAGE_CHARS);
  // wider than a printed page: printed as column groups (the key column repeated), shown whole on screen
  const parts =
    groups.length > 1
      ? `<div class="print-parts">${groups.map((g, k) => tablePartHtml(t, g, k, groups.length)).join('')}</div>`
      : '';
  return `<div class="table-wrap${groups.length > 1 ? ' wide' : ''}"><table data-table="${esc(t.id)}" data-rows="${t.rows.length}"><caption>${esc(t.title)}</caption><thead>${head}</thead><tbody>${body}</tbody></table>${parts}${t.note ? `<p class="note">${esc(t.note)}</p>` : ''}</div>`;
}

const cellHtml = (v: string | number | null) =>
  typeof v === 'number' ? `<td class="num">${fmt(v)}</td>` : `<td>${esc(fmt(v))}</td>`;

function tablePartHtml(t: ReportTable, cols: number[], k: number, n: number): string {
  const head = `<tr>${cols.map((i) => `<th>${esc(t.columns[i])}</th>`).join('')}</tr>`;
  const body = t.rows.map((r) => `<tr>${cols.map((i) => cellHtml(r[i] ?? null)).join('')}</tr>`).join('');
  const caption = `${t.title} (part ${k + 1} of ${n}: ${cols
    .slice(1)
    .map((i) => t.columns[i])
    .join(', ')})`;
  return `<table data-table-part="${esc(t.id)}" data-part="${k + 1}"><caption>${esc(caption)}</caption><thead>${head}</thead><tbody>${body}</tbody></table>`;
}

const notAvailable = (reason: string) => `<p class="na">Not available: ${esc(reason)}</p>`;

function section<T>(title: string, s: ReportSection<T>, body: (d: T) => string, level = 'h3'): string {
  if (!s.available && s.reason === 'not chosen for this report') return '';
  return `<${level}>${esc(title)}</${level}>${s.available ? body(s.data) : notAvailable(s.reason)}`;
}

/** the pinned items a section had to leave out, each by its name with the reason (the good ones are in the table) */
function leftOutHtml(s: PinnedSection<unknown>): string {
  if (!s.available || !s.leftOut?.length) return '';
  const items = s.leftOut.map((l) => `<li><b>${esc(l.item)}</b>: ${esc(l.reason)}</li>`).join('');
  return `<div class="na" data-left-out="${s.leftOut.length}">Left out of this table:<ul>${items}</ul></div>`;
}

const figure = (svg: string) => `<figure>${svg}</figure>`;

function runHtml(r: RunReport, tables: Map<string, ReportTable>): string {
  const p = `run${r.run.id}`;
  const t = (id: string) => (tables.has(`${p}.${id}`) ? tableHtml(tables.get(`${p}.${id}`)!) : '');
  const parts: string[] = [];
  parts.push(`<section class="run" data-run="${r.run.id}"><h2>Run ${r.run.id}: ${esc(r.run.name)}</h2>`);
  parts.push(t('run'));
  parts.push(
    section('Dataset and splits', r.dataset, (d) => {
      const splits = ['train', 'valid', 'test'] as const;
      const bars3 = barChart({
        title: `${d.name}: 3-class labels per split`,
        categories: [...CLASS_NAMES[3]],
        groups: splits.map((s) => ({
          name: s,
          values: d.splits[s].labels.three,
        })),
        yLabel: 'samples',
      });
      const bars7 = barChart({
        title: `${d.name}: 7-class labels per split`,
        categories: [...CLASS_NAMES[7]],
        groups: splits.map((s) => ({
          name: s,
          values: d.splits[s].labels.seven,
        })),
        yLabel: 'samples',
      });
      const info = `<p class="meta">${esc(d.distribution.toUpperCase())} dataset, source ${esc(d.source)}, ${d.aligned ? 'aligned' : 'unaligned'}; L=${fmt(d.dims.L)}, audio ${d.dims.Ta}x${d.dims.da}, vision ${d.dims.Tv}x${d.dims.dv}, text features ${fmt(d.dims.dl)}. Folder <code>${esc(d.folder)}</code></p>`;
      const ood = d.ood
        ? `<p class="note">OOD repartition: method ${esc(d.ood.method)}, seed ${d.ood.seed}, strength ${d.ood.strength}, target test mix ${d.ood.targetTest3.join('/')}, planned ${d.ood.plannedTest3.join('/')}, bias words K=${d.ood.biasWordCount}.</p>`
        : '';
      const warn = d.warnings.length ? `<p class="note">Warnings: ${esc(d.warnings.join('; '))}</p>` : '';
      return (
        info +
        ood +
        warn +
        `<div class="charts">${figure(bars3)}${figure(bars7)}</div>` +
        t('dataset-splits') +
        t('dataset-labels7')
      );
    }),
  );
  parts.push(section('Training configuration', r.config, () => t('config')));
  parts.push(
    section('Training curves', r.curves, (c) => {
      const lossNames = Object.keys(c.epochs[0].losses);
      const valNames = [...new Set(c.epochs.flatMap((e) => Object.keys(e.validation)))];
      const mark = c.bestEpoch ? [{ x: c.bestEpoch, label: `best ${c.selectionMetric}` }] : [];
      const losses = lineChart({
        title: 'Losses per epoch',
        xLabel: 'epoch',
        yLabel: 'loss',
        series: lossNames.map((n) => ({
          name: n,
          points: c.epochs.map((e) => [e.epoch, e.losses[n] ?? null]),
        })),
        markX: mark,
      });
      const val = lineChart({
        title: 'Validation metrics per epoch',
        xLabel: 'epoch',
        yLabel: 'metric',
        series: valNames.map((n) => ({
          name: n,
          points: c.epochs.map((e) => [e.epoch, e.validation[n] ?? null]),
          dashed: n !== c.selectionMetric,
        })),
        markX: mark,
      });
      return `<div class="charts">${figure(losses)}${figure(val)}</div>` + t('epochs');
    }),
  );
  parts.push(
    section('Test metrics', r.metrics, (m) => {
      const complete = section(
        `Complete view, ${m.split} split`,
        m.complete,
        (c) =>
          t('metrics-complete') +
          Object.keys(c.confusion)
            .map((n) => t(`confusion-${slug(n)}`))
            .join(''),
        'h4',
      );
      const debiased = section(
        `Plain and debiased (MACI), ${m.split} split`,
        m.debiased,
        () => t('metrics-debiased'),
        'h4',
      );
      return complete + debiased;
    }),
  );
  parts.push(
    section('Robustness to missing modalities', r.robustness, (curves) => {
      const charts = curves
        .filter((c) => c.points.every((x) => typeof x.rate === 'number'))
        .map((c) => {
          const names = [...new Set(c.points.flatMap((x) => Object.keys(x.metrics)))];
          const au = (n: string) =>
            c.auilc?.[n] !== undefined && c.auilc[n] !== null ? ` (AUILC ${fmt(c.auilc[n])})` : '';
          return figure(
            lineChart({
              title: `${c.protocol}${c.source === 'evaluation' ? '' : ` (${c.source})`}: metric vs missing rate`,
              xLabel: 'missing rate',
              yLabel: 'metric',
              x: [0, 1],
              series: names.map((n) => ({
                name: `${n}${au(n)}`,
                points: c.points.map((x) => [x.rate as number, x.metrics[n] ?? null]),
              })),
            }),
          );
        });
      const tabs = curves.map((c) => t(robustnessTableId(c))).join('');
      return `<div class="charts">${charts.join('')}</div>${tabs}`;
    }),
  );
  parts.push(
    section('Contributions and counterfactual edits', r.explanations, (x) => {
      const contrib = section(
        'Per-modality contributions (pinned clips)',
        x.contributions,
        (rows) =>
          figure(
            barChart({
              title: 'Shapley contribution per modality',
              categories: rows.map((c) => c.item),
              groups: (['text', 'audio', 'vision'] as const).map((m) => ({
                name: m,
                values: rows.map((c) => c.shapley[m]),
              })),
              yLabel: 'contribution',
            }),
          ) + t('contributions'),
        'h4',
      );
      const edits = section(
        'Counterfactual edits (pinned clips)',
        x.counterfactualEdits,
        () => t('counterfactual-edits'),
        'h4',
      );
      const ood = section('IID vs OOD test splits', x.oodComparison, () => t('ood-comparison'), 'h4');
      return contrib + leftOutHtml(x.contributions) + edits + leftOutHtml(x.counterfactualEdits) + ood;
    }),
  );
  parts.push(section('Annotation agreement', r.agreement, () => t('agreement') + t('agreement-clips')));
  parts.push(
    section(
      'Per-sample predictions',
      r.predictions,
      (ps) =>
        `<p class="note">Exported as CSV/JSON (${ps.map((x) => `evaluation ${x.evaluationId}, ${x.protocol}: ${x.count} samples`).join('; ')}).</p>`,
    ),
  );
  parts.push(`<h3>Traceability</h3>${t('trace')}`);
  parts.push('</section>');
  return parts.join('');
}

export function renderHtml(model: ReportModel, tables: ReportTable[] = reportTables(model)): string {
  const byId = new Map(tables.map((x) => [x.id, x]));
  const a = model.app;
  const traceLine = model.runs
    .map(
      (r) =>
        `run ${r.run.id}: data sha256 <code>${r.trace.data.available ? r.trace.data.data.sha256 : 'n/a'}</code>, checkpoint sha256 <code>${r.trace.checkpoint.available ? r.trace.checkpoint.data.sha256 : 'n/a'}</code>, engines ${esc(r.trace.engines.join(', ') || 'n/a')}`,
    )
    .join('<br>');
  const comparison = model.comparison.available
    ? (() => {
        const runs = model.runs.filter((r) => r.curves.available);
        const metric = model.runs[0].run.selectionMetric;
        const overlay = runs.length
          ? figure(
              lineChart({
                title: `Validation ${metric} per epoch, runs overlaid`,
                xLabel: 'epoch',
                yLabel: metric,
                series: runs.map((r) => ({
                  name: `run ${r.run.id}`,
                  points: r.curves.available
                    ? r.curves.data.epochs.map((e) => [e.epoch, e.validation[metric] ?? null])
                    : [],
                })),
              }),
            )
          : '';
        return `<h2>Comparison</h2>${overlay}${['comparison.metrics', 'comparison.auilc', 'comparison.config-diff'].map((id) => (byId.has(id) ? tableHtml(byId.get(id)!) : '')).join('')}`;
      })()
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="generator" content="CIDer Studio ${esc(a.version)}">
<title>${esc(model.title)}</title>
<style>${REPORT_CSS}</style></head>
<body>
<header><h1>${esc(model.title)}</h1>
<p class="meta">Generated ${esc(model.generatedAt)} by CIDer Studio ${esc(a.version)} (${esc(a.mode)}), backend ${esc(a.backend.name)}${a.backend.gpu ? ' (GPU)' : ''}, TensorFlow.js ${esc(a.backend.tfjsVersion)}, Node ${esc(a.node)}, ${esc(a.platform)}.</p>
<div class="prov" data-trace="1">${traceLine}<br><span class="note">Data hash: sha256 of <code>sha256sum</code>'s listing of the dataset's manifest.json and feature files (sorted by path), as listed under Traceability.</span></div>
</header>
${comparison}
${model.runs.map((r) => runHtml(r, byId)).join('\n')}
</body></html>
`;
}
