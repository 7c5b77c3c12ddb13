/** The report's pieces without a database: SVG charts carry their data, CSV round-trips, HTML has no script. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { auilcOf, configRows } from '../../../src/main/reports/model';
import { barChart, escapeXml, lineChart, ticks } from '../../../src/main/reports/svg';
import { parseCsv, toCsv } from '../../../src/main/reports/tables';
import { trainingOptionsSchema } from '../../../src/shared/contract/training';

test('line and bar charts: one mark per finite value, with its numbers, text escaped', () => {
  const svg = lineChart({
    title: 'a <b> & "c"',
    xLabel: 'rate',
    yLabel: 'Acc',
    series: [
      {
        name: 'Acc_3',
        points: [
          [0, 0.5],
          [0.5, null],
          [1, 0.25],
        ],
      },
      {
        name: 'F1_3',
        points: [
          [0, 0.4],
          [1, 0.2],
        ],
      },
    ],
  });
  assert.equal((svg.match(/<circle /g) ?? []).length, 4, 'a null is a gap, not a point');
  assert.match(svg, /data-x="1" data-y="0.25"/);
  assert.match(svg, /a &lt;b&gt; &amp; &quot;c&quot;/);
  assert.doesNotMatch(svg, /<b>/);
  assert.match(svg, /data-series="Acc_3"/);
  const bars = barChart({
    title: 'labels',
    categories: ['neg', 'neu', 'pos'],
    groups: [{ name: 'train', values: [3, 1, 4] }],
    yLabel: 'n',
  });
  assert.equal((bars.match(/data-value=/g) ?? []).length, 3);
  assert.match(bars, /data-category="pos" data-value="4"/);
  assert.equal(escapeXml(`'`), '&#39;');
  assert.deepEqual(ticks(0, 1, 5), [0, 0.2, 0.4, 0.6, 0.8, 1]);
});

test('CSV: quoting, nulls, full-precision numbers, and back', () => {
  const t = {
    columns: ['name', 'value'],
    rows: [
      ['a, "quoted"\nline', 0.1 + 0.2],
      ['plain', null],
      [' padded', -1e-7],
    ],
  };
  const csv = toCsv(t);
  assert.match(csv, /^name,value\r\n"a, ""quoted""\nline",0.30000000000000004\r\n/);
  const back = parseCsv(csv);
  assert.deepEqual(back, [
    ['name', 'value'],
    ['a, "quoted"\nline', '0.30000000000000004'],
    ['plain', ''],
    [' padded', '-1e-7'],
  ]);
  assert.equal(Number(back[1][1]), 0.1 + 0.2);
});

test('AUILC: trapezoid over [0, 1], null when the rates do not span it', () => {
  const pts = (rs: number[], v: (r: number) => number) => ({
    points: rs.map((rate) => ({ rate, metrics: { Acc: v(rate) } })),
  });
  assert.ok(Math.abs(auilcOf(pts([0, 0.5, 1], (r) => 1 - r))!.Acc! - 0.5) < 1e-12);
  assert.equal(auilcOf(pts([0, 0.5], (r) => r)), null);
});

test('the configuration lists every setting; the named switches carry their note', () => {
  const rows = configRows(trainingOptionsSchema.parse({}));
  const get = (k: string) => rows.find((r) => r.setting === k);
  assert.equal(get('accumulateFullViewGrad')?.value, 'true');
  assert.match(get('accumulateFullViewGrad')!.switchNote!, /reference quirk/);
  assert.equal(get('model.positional')?.value, 'temporal');
  assert.equal(get('lossWeights.joint')?.value, '0.5');
  assert.equal(get('microBatchSize')?.value, '(not set)');
  assert.equal(get('text.kind')?.value, 'features');
});
