/**
 * Explanations through the inference engine: a tiny trained run, exported to ONNX beside its
 * checkpoint, explained on ONNX Runtime and on TF.js. Probabilities, coalition values, Shapley
 * values, attention summaries (per segment and per word), WSAM maps and the counterfactual
 * editor's scores agree within the ONNX parity tolerance; the analyzer picks the engine as
 * prediction does (the export beside the checkpoint -> ONNX; none -> TF.js; an export without
 * the explanation outputs -> TF.js, with the reason).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { useBackend, tf } from '../../../../src/main/ml/backends/tf';
import { runTraining } from '../../../../src/main/ml/runs/train';
import { loadCheckpoint } from '../../../../src/main/ml/runs/checkpoint';
import { RunAnalyzer, type SimulatorSetting } from '../../../../src/main/ml/analysis/analyzer';
import { exportCheckpointToOnnx } from '../../../../src/main/ml/onnx';
import { onnxPathFor, openInferenceEngine } from '../../../../src/main/ml/inference';
import { trainingOptionsSchema } from '../../../../src/shared/contract/training';
import { tempDir } from '../../../helpers/datasets';
import { TINY_MODEL, writeSyntheticStore, writeTinyBaseCompatibleBert } from '../../../helpers/syntheticRuns';
import { compare } from '../fixture';

/** the ONNX parity tests' tolerance (test/unit/ml/onnx/parity.test.ts) */
const TOL = 1e-4;

function close(what: string, actual: unknown, expected: unknown): void {
  const flat = (x: unknown): number[] =>
    Array.isArray(x) ? x.flatMap(flat) : typeof x === 'number' ? [x] : Object.values(x as object).flatMap(flat);
  const a = flat(actual);
  const e = flat(expected);
  assert.equal(a.length, e.length, `${what}: ${a.length} vs ${e.length} values`);
  assert.ok(a.length > 0, `${what}: nothing to compare`);
  const d = compare(a, e);
  assert.ok(d.maxAbs <= TOL, `${what}: max |diff| ${d.maxAbs.toExponential(2)} > ${TOL} at ${d.worstIndex}`);
}

const SETTINGS: SimulatorSetting[] = [
  { mode: 'complete' },
  { mode: 'toggles', text: true, audio: false, vision: true },
  { mode: 'rates', text: 0.5, audio: 0.3, vision: 0.6, seed: 5 },
];

async function trainAndExport(
  tmp: string,
  o: { aligned: boolean; positional: 'temporal' | 'reference'; bert?: string },
): Promise<{ dir: string; checkpoint: string; cacheDir: string }> {
  const { dir } = await writeSyntheticStore(path.join(tmp, 'ds'), {
    sizes: { train: 24, valid: 6, test: 6 },
    aligned: o.aligned,
  });
  const cacheDir = path.join(tmp, 'cache');
  const options = trainingOptionsSchema.parse({
    batchSize: 12,
    maxEpochs: 1,
    model: { ...TINY_MODEL, positional: o.positional },
    ...(o.bert ? { text: { kind: 'frozen', modelDir: o.bert } } : {}),
  });
  const r = await runTraining({ datasetDir: dir, runDir: path.join(tmp, 'run'), options, cacheDir });
  const checkpoint = r.bestCheckpoint!;
  await exportCheckpointToOnnx(loadCheckpoint(checkpoint).state.ciderConfig, checkpoint);
  return { dir, checkpoint, cacheDir };
}

async function openBoth(run: { dir: string; checkpoint: string; cacheDir: string }) {
  const open = (prefer: 'onnx' | 'tfjs') =>
    RunAnalyzer.open({ checkpointFile: run.checkpoint, datasetDir: run.dir, cacheDir: run.cacheDir, prefer });
  const onnx = await open('onnx');
  const tfjs = await open('tfjs');
  assert.equal(onnx.engine, 'onnx');
  assert.equal(tfjs.engine, 'tfjs-wasm');
  return { onnx, tfjs };
}

