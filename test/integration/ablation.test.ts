/**
 * The 'ablation' job end to end in one app (jobs in worker threads, a real SQLite file): on a tiny
 * dataset and its OOD version, one run per variant with the variant's switches recorded, each
 * evaluated under RMFM (AUILC) and compared IID vs OOD plain and debiased (frozen tiny BERT, so
 * MACI is available), and one table reading those records; `cider ablate show` prints it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AblationRecord } from '../../src/shared/contract/ablation';
import type { OodComparison } from '../../src/shared/contract/analysis';
import type { ReportModel } from '../../src/shared/contract/reports';
import type { JobRecord } from '../../src/shared/types';
import { ABLATION_VARIANTS } from '../../src/shared/contract/ablation';
import type { RunEpoch, RunRecord } from '../../src/shared/contract/training';
import { trainTinyRun, useTestApp } from '../helpers/testApp';
import { registerSynthetic } from '../helpers/analysis';
import { runCli } from '../../src/cli/main';
import { TINY_MODEL, writeTinyBaseCompatibleBert } from '../helpers/syntheticRuns';

const bert = writeTinyBaseCompatibleBert();
const ctx = useTestApp(() => bert.cleanup());
const { call, dataDir } = ctx;

test('ablation job: one run per variant, their switches recorded, and one table of IID/OOD plain/debiased + AUILC', async () => {
  const sizes = { train: 32, valid: 16, test: 16 };
  const iid = await registerSynthetic(ctx.app, { name: 'abl', sizes, seed: 5 });
  await registerSynthetic(ctx.app, { name: 'abl-ood', sizes, seed: 8, kind: 'ood', parentId: iid.id });
  const started = await call<AblationRecord>('ablation.start', {
    datasetId: iid.id,
    rmfmRates: [0, 0.5, 1],
    options: {
      maxEpochs: 2,
      batchSize: 16,
      model: TINY_MODEL,
      workers: 1,
      text: { kind: 'frozen', modelDir: bert.dir },
    },
  });
  assert.deepEqual(
    started.rows.map((r) => r.status),
    ABLATION_VARIANTS.map(() => 'pending'),
  );
  const done = await ctx.app.runner.wait(started.job.id);
  assert.equal(done.status, 'succeeded', JSON.stringify(done.error));
  const a = await call<AblationRecord>('ablation.get', { id: started.id });
  assert.deepEqual(
    a.rows.map((r) => r.variant),
    [...ABLATION_VARIANTS],
  );
  assert.equal(a.tauRule, 'validation');
  assert.match(a.tauNote, /validation split by Non0_acc_2/);
  const runs = await call<RunRecord[]>('runs.list', {});
  assert.equal(runs.length, ABLATION_VARIANTS.length, 'one run per variant');
  for (const r of a.rows) {
    assert.equal(r.status, 'completed', r.variant);
    const run = runs.find((x) => x.id === r.runId)!;
    assert.equal(run.name, `ablation #${a.id} ${r.variant}`);
    // the switches reach the run's recorded options
    assert.equal(run.options.mssd, r.variant !== 'no-mssd');
    assert.equal(run.options.lossWeights.joint, r.variant === 'no-joint' ? 0 : 0.5);
    assert.equal(run.options.lossWeights.attention, r.variant === 'no-attention' ? 0 : 0.1);
    assert.equal(run.options.lossWeights.reconstruction, r.variant === 'no-reconstruction' ? 0 : 0.6);
    for (const side of [r.iid!, r.ood!]) {
      for (const m of a.headline) {
        assert.ok(side.plain[m] >= 0 && side.plain[m] <= 1, `${r.variant} ${m} plain ${side.plain[m]}`);
        assert.ok(side.debiased![m] >= 0 && side.debiased![m] <= 1, `${r.variant} ${m} debiased`);
      }
    }
    assert.equal(r.iid!.count, 16);
    assert.ok(r.tau !== null && r.tau >= 0 && r.tau <= 3);
    for (const m of a.headline) assert.ok(r.auilcRmfm![m]! >= 0 && r.auilcRmfm![m]! <= 1, `${r.variant} AUILC ${m}`);
  }
  // w/o MSSD really trained without the missing view: its recorded missing-view losses are 0
  const noMssd = a.rows.find((r) => r.variant === 'no-mssd')!;
  const epochs = await call<RunEpoch[]>('runs.epochs', { id: noMssd.runId });
  assert.ok(epochs.length > 0);
  for (const e of epochs) {
    assert.equal(e.losses.taskMissing, 0);
    assert.equal(e.losses.total, e.losses.taskFull);
  }
  const full = await call<RunEpoch[]>('runs.epochs', { id: a.rows[0].runId });
  assert.ok(full[0].losses.taskMissing > 0 && full[0].losses.joint > 0);

  const out: string[] = [];
  const code = await runCli(['ablate', 'show', String(a.id), '--data-dir', dataDir], {
    out: (l) => out.push(l),
    err: (l) => out.push(l),
  });
  assert.equal(code, 0, out.join('\n'));
  const text = out.join('\n');
  assert.match(text, /IID Acc_3/);
  assert.match(text, /AUILC Acc_3/);
  for (const label of ['CIDer (full)', 'w/o MSSD', 'w/o joint', 'w/o attention', 'w/o reconstruction'])
    assert.ok(
      text.split('\n').some((l) => l.includes(label) && l.includes('completed')),
      `${label} row:\n${text}`,
    );
});

test("compare-ood --with RUN2 (the paper's protocol) through the service, and the report's OOD section", async () => {
  const sizes = { train: 24, valid: 12, test: 12 };
  const iid = await registerSynthetic(ctx.app, { name: 'pair', sizes, seed: 6 });
  const ood = await registerSynthetic(ctx.app, { name: 'pair-ood', sizes, seed: 9, kind: 'ood', parentId: iid.id });
  const train = (datasetId: number) => trainTinyRun(ctx.app, datasetId, { batchSize: 12, workers: 1 });
  const r1 = await train(iid.id);
  const r2 = await train(ood.id);
  // a run on the IID dataset is not the paper's OOD run: refused with the reason
  const bad = await ctx.app.dispatch('analysis.compareOod', { runId: r2.id, withRunId: r1.id });
  assert.equal(bad.ok, false);
  const job = await call<JobRecord>('analysis.compareOod', { runId: r1.id, withRunId: r2.id });
  assert.equal((await ctx.app.runner.wait(job.id)).status, 'succeeded');
  const [c] = await call<OodComparison[]>('analysis.oodComparisons', { runId: r1.id });
  assert.equal(c.paired!.runId, r2.id);
  assert.equal(c.paired!.ood.count, 12);
  assert.equal(c.tauRule, 'validation');
  assert.match(c.ood.overlap!.note, /OOD test split of pair-ood: no sample of the run's training\/validation data/);
  const m = await call<ReportModel>('reports.model', { runIds: [r1.id], sections: ['explanations'] });
  const ex = m.runs[0].explanations;
  assert.ok(ex.available);
  const oc = ex.data.oodComparison;
  assert.ok(oc.available, JSON.stringify(oc));
  assert.deepEqual(oc.data.pairedRun, { id: r2.id, name: r2.name });
  assert.ok(oc.data.rows.every((row) => typeof row.pairedOodPlain === 'number'));
  assert.ok(oc.data.notes!.some((n) => /paper's protocol: the OOD test also scored by run/.test(n)));
});
