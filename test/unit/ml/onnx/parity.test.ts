/**
 * ONNX export parity: the exported graph on onnxruntime-node agrees with the TF.js inference
 * path and with the reference outputs of ../shared/fixtures/cider-parity (both fixtures, the
 * 'reference' positional switch), within 1e-4 on every output.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useBackend } from '../../../../src/main/ml/backends/tf.js';
import { paramsFromTensors, disposeParams } from '../../../../src/main/ml/model/weights.js';
import { CiderModel } from '../../../../src/main/ml/model/cider.js';
import { exportCiderOnnx } from '../../../../src/main/ml/onnx/export.js';
import { OnnxEngine } from '../../../../src/main/ml/onnx/engine.js';
import {
  TfjsEngine,
  type InferenceBatch,
  type InferenceConfounders,
  type InferenceOutputs,
} from '../../../../src/main/ml/inference.js';
import { compare, get, loadFixture, type Fixture } from '../fixture.js';

const TOL = 1e-4;

function f32(f: Fixture, key: string): Float32Array {
  return get(f, key).data as Float32Array;
}

/** The fixture's test-time batch: missing view + counterfactual text, per-sample confounders (C, B, D) and prior (B, C). */
function fixtureInputs(f: Fixture): {
  batch: InferenceBatch;
  conf: InferenceConfounders;
} {
  const C = f.config.classes;
  const B = get(f, 'input.labels').shape[0];
  const D = f.config.dl + f.config.da + f.config.dv;
  const dictionary = new Float32Array(C * B * D);
  for (let c = 0; c < C; c++) dictionary.set(f32(f, `input.confounder${c}`), c * B * D);
  return {
    batch: {
      size: B,
      text: f32(f, 'input.text_m'),
      textCf: f32(f, 'input.text_cf'),
      textMask: f32(f, 'input.text_mask'),
      textLengths: Array.from(get(f, 'input.text_lengths').data as Int32Array),
      audio: f32(f, 'input.audio_m'),
      audioMask: f32(f, 'input.audio_mask'),
      vision: f32(f, 'input.vision_m'),
      visionMask: f32(f, 'input.vision_mask'),
    },
    conf: { dictionary, prior: f32(f, 'input.cls_probs') },
  };
}

function close(
  what: string,
  actual: ArrayLike<number> | undefined,
  expected: ArrayLike<number> | undefined,
  tol = TOL,
): void {
  assert.ok(actual && expected, `${what}: missing`);
  const d = compare(actual, expected);
  assert.ok(d.maxAbs <= tol, `${what}: max |diff| ${d.maxAbs.toExponential(2)} > ${tol}`);
}

function sameOutputs(what: string, a: InferenceOutputs, b: InferenceOutputs): void {
  close(`${what} log_probs`, a.logProbs, b.logProbs);
  close(`${what} log_probs_cf`, a.logProbsCf, b.logProbsCf);
  close(`${what} joint`, a.joint, b.joint);
  close(`${what} joint_cf`, a.jointCf, b.jointCf);
  close(`${what} attention_segments`, a.attentionSegments, b.attentionSegments);
  close(`${what} wsam audio`, a.wsamAudio ?? [], b.wsamAudio ?? []);
  close(`${what} wsam vision`, a.wsamVision ?? [], b.wsamVision ?? []);
}