test('explanations on ONNX Runtime equal those on TF.js: unaligned run with a frozen BERT (WSAM maps, counterfactual text)', async () => {
  await useBackend('wasm');
  const tmp = tempDir('cider-explain-engines-');
  const bert = writeTinyBaseCompatibleBert();
  try {
    const run = await trainAndExport(tmp.dir, { aligned: false, positional: 'temporal', bert: bert.dir });
    const { onnx, tfjs } = await openBoth(run);
    try {
      for (const index of [0, 4]) {
        const s = await onnx.datasetSample(run.dir, 'test', index);
        for (const setting of SETTINGS) {
          const what = `sample ${index} ${setting.mode}`;
          const before = tf.memory().numTensors;
          const a = await onnx.explain(s, setting);
          assert.equal(tf.memory().numTensors, before, `${what}: the ONNX explanation leaks no tensor`);
          const b = await tfjs.explain(s, setting);
          close(`${what} probabilities`, a.probabilities, b.probabilities);
          close(`${what} coalitions`, a.subsets, b.subsets);
          close(`${what} shapley`, a.shapley, b.shapley);
          close(`${what} attention segments`, a.attention.segments, b.attention.segments);
          close(`${what} attention per word`, a.attention.words, b.attention.words);
          assert.ok(a.wsam && b.wsam, `${what}: WSAM maps on both engines`);
          close(`${what} WSAM audio`, a.wsam.audio, b.wsam.audio);
          close(`${what} WSAM vision`, a.wsam.vision, b.wsam.vision);
          assert.deepEqual(a.tokens, b.tokens);
          assert.deepEqual(a.dropped, b.dropped);
          // the per-word view is the attention's, not a constant: words differ in what they receive
          const received = a.attention.words.map((w) => w.received);
          assert.ok(Math.max(...received) > Math.min(...received), `${what}: per-word attention varies`);
        }
        const ca = await onnx.counterfactual(s, { mode: 'complete' });
        const cb = await tfjs.counterfactual(s, { mode: 'complete' });
        assert.ok(ca.available && cb.available);
        close(`sample ${index} factual`, ca.factual, cb.factual);
        close(`sample ${index} counterfactual`, ca.counterfactual, cb.counterfactual);
        close(
          `sample ${index} debiased`,
          ca.debiased.map((d) => d.probabilities),
          cb.debiased.map((d) => d.probabilities),
        );
        const edited = [101, 104, 105, 104, 102];
        const ea = await onnx.counterfactual(s, SETTINGS[2], edited);
        const eb = await tfjs.counterfactual(s, SETTINGS[2], edited);
        close(`sample ${index} edited counterfactual`, ea.counterfactual, eb.counterfactual);
        assert.notDeepEqual(ea.counterfactual, ca.counterfactual, 'the edit changes the counterfactual view');
      }
    } finally {
      await onnx.dispose();
      await tfjs.dispose();
    }
  } finally {
    bert.cleanup();
    tmp.cleanup();
  }
});

test("explanations on ONNX Runtime equal those on TF.js: aligned run, 'reference' positional quirk (one view per call)", async () => {
  await useBackend('wasm');
  const tmp = tempDir('cider-explain-engines-ref-');
  try {
    const run = await trainAndExport(tmp.dir, { aligned: true, positional: 'reference' });
    const { onnx, tfjs } = await openBoth(run);
    try {
      const s = await onnx.datasetSample(run.dir, 'test', 2);
      for (const setting of SETTINGS) {
        const a = await onnx.explain(s, setting);
        const b = await tfjs.explain(s, setting);
        close(`${setting.mode} coalitions`, a.subsets, b.subsets);
        close(`${setting.mode} shapley`, a.shapley, b.shapley);
        close(`${setting.mode} attention segments`, a.attention.segments, b.attention.segments);
        close(`${setting.mode} attention per word`, a.attention.words, b.attention.words);
        assert.equal(a.wsam, null, 'aligned models have no WSAM maps');
      }
      // features-mode runs cannot score a counterfactual text on either engine, and say why
      const c = await onnx.counterfactual(s, { mode: 'complete' });
      assert.equal(c.available, false);
      close('factual (features mode)', c.factual, (await tfjs.counterfactual(s, { mode: 'complete' })).factual);
    } finally {
      await onnx.dispose();
      await tfjs.dispose();
    }
    // the analyzer picks the engine as prediction does: the export beside the checkpoint, else TF.js
    const auto = await RunAnalyzer.open({ checkpointFile: run.checkpoint, datasetDir: run.dir });
    assert.equal(auto.engine, 'onnx');
    await auto.dispose();
    rmSync(onnxPathFor(run.checkpoint));
    const fallback = await RunAnalyzer.open({ checkpointFile: run.checkpoint, datasetDir: run.dir });
    assert.equal(fallback.engine, 'tfjs-wasm');
    assert.match(fallback.run.detail, /no ONNX export/);
    await fallback.dispose();
    // an export without the explanation outputs (as exporter version 1 wrote them) still predicts,
    // and explanations fall back to TF.js saying why
    const cfg = loadCheckpoint(run.checkpoint).state.ciderConfig;
    await exportCheckpointToOnnx(cfg, run.checkpoint, { explanationOutputs: false });
    const predicting = await openInferenceEngine(cfg, run.checkpoint);
    assert.equal(predicting.engine.name, 'onnx');
    assert.equal(predicting.engine.explains, false);
    await predicting.engine.dispose();
    const old = await RunAnalyzer.open({ checkpointFile: run.checkpoint, datasetDir: run.dir });
    assert.equal(old.engine, 'tfjs-wasm');
    assert.match(old.run.detail, /predates the explanation outputs/);
    await old.dispose();
    await assert.rejects(
      RunAnalyzer.open({ checkpointFile: run.checkpoint, datasetDir: run.dir, prefer: 'onnx' }),
      /no attention_weights output/,
    );
  } finally {
    tmp.cleanup();
  }
});
