/**
 * The analysis service end to end in one app (jobs in worker threads, a real SQLite file):
 * - a robustness sweep over 11 rates x 5 protocols on a 700-sample test split finishes as a job
 *   with progress, and its curves are stored with AUILC (tiny aligned model, small feature dims);
 * - explain answers with exact Shapley values through the dispatcher;
 * - a frozen-BERT run: a saved counterfactual edit stores its prediction, and editing it changes
 *   the stored counterfactual prediction; the IID/OOD comparison job chooses tau on validation.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type {
  Explanation,
  OodComparison,
  RobustnessSweep,
  TextEdit,
  CounterfactualResult,
} from '../../src/shared/contract/analysis';
import type { AppEvent, JobRecord } from '../../src/shared/types';
import { trainTinyRun, useTestApp } from '../helpers/testApp';
import { registerSynthetic } from '../helpers/analysis';
import { runCli } from '../../src/cli/main';
import { writeFeatureRecord } from '../../src/main/clips/features/store';
import { writeTinyBaseCompatibleBert } from '../helpers/syntheticRuns';

const bert = writeTinyBaseCompatibleBert();
const ctx = useTestApp(() => bert.cleanup());
const { call, dataDir } = ctx;
const train = (datasetId: number, options: Record<string, unknown>) => trainTinyRun(ctx.app, datasetId, options);

test('robustness sweep: 11 rates x 5 protocols on a 700-sample test split, as a job with progress', async () => {
  const iid = await registerSynthetic(ctx.app, {
    name: 'syn aligned',
    sizes: { train: 40, valid: 20, test: 700 },
    aligned: true,
    L: 8,
    seed: 5,
  });
  const run = await train(iid.id, { batchSize: 40, evalBatchSize: 350 });

  const fractions: number[] = [];
  const off = ctx.app.events.subscribe((e: AppEvent) => {
    if (
      e.type === 'job.updated' &&
      e.job.kind === 'analysis.robustness' &&
      e.job.status === 'running' &&
      e.job.progress.fraction !== null
    )
      fractions.push(e.job.progress.fraction);
  });
  const protocols = ['RMFM', 'RMM', 'TMFM', 'STMFM', 'SMM:T'];
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const job = await call<JobRecord>('analysis.robustness', {
    runId: run.id,
    protocols,
  });
  const done = await ctx.app.runner.wait(job.id);
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  off();
  assert.equal(done.status, 'succeeded', JSON.stringify(done.error));
  console.log(
    `# robustness job, 700 samples x 11 rates x 5 protocols: wall ${(wallMs / 1000).toFixed(1)} s, process CPU ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s`,
  );
  assert.equal(done.progress.fraction, 1);
  assert.ok(fractions.length >= 2, `progress reported while running (${fractions.join(', ')})`);
  assert.ok(
    fractions.every((f, i) => i === 0 || f >= fractions[i - 1]),
    'progress only moves forward',
  );
  assert.deepEqual(done.result, {
    sweepId: (done.result as { sweepId: number }).sweepId,
    runId: run.id,
    curves: 5,
    samples: 700,
    // the worker's TF.js backend (issue 22; asserted per job kind in jobs-backend.test.ts)
    tfjs: (done.result as { tfjs: unknown }).tfjs,
  });

  const [sweep] = await call<RobustnessSweep[]>('analysis.sweeps', {
    runIds: [run.id],
  });
  assert.deepEqual(
    sweep.curves.map((c) => c.protocol),
    protocols,
  );
  for (const c of sweep.curves) {
    assert.equal(c.rates.length, 11);
    assert.equal(c.metrics.Acc_3.length, 11);
    assert.ok(c.metrics.Acc_3.every((v) => v >= 0 && v <= 1));
    assert.equal(typeof c.auilc.Acc_3, 'number');
    // rate 0 is the complete view for every protocol
    assert.equal(c.metrics.Acc_3[0], sweep.curves[0].metrics.Acc_3[0]);
  }
  // SMM:T at p = 1 keeps the text only: the same as the evaluation's SMM 'T' point
  const evalJob = await call<JobRecord>('runs.evaluate', {
    id: run.id,
    options: { protocols: ['SMM'] },
  });
  assert.equal((await ctx.app.runner.wait(evalJob.id)).status, 'succeeded');
  const [smm] = await call<{ points: { rate: string; metrics: Record<string, number> }[] }[]>('runs.evaluations', {
    id: run.id,
  });
  assert.equal(sweep.curves[4].metrics.Acc_3[10], smm.points.find((p) => p.rate === 'T')!.metrics.Acc_3);

  // a bad protocol name is refused before any job starts
  await assert.rejects(
    call('analysis.robustness', { runId: run.id, protocols: ['SMM:X'] }),
    /unknown robustness protocol "SMM:X"/,
  );

  // explain through the dispatcher: features-mode run, exact Shapley values
  const x = await call<Explanation>('analysis.explain', {
    runId: run.id,
    target: { kind: 'sample', split: 'test', index: 7 },
  });
  assert.match(x.textNote, /ZEROED/);
  for (let c = 0; c < 3; c++)
    assert.ok(
      Math.abs(x.shapley.text[c] + x.shapley.audio[c] + x.shapley.vision[c] - (x.subsets.TAV[c] - x.subsets[''][c])) <
        1e-6,
    );
  assert.equal(x.wsam, null, 'aligned data has no WSAM');
  // the training job exported the best checkpoint: explanations run on ONNX Runtime, as evaluations do
  assert.equal(x.engine, 'onnx');
  const cf = await call<CounterfactualResult>('analysis.counterfactual', {
    runId: run.id,
    target: { kind: 'sample', split: 'test', index: 7 },
  });
  assert.equal(cf.available, false);
  assert.match(cf.reason!, /BERT model/);

  // the same services on the command line (a second app on the same data folder)
  const lines: string[] = [];
  const io = { out: (l: string) => lines.push(l), err: () => undefined };
  assert.equal(
    await runCli(
      ['robustness', String(run.id), '--protocols', 'RMFM,SMM:AV', '--rates', '0:1:0.5', '--data-dir', dataDir],
      io,
    ),
    0,
  );
  assert.ok(lines.some((l) => /^ {2}SMM:AV$/.test(l)));
  assert.equal(lines.filter((l) => /^ {4}AUILC/.test(l)).length, 2);
  lines.length = 0;
  assert.equal(
    await runCli(['explain', String(run.id), '--sample', 'test:7', '--drop', 'audio', '--data-dir', dataDir], io),
    0,
  );
  assert.ok(
    lines.some((l) => /Shapley audio +[+-]0\.0000 +[+-]0\.0000 +[+-]0\.0000/.test(l)),
    lines.join('\n'),
  );
  assert.ok(lines.some((l) => /counterfactual prediction unavailable/.test(l)));
  assert.equal(await runCli(['explain', String(run.id), '--sample', 'test:x', '--data-dir', dataDir], io), 2);
});

test('frozen-BERT run: a saved counterfactual edit stores its prediction and an edit changes it; IID vs OOD with tau on validation', async () => {
  const iid = await registerSynthetic(ctx.app, {
    name: 'syn unaligned',
    sizes: { train: 24, valid: 10, test: 12 },
    aligned: false,
    seed: 8,
  });
  const ood = await registerSynthetic(ctx.app, {
    name: 'syn unaligned OOD',
    kind: 'ood',
    parentId: iid.id,
    sizes: { train: 24, valid: 10, test: 12 },
    aligned: false,
    seed: 21,
  });
  const run = await train(iid.id, {
    batchSize: 12,
    text: { kind: 'frozen', modelDir: bert.dir },
  });
  const target = { kind: 'sample' as const, split: 'test' as const, index: 2 };

  const auto = await call<CounterfactualResult>('analysis.counterfactual', {
    runId: run.id,
    target,
  });
  assert.ok(auto.available);
  assert.equal(auto.validationTau, null, 'no tau chosen on validation yet');
  const first = [101, 104, 104, 102];
  const saved = await call<TextEdit>('analysis.saveEdit', {
    runId: run.id,
    target,
    name: 'positive words',
    tokenIds: first,
  });
  assert.deepEqual(saved.target, { ...target, datasetId: iid.id });
  const direct = await call<CounterfactualResult>('analysis.counterfactual', {
    runId: run.id,
    target,
    tokenIds: first,
  });
  assert.deepEqual(saved.counterfactual, direct.counterfactual, "the stored prediction is the edit's");
  const second = [101, 116, 117, 118, 102];
  const updated = await call<TextEdit>('analysis.saveEdit', {
    id: saved.id,
    runId: run.id,
    target,
    name: 'negative words',
    tokenIds: second,
  });
  assert.notDeepEqual(
    updated.counterfactual,
    saved.counterfactual,
    'the edit changed the stored counterfactual prediction',
  );
  const [listed] = await call<TextEdit[]>('analysis.edits', {
    target: { ...target, datasetId: iid.id },
  });
  assert.deepEqual(listed.tokenIds, second);
  assert.deepEqual(listed.counterfactual, updated.counterfactual);

  // a clip's extracted features (as clips.extract writes them) inspected with the same run
  const clipId = 77;
  const rec = (modality: 'text' | 'audio' | 'vision', frames: number, dims: number, extra = {}) => ({
    modality,
    version: 't',
    fingerprint: 'f',
    available: true,
    reason: null,
    rate: 100,
    frames,
    dims,
    names: [],
    createdAt: 'now',
    ...extra,
  });
  const L = 8;
  const ids = [
    [101, 104, 105, 120, 102, 0, 0, 0],
    [1, 1, 1, 1, 1, 0, 0, 0],
    [0, 0, 0, 0, 0, 0, 0, 0],
  ];
  writeFeatureRecord(
    dataDir,
    clipId,
    rec('text', 5, 0, {
      text: { L, ids, length: 5, truncated: 0, tokens: [], timed: false },
    }),
  );
  writeFeatureRecord(
    dataDir,
    clipId,
    rec('audio', 20, 3),
    Float32Array.from({ length: 20 * 3 }, (_, i) => Math.sin(i)),
  );
  writeFeatureRecord(
    dataDir,
    clipId,
    rec('vision', 6, 4),
    Float32Array.from({ length: 6 * 4 }, (_, i) => Math.cos(i)),
  );
  const cx = await call<Explanation>('analysis.explain', {
    runId: run.id,
    target: { kind: 'clip', clipId },
  });
  assert.equal(cx.truth, null);
  assert.deepEqual(
    cx.tokens.map((t) => t.id),
    [101, 104, 105, 120, 102],
  );
  assert.equal(cx.wsam!.audio[0].length, 12, "audio cut to the model's Ta");
  assert.equal(cx.wsam!.vision[0].length, 6, "vision: the clip's 6 frames");
  assert.equal(cx.engine, 'onnx', 'an unaligned BERT run explains on ONNX Runtime too (WSAM maps included)');
  await assert.rejects(
    call('analysis.explain', {
      runId: run.id,
      target: { kind: 'clip', clipId: 78 },
    }),
    /no text features/,
  );

  const job = await call<JobRecord>('analysis.compareOod', { runId: run.id });
  const done = await ctx.app.runner.wait(job.id);
  assert.equal(done.status, 'succeeded', JSON.stringify(done.error));
  const [cmp] = await call<OodComparison[]>('analysis.oodComparisons', {
    runId: run.id,
  });
  assert.equal(cmp.iid.datasetId, iid.id);
  assert.equal(cmp.ood.datasetId, ood.id);
  assert.deepEqual(cmp.iid.labelCounts, iid.splits.test.labels.three);
  assert.deepEqual(cmp.ood.labelCounts, ood.splits.test.labels.three);
  assert.ok(cmp.selectedTau !== null && cmp.taus.includes(cmp.selectedTau));
  assert.equal(cmp.iid.tauCurve.length, 31);
  assert.ok(cmp.iid.debiased && cmp.ood.confusionDebiased);
  assert.equal(cmp.iid.flips.length, cmp.iid.flipCount);
  if (cmp.selectedTau === 0) assert.equal(cmp.iid.flipCount, 0, 'tau 0 flips nothing');
  // the counterfactual view now marks the tau chosen on validation
  const again = await call<CounterfactualResult>('analysis.counterfactual', {
    runId: run.id,
    target,
  });
  assert.equal(again.validationTau!.tau, cmp.selectedTau);
});