for (const name of ['aligned-7class', 'unaligned-3class'] as const) {
  test(`ONNX parity ${name}`, async (t) => {
    await useBackend('wasm');
    const f = loadFixture(name);
    const exp = exportCiderOnnx(f.config, f.tensors, { prefix: 'weight.' });
    const { params } = paramsFromTensors(f.config, f.tensors, {
      prefix: 'weight.',
    });
    // the load check: same config, same weights (fingerprint), names, a tiny batch
    const onnx = await OnnxEngine.load(exp.bytes, {
      expectConfig: f.config,
      expectWeights: params,
    });
    const tfjs = await TfjsEngine.create(new CiderModel(f.config, params));
    const { batch, conf } = fixtureInputs(f);
    const C = f.config.classes;
    const D = f.config.dl + f.config.da + f.config.dv;

    await t.test('engine names', () => {
      assert.equal(onnx.name, 'onnx');
      assert.equal(tfjs.name, 'tfjs-wasm');
      assert.match(onnx.detail, /onnxruntime-node .*cpu/);
    });

    const ours = await onnx.infer(batch, conf);
    await t.test('against the reference outputs (out.test.*)', () => {
      close('log_probs vs out.test.pred_m', ours.logProbs, f32(f, 'out.test.pred_m'));
      close('log_probs_cf vs out.test.cf_pred_m', ours.logProbsCf, f32(f, 'out.test.cf_pred_m'));
      close('joint vs out.test.joint_rep_m', ours.joint, f32(f, 'out.test.joint_rep_m'));
    });

    await t.test('against the TF.js engine (every output)', async () => {
      sameOutputs('onnx vs tfjs', ours, await tfjs.infer(batch, conf));
    });

    await t.test('attention summary rows are distributions', () => {
      for (let r = 0; r < ours.attentionSegments.length / 3; r++) {
        const s = ours.attentionSegments[3 * r] + ours.attentionSegments[3 * r + 1] + ours.attentionSegments[3 * r + 2];
        assert.ok(Math.abs(s - 1) < 1e-5, `row ${r} sums to ${s}`);
      }
    });

    await t.test('shared confounders (C, D) and prior (C) equal the per-sample form with equal rows', async () => {
      const B = batch.size;
      const shared: InferenceConfounders = {
        dictionary: new Float32Array(C * D),
        prior: conf.prior.slice(0, C),
      };
      const replicated: InferenceConfounders = {
        dictionary: new Float32Array(C * B * D),
        prior: conf.prior,
      };
      for (let c = 0; c < C; c++) {
        const row0 = conf.dictionary.subarray(c * B * D, c * B * D + D);
        shared.dictionary.set(row0, c * D);
        for (let b = 0; b < B; b++) replicated.dictionary.set(row0, (c * B + b) * D);
      }
      const a = await onnx.infer(batch, shared, { attention: false });
      const b = await onnx.infer(batch, replicated, { attention: false });
      close('log_probs shared vs per-sample', a.logProbs, b.logProbs, 1e-6);
      close('log_probs_cf shared vs per-sample', a.logProbsCf, b.logProbsCf, 1e-6);
      close(
        'log_probs shared: onnx vs tfjs',
        a.logProbs,
        (await tfjs.infer(batch, shared, { attention: false })).logProbs,
      );
      assert.equal(a.attentionSegments.length, 0);
    });

    await t.test(
      'full attention weights of asked rows: ONNX equals TF.js, in the order asked, whatever the chunking',
      async () => {
        const B = batch.size;
        const H = f.config.heads;
        const T = 3 * f.config.textLength;
        const per = H * T * T;
        const rows = [B - 1, 0, B - 1];
        const o = await onnx.infer(batch, conf, { attentionRows: rows });
        const w = await tfjs.infer(batch, conf, { attentionRows: rows });
        assert.equal(o.attentionWeights?.length, rows.length * per);
        close('attention_weights onnx vs tfjs', o.attentionWeights, w.attentionWeights);
        close('logits unchanged by the extra output', o.logProbs, ours.logProbs, 0);
        const chunked = await onnx.infer(batch, conf, { attentionRows: rows, chunkSize: 1 });
        close('attention_weights chunked', chunked.attentionWeights, o.attentionWeights);
        const tfChunked = await tfjs.infer(batch, conf, { attentionRows: rows, chunkSize: 2 });
        close('tfjs attention_weights chunked', tfChunked.attentionWeights, o.attentionWeights);
        // row 0 is asked second: its weights sit in slot 1
        const only0 = await onnx.infer(batch, conf, { attentionRows: [0] });
        close('row order', o.attentionWeights!.subarray(per, 2 * per), only0.attentionWeights);
        const wts = o.attentionWeights!;
        for (let h = 0; h < H; h++)
          for (let q = 0; q < T; q++) {
            let sum = 0;
            for (let k = 0; k < T; k++) sum += wts[(h * T + q) * T + k];
            assert.ok(Math.abs(sum - 1) < 1e-5, `head ${h} query ${q}: the softmax sums to ${sum}`);
          }
        // the weights averaged over heads and valid (text-mask) queries are the attention summary
        const L = f.config.textLength;
        for (const [slot, r] of rows.entries()) {
          const mask = batch.textMask.subarray(r * L, (r + 1) * L);
          const valid = mask.reduce((a, b) => a + b, 0);
          for (let i = 0; i < 3; i++)
            for (let j = 0; j < 3; j++) {
              let m = 0;
              for (let h = 0; h < H; h++)
                for (let t = 0; t < L; t++)
                  for (let k = j * L; k < (j + 1) * L; k++)
                    m += mask[t] * wts[slot * per + (h * T + i * L + t) * T + k];
              const summary = ours.attentionSegments[r * 9 + i * 3 + j];
              assert.ok(Math.abs(m / (H * valid) - summary) < 1e-5, `row ${r} segments ${i}->${j}`);
            }
        }
        const plain = await onnx.infer(batch, conf, { attention: false });
        assert.equal(plain.attentionWeights, undefined, 'plain prediction returns no weights');
        await assert.rejects(onnx.infer(batch, conf, { attentionRows: [B] }), /attention row .* outside the batch/);
      },
    );

    await t.test('chunked (B=1 chunks, reference offsets) equals one call', async () => {
      sameOutputs('chunked', await onnx.infer(batch, conf, { chunkSize: 1 }), ours);
      sameOutputs('tfjs chunked', await tfjs.infer(batch, conf, { chunkSize: 3 }), ours);
    });

    await onnx.dispose();
    await tfjs.dispose();
    disposeParams(params);
  });
}
