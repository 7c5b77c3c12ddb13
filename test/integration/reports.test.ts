/**
 * Reports end to end on really trained runs (tiny shapes, 1-2 epochs, the training tests' helpers):
 * every format exported through the reports service; the HTML opened in Chromium (charts with
 * data, tables); the PDF (Chromium's, and pdf-lib's fallback) turned into PNG pages by pdftoppm
 * and checked not blank; the CSV read back to the numbers in the database; a comparison report;
 * `cider report` on the command line; a folder escape refused.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createApp, type AppServices } from '../../src/main/services/app';
import { exportReport } from '../../src/main/reports/export';
import { parseCsv } from '../../src/main/reports/tables';
import type { ReportExportResult, ReportModel } from '../../src/shared/contract/reports';
import type { EvaluationPrediction, EvaluationRecord, RunEpoch, RunRecord } from '../../src/shared/contract/training';
import type { JobRecord } from '../../src/shared/types';
import { artifactsDir, chromiumMissing, openBrowser } from '../helpers/browser';
import { pdfToPngPages, pdftoppmMissing, pixelStats, readPngGray } from '../helpers/png';
import { TINY_MODEL, writeSyntheticStore, writeTinyBaseCompatibleBert } from '../helpers/syntheticRuns';
import { tempDir } from '../helpers/tmp';

const cli = fileURLToPath(new URL('../../bin/cider.mjs', import.meta.url));

let app: AppServices;
// temp folders made at the top level: an after() registered inside before() would run when the hook ends
const dataDir = tempDir('cider-reports-data-');
const datasetRoot = tempDir('cider-reports-ds-');
let maciRun: RunRecord;
let featuresRun: RunRecord;

async function call<T>(method: string, args: unknown): Promise<T> {
  const env = await app.dispatch(method, args);
  if (!env.ok)
    throw Object.assign(new Error(`${method}: ${env.error.message}`), {
      code: env.error.code,
    });
  return env.value as T;
}

async function trainAndEvaluate(dataset: string, options: unknown, evaluation: unknown): Promise<RunRecord> {
  const started = await call<{ run: RunRecord; job: JobRecord }>('runs.start', {
    datasetFolder: dataset,
    options,
  });
  const trained = await app.runner.wait(started.job.id);
  assert.equal(trained.status, 'succeeded', JSON.stringify(trained.error));
  const ev = await call<JobRecord>('runs.evaluate', {
    id: started.run.id,
    options: evaluation,
  });
  const evaluated = await app.runner.wait(ev.id);
  assert.equal(evaluated.status, 'succeeded', JSON.stringify(evaluated.error));
  return call<RunRecord>('runs.get', { id: started.run.id });
}

before(async () => {
  const bert = writeTinyBaseCompatibleBert();
  const { dir: dataset } = await writeSyntheticStore(path.join(datasetRoot, 'ds'), {
    sizes: { train: 24, valid: 12, test: 12 },
    name: 'tiny-synthetic',
  });
  app = createApp({ dataDir, mode: 'cli', seedDemo: false });
  // a frozen-BERT run (so MACI debiasing is available), and a features-mode run to compare with
  maciRun = await trainAndEvaluate(
    dataset,
    {
      batchSize: 12,
      maxEpochs: 2,
      model: TINY_MODEL,
      text: { kind: 'frozen', modelDir: bert.dir },
    },
    { protocols: ['complete', 'RMFM', 'MACI'], rates: [0, 0.5, 1] },
  );
  featuresRun = await trainAndEvaluate(
    dataset,
    { batchSize: 12, maxEpochs: 1, model: TINY_MODEL },
    { protocols: ['complete'] },
  );
  bert.cleanup();
});
after(async () => app?.close());

const readCsv = (file: string) => {
  const [head, ...rows] = parseCsv(fs.readFileSync(file, 'utf8'));
  return { head, rows };
};
const num = (s: string) => (s === '' ? null : Number(s));

test(
  'every format of a trained run: HTML in Chromium, PDF pages not blank, CSV equal to the database',
  { skip: chromiumMissing ?? pdftoppmMissing ?? false },
  async () => {
    const out = tempDir('cider-reports-out-');
    const res = await call<ReportExportResult>('reports.export', {
      runIds: [maciRun.id],
      formats: ['html', 'pdf', 'csv', 'json'],
      folder: out,
    });
    assert.equal(res.folder, fs.realpathSync(out));
    for (const f of res.files)
      assert.ok(f.path.startsWith(res.folder + path.sep) && fs.statSync(f.path).size === f.bytes, f.path);
    assert.deepEqual(
      fs.readdirSync(out).filter((f) => f.endsWith('.tmp')),
      [],
      'no temp file left behind',
    );
    const base = path.join(out, `report-run${maciRun.id}`);
    const p = `${base}.run${maciRun.id}`;

    // --- CSV read back: the same numbers as the database
    const evals = await call<EvaluationRecord[]>('runs.evaluations', {
      id: maciRun.id,
    });
    const complete = evals.find((e) => e.protocol === 'complete')!;
    const metrics = readCsv(`${p}.metrics-complete.csv`);
    assert.deepEqual(metrics.head, ['metric', 'value']);
    assert.deepEqual(
      Object.fromEntries(metrics.rows.map(([k, v]) => [k, num(v)])),
      complete.points[0].metrics,
      'complete-view metrics, full precision',
    );

    const epochs = await call<RunEpoch[]>('runs.epochs', { id: maciRun.id });
    const ep = readCsv(`${p}.epochs.csv`);
    assert.equal(ep.rows.length, 2);
    for (const [i, e] of epochs.entries()) {
      assert.equal(num(ep.rows[i][ep.head.indexOf('loss.total')]), e.losses.total);
      assert.equal(num(ep.rows[i][ep.head.indexOf('valid.Non0_acc_2')]), e.validation.Non0_acc_2);
    }

    const preds = await call<EvaluationPrediction[]>('runs.predictions', {
      evaluationId: complete.id,
    });
    const pc = readCsv(`${p}.predictions-e${complete.id}.csv`);
    assert.equal(pc.rows.length, 12);
    for (const [i, pr] of preds.entries()) {
      const row = pc.rows[i];
      assert.equal(num(row[0]), pr.index);
      assert.equal(row[1], `test-${pr.index}`, 'the sample id from the dataset');
      assert.equal(num(row[2]), pr.truth);
      assert.equal(num(row[4]), pr.prediction);
      assert.deepEqual(row.slice(7).map(num), pr.logProbs);
    }

    const maci = evals.find((e) => e.protocol === 'MACI')!;
    const deb = readCsv(`${p}.metrics-debiased.csv`);
    assert.ok(
      deb.head.some((h) => /reference protocol/i.test(h)),
      `the reference protocol is labelled: ${deb.head.join(',')}`,
    );
    const acc0 = deb.rows.find((r) => r[0] === '0' && r[1] === 'Acc_3')!;
    assert.equal(num(acc0[3]), maci.points[0].metrics.Acc_3, 'debiased value (tau on validation)');
    assert.equal(num(acc0[4]), maci.points[0].maci!.selectedTau);
    assert.equal(num(acc0[5]), maci.points[0].maci!.referenceProtocol.values.Acc_3.value);

    const rmfm = evals.find((e) => e.protocol === 'RMFM')!;
    const rob = readCsv(`${p}.robustness-rmfm.csv`);
    assert.deepEqual(
      rob.rows.map((r) => r[0]),
      ['0', '0.5', '1', 'AUILC'],
    );
    assert.equal(num(rob.rows[3][rob.head.indexOf('Acc_3')]), rmfm.auilc!.Acc_3);

    const config = readCsv(`${p}.config.csv`);
    const setting = (k: string) => config.rows.find((r) => r[0] === k);
    assert.equal(setting('accumulateFullViewGrad')?.[1], 'true');
    assert.match(setting('accumulateFullViewGrad')![2], /reference quirk/, 'the named switch is explained');
    assert.equal(setting('text.kind')?.[1], 'frozen');

    // --- JSON: the model, and one JSON per table with the same records
    const model = JSON.parse(fs.readFileSync(`${base}.json`, 'utf8')) as ReportModel;
    assert.equal(model.format, 'cider-report');
    assert.match(model.app.version, /^\d+\.\d+\.\d+/);
    assert.equal(model.app.backend.name.length > 0, true);
    const trace = model.runs[0].trace;
    assert.ok(trace.data.available && /^[0-9a-f]{64}$/.test(trace.data.data.sha256));
    assert.ok(
      trace.data.available &&
        trace.data.data.files.some((f) => f.file === 'manifest.json') &&
        trace.data.data.files.some((f) => f.file.endsWith('audio.bin')),
    );
    assert.ok(trace.checkpoint.available && /^[0-9a-f]{64}$/.test(trace.checkpoint.data.sha256));
    assert.equal(model.runs[0].agreement.available, false, 'not a clips dataset: agreement says why');
    assert.equal(
      model.runs[0].explanations.available ? model.runs[0].explanations.data.contributions.available : false,
      false,
    );
    const jt = JSON.parse(fs.readFileSync(`${p}.metrics-complete.json`, 'utf8')) as {
      records: { metric: string; value: number }[];
    };
    assert.deepEqual(Object.fromEntries(jt.records.map((r) => [r.metric, r.value])), complete.points[0].metrics);

    // --- HTML in Chromium: charts with data, tables, no network
    const b = await openBrowser();
    try {
      const requests: string[] = [];
      b.page.on('request', (r) => requests.push(r.url()));
      await b.page.goto(`file://${base}.html`);
      const charts = await b.page.$$eval('svg.chart', (svgs) =>
        svgs.map((s) => ({
          kind: s.getAttribute('data-chart'),
          title: s.querySelector('title')?.textContent ?? '',
          points: s.querySelectorAll('circle[data-y]').length,
          bars: s.querySelectorAll('rect[data-value]').length,
          w: s.getBoundingClientRect().width,
        })),
      );
      const find = (re: RegExp) => charts.find((c) => re.test(c.title));
      assert.equal(find(/Losses per epoch/)?.points, 8 * 2, 'eight loss components over two epochs');
      assert.ok(find(/Validation metrics per epoch/)!.points >= 2);
      assert.equal(find(/^RMFM: metric vs missing rate/)?.points, 3 * Object.keys(rmfm.points[0].metrics).length);
      assert.ok(find(/MACI/)!.points > 0, 'the debiased curve');
      assert.equal(find(/3-class labels per split/)?.bars, 9);
      for (const c of charts) assert.ok(c.w > 100, `${c.title} is laid out`);
      const tables = await b.page.$$eval('table[data-table]', (ts) =>
        ts.map((t) => ({
          id: t.getAttribute('data-table')!,
          rows: t.querySelectorAll('tbody tr').length,
        })),
      );
      for (const id of [
        'run',
        'dataset-splits',
        'config',
        'epochs',
        'metrics-complete',
        'metrics-debiased',
        'robustness-rmfm',
        'trace',
      ])
        assert.ok(
          tables.some((t) => t.id === `run${maciRun.id}.${id}` && t.rows > 0),
          `table ${id}`,
        );
      const text = await b.page.textContent('body');
      assert.match(text!, /reference protocol/i);
      assert.match(text!, /Not available: .*annotated clips/);
      assert.match(text!, new RegExp(trace.data.available ? trace.data.data.sha256 : 'x'));
      assert.deepEqual(
        requests.filter((u) => !u.startsWith('file://')),
        [],
        'the HTML loads nothing from the network',
      );
      fs.mkdirSync(artifactsDir, { recursive: true });
      await b.page.screenshot({
        path: path.join(artifactsDir, 'report-html.png'),
        fullPage: true,
      });
    } finally {
      await b.close();
    }

    // --- PDF (Chromium) to PNG pages, not blank
    assert.equal(res.pdf?.renderer, 'chromium', res.pdf?.detail);
    const pages = pdfToPngPages(`${base}.pdf`, out, 'chromium');
    assert.ok(pages.length >= 2, `${pages.length} pages`);
    for (const page of pages) {
      const s = pixelStats(readPngGray(page));
      assert.ok(
        s.variance > 50 && s.nonWhite > 0.005,
        `${path.basename(page)} is not blank (variance ${s.variance.toFixed(1)}, ${(s.nonWhite * 100).toFixed(2)}% ink)`,
      );
    }
    fs.copyFileSync(pages[0], path.join(artifactsDir, 'report-pdf-page1.png'));

    // --- the pdf-lib fallback (no Chromium): the same tables, charts drawn as lines
    const m = await call<ReportModel>('reports.model', {
      runIds: [maciRun.id],
    });
    const lib = await exportReport(
      m,
      { formats: ['pdf'], folder: out, baseName: 'fallback' },
      { predictions: () => [], testSampleIds: () => null, chromium: null },
    );
    assert.equal(lib.pdf?.renderer, 'pdf-lib');
    assert.match(lib.pdf!.detail, /no Chromium/);
    const libPages = pdfToPngPages(path.join(out, 'fallback.pdf'), out, 'pdflib');
    assert.ok(libPages.length >= 2);
    for (const page of libPages)
      assert.ok(pixelStats(readPngGray(page)).variance > 50, `${path.basename(page)} is not blank`);
  },
);

test('a comparison of two runs, and a section that is not available says why', async () => {
  const res = await call<{
    html: string;
    tables: { id: string; rows: number }[];
  }>('reports.preview', { runIds: [maciRun.id, featuresRun.id] });
  assert.ok(res.tables.some((t) => t.id === 'comparison.metrics' && t.rows > 0));
  assert.ok(res.tables.some((t) => t.id === 'comparison.config-diff' && t.rows > 0));
  assert.match(res.html, /Validation Non0_acc_2 per epoch, runs overlaid/);
  assert.match(res.html, /Not available: MACI \(debiased inference\) needs a BERT model/);
  assert.doesNotMatch(res.html, /<script/i);
  const some = await call<ReportModel>('reports.model', {
    runIds: [featuresRun.id],
    sections: ['metrics'],
  });
  assert.equal(some.runs[0].metrics.available, true);
  assert.deepEqual(some.runs[0].curves, {
    available: false,
    reason: 'not chosen for this report',
  });
});

test('exports never leave the chosen folder', async () => {
  const root = tempDir('cider-reports-escape-');
  const chosen = path.join(root, 'chosen');
  const outside = path.join(root, 'outside');
  fs.mkdirSync(outside);
  await assert.rejects(
    call('reports.export', {
      runIds: [featuresRun.id],
      formats: ['html'],
      folder: chosen,
      baseName: '../evil',
    }),
    { code: 'BAD_REQUEST' },
  );
  await assert.rejects(
    call('reports.export', {
      runIds: [featuresRun.id],
      formats: ['html'],
      folder: chosen,
      baseName: '..',
    }),
    { code: 'BAD_REQUEST' },
  );
  // a symlink planted at the target name pointing outside is not written through
  fs.mkdirSync(chosen, { recursive: true });
  fs.symlinkSync(path.join(outside, 'stolen.html'), path.join(chosen, 'r.html'));
  await assert.rejects(
    call('reports.export', {
      runIds: [featuresRun.id],
      formats: ['html'],
      folder: chosen,
      baseName: 'r',
    }),
    /symbolic link/,
  );
  assert.deepEqual(fs.readdirSync(outside), []);
});

test('cider report RUN --format html|csv --out PATH', { skip: chromiumMissing ?? false }, () => {
  const out = tempDir('cider-reports-cli-');
  const html = spawnSync(
    process.execPath,
    [
      cli,
      'report',
      String(maciRun.id),
      '--format',
      'html',
      '--out',
      path.join(out, 'appendix.html'),
      '--data-dir',
      dataDir,
    ],
    { encoding: 'utf8', timeout: 300_000 },
  );
  assert.equal(html.status, 0, html.stderr);
  assert.match(html.stdout, /wrote 1 file\(s\) to .*:\n {2}html appendix\.html/);
  assert.match(fs.readFileSync(path.join(out, 'appendix.html'), 'utf8'), /<svg[^>]+data-chart="line"/);
  const csv = spawnSync(
    process.execPath,
    [
      cli,
      'report',
      `${maciRun.id},${featuresRun.id}`,
      '--format',
      'csv',
      '--out',
      path.join(out, 'tables'),
      '--data-dir',
      dataDir,
    ],
    { encoding: 'utf8', timeout: 300_000 },
  );
  assert.equal(csv.status, 0, csv.stderr);
  assert.ok(
    fs.existsSync(path.join(out, 'tables', `report-run${maciRun.id}-${featuresRun.id}.comparison.metrics.csv`)),
  );
  const bad = spawnSync(
    process.execPath,
    [cli, 'report', String(maciRun.id), '--format', 'docx', '--out', out, '--data-dir', dataDir],
    { encoding: 'utf8', timeout: 300_000 },
  );
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--format: "docx" is not one of html, pdf, csv, json/);
});
