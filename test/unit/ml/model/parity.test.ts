/**
 * Parity with the reference implementation on both fixtures and both CPU backends: every out.*
 * tensor, every loss of the JSON and every grad.* (gradients of the missing-view objective).
 * Tolerances (fixtures README, engine notes): outputs ~1e-5 relative to their scale, gradients
 * 1e-4; losses 1e-5 relative to their value PLUS float32 resolution at the magnitude of what they
 * are computed from (fixture.ts float32Tolerance): 1 - cos is a difference of numbers near 1, so
 * the reference's own float32 value is off by ~1e-7 whatever its size (a fixed 1e-7 floor failed a
 * fixture made with another seed by 1.4e-7); the KL is a difference of cross-entropies of size
 * log(3L). Gradients keep an absolute floor for the pooling score bias, whose true gradient is
 * exactly 0 by softmax shift invariance (its float value is pure rounding).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, useBackend } from '../../../../src/main/ml/backends/tf.js';
import { paramSpecs } from '../../../../src/main/ml/model/params.js';
import { disposeParams, paramsFromTensors } from '../../../../src/main/ml/model/weights.js';
import { CiderModel } from '../../../../src/main/ml/model/cider.js';
import { fullScores } from '../../../../src/main/ml/model/attention.js';
import {
  completeViewPass,
  disposeGrads,
  forwardInferenceViews,
  missingViewPass,
} from '../../../../src/main/ml/train/step.js';
import {
  asTensor,
  compare,
  confounders,
  fixtureBatch,
  float32Tolerance,
  get,
  loadFixture,
  view,
  type Fixture,
} from '../fixture.js';

const OUT_TOL = 2e-5;
const GRAD_TOL = 1e-4;
const GRAD_ABS = 5e-8;

function checkTensor(f: Fixture, key: string, actual: tf.Tensor, tol = OUT_TOL): void {
  const exp = get(f, key);
  assert.deepEqual(actual.shape, exp.shape, `${key}: shape`);
  const d = compare(actual.dataSync(), exp.data as Float32Array);
  assert.ok(
    d.scaled <= tol,
    `${key}: max |diff| ${d.maxAbs.toExponential(2)} is ${d.scaled.toExponential(2)} of the tensor's scale (tol ${tol})`,
  );
}

const timeMajor = (t: tf.Tensor) => t.transpose([1, 0, 2]);

/**
 * Per loss: the magnitude of the float32 operands it is computed from, and how many terms are summed.
 * - NLL: log-probabilities of size ~|value| + 1 (log-softmax subtracts a log-sum-exp of O(1)), B*C terms;
 * - joint: 1 - cos, cos ~ 1 from a d-term dot product and norms: magnitude 1, d terms;
 * - attention KL: per row sum over 3L keys of p (log p - log q), entropies of size log(3L);
 * - reconstruction: SmoothL1 means of their own size;
 * - total: the weighted sum, magnitudes added with the fixture's weights.
 */
function lossTolerances(f: Fixture): (key: string, value: number) => number {
  const c = f.config;
  const B = get(f, 'input.labels').shape[0];
  const keys = 3 * c.textLength;
  const w = f.lossWeights;
  const mag: Record<string, { magnitude: (v: number) => number; terms: number }> = {
    task_full: { magnitude: (v) => Math.abs(v) + 1, terms: B * c.classes },
    task_missing: { magnitude: (v) => Math.abs(v) + 1, terms: B * c.classes },
    joint: { magnitude: () => 1, terms: c.d },
    attn: { magnitude: () => Math.log(keys), terms: keys },
    recon_text: { magnitude: (v) => Math.abs(v), terms: B * c.textLength * c.dl },
    recon_audio: { magnitude: (v) => Math.abs(v), terms: B * c.audioLength * c.da },
    recon_vision: { magnitude: (v) => Math.abs(v), terms: B * c.visionLength * c.dv },
  };
  const m = (k: string) => mag[k].magnitude(f.losses[k]);
  return (key, value) => {
    if (key === 'total') {
      const magnitude =
        m('task_missing') +
        w.joint * m('joint') +
        w.attn * m('attn') +
        w.recon * (m('recon_text') + m('recon_audio') + m('recon_vision'));
      return float32Tolerance({ value, magnitude, terms: Math.max(...Object.values(mag).map((x) => x.terms)) });
    }
    return float32Tolerance({ value, magnitude: m(key), terms: mag[key].terms });
  };
}

for (const backend of ['wasm', 'cpu'] as const) {
  for (const name of ['aligned-7class', 'unaligned-3class'] as const) {
    test(`parity ${name} on ${backend}`, async (t) => {
      await useBackend(backend);
      assert.equal(tf.getBackend(), backend);
      const f = loadFixture(name);
      const { params } = paramsFromTensors(f.config, f.tensors, { prefix: 'weight.' });
      const model = new CiderModel(f.config, params);

      await t.test('parameter names and shapes are the reference state_dict', () => {
        const ours = paramSpecs(f.config)
          .map((s) => `${s.name}:${s.shape.join('x')}`)
          .sort();
        const theirs = [...f.tensors.entries()]
          .filter(([k]) => k.startsWith('weight.'))
          .map(([k, v]) => `${k.slice(7)}:${v.shape.join('x')}`)
          .sort();
        assert.deepEqual(ours, theirs);
        const grads = [...f.tensors.keys()].filter((k) => k.startsWith('grad.')).map((k) => k.slice(5));
        // aligned data never runs WSAM, so its (stored) parameters have no gradient
        const used = [...params.keys()].filter((k) => !(f.config.aligned && /^[av]_compress\./.test(k)));
        assert.deepEqual(grads.sort(), used.sort());
      });

      await t.test('complete view: every out.full.* tensor', () => {
        tf.tidy(() => {
          const out = model.forward(view(f, 'full'), confounders(f));
          checkTensor(f, 'out.full.proj_l', out.projText.transpose([0, 2, 1]));
          checkTensor(f, 'out.full.gru_l', timeMajor(out.gruText));
          checkTensor(f, 'out.full.gru_a', timeMajor(out.gruAudio));
          checkTensor(f, 'out.full.gru_v', timeMajor(out.gruVision));
          checkTensor(f, 'out.full.mct_out', timeMajor(out.mctOut));
          checkTensor(f, 'out.full.attn_last', fullScores(out.attention));
          checkTensor(f, 'out.full.pool_l', out.pooledText);
          checkTensor(f, 'out.full.pool_a', out.pooledAudio);
          checkTensor(f, 'out.full.pool_v', out.pooledVision);
          checkTensor(f, 'out.full.joint_rep', out.joint);
          checkTensor(f, 'out.full.pred', out.logProbs);
          if (!f.config.aligned) {
            checkTensor(f, 'out.full.wsam_a', timeMajor(out.wsamAudio!));
            checkTensor(f, 'out.full.wsam_v', timeMajor(out.wsamVision!));
            checkTensor(f, 'out.full.wsam_a_weights', out.wsamAudioWeights!);
            checkTensor(f, 'out.full.wsam_v_weights', out.wsamVisionWeights!);
          }
          const expected = [...f.tensors.keys()].filter((k) => k.startsWith('out.full.')).length;
          assert.equal(expected, f.config.aligned ? 11 : 15, 'every out.full.* key is checked above');
        });
      });

      await t.test('missing view (training reconstructions) and test-time views: out.train.*, out.test.*', () => {
        tf.tidy(() => {
          const miss = model.forward(view(f, 'missing'), confounders(f), { reconstruct: true });
          checkTensor(f, 'out.train.text_recon', miss.textRecon!);
          checkTensor(f, 'out.train.audio_recon', miss.audioRecon!);
          checkTensor(f, 'out.train.vision_recon', miss.visionRecon!);
          const cf = asTensor(f, 'input.text_cf') as tf.Tensor3D;
          const r = forwardInferenceViews(model, view(f, 'missing'), cf, confounders(f));
          checkTensor(f, 'out.test.pred_m', r.missingView.logProbs);
          checkTensor(f, 'out.test.joint_rep_m', r.missingView.joint);
          checkTensor(f, 'out.test.attn_last_m', fullScores(r.missingView.attention));
          checkTensor(f, 'out.test.cf_pred_m', r.counterfactualView.logProbs);
        });
      });

      await t.test('losses and gradients of the missing-view objective', () => {
        const batch = fixtureBatch(f);
        const masks = {
          textKeep: asTensor(f, 'input.text_keep') as tf.Tensor2D,
          audioKeep: asTensor(f, 'input.audio_keep') as tf.Tensor2D,
          visionKeep: asTensor(f, 'input.vision_keep') as tf.Tensor2D,
        };
        const conf = confounders(f);
        const full = completeViewPass(model, batch, conf);
        const miss = missingViewPass(model, batch, masks, conf, full.teachers);
        const ours: Record<string, number> = {
          task_full: full.loss,
          task_missing: miss.losses.taskMissing,
          joint: miss.losses.joint,
          attn: miss.losses.attention,
          recon_text: miss.losses.reconText,
          recon_audio: miss.losses.reconAudio,
          recon_vision: miss.losses.reconVision,
          total: miss.losses.total,
        };
        assert.deepEqual(Object.keys(ours).sort(), Object.keys(f.losses).sort());
        const tolerances = lossTolerances(f);
        for (const [k, v] of Object.entries(f.losses)) {
          const err = Math.abs(ours[k] - v);
          const tol = tolerances(k, v);
          assert.ok(
            err <= tol,
            `loss ${k}: ${ours[k]} vs reference ${v} (|diff| ${err.toExponential(2)}, tol ${tol.toExponential(2)})`,
          );
        }
        // the recon heads get no gradient from the complete view: that is why Adam keys by name
        for (const k of full.grads.keys()) assert.ok(!k.startsWith('recon_'), `complete view gave a gradient to ${k}`);
        const expectedGrads = [...f.tensors.keys()].filter((k) => k.startsWith('grad.')).map((k) => k.slice(5));
        assert.deepEqual(
          [...miss.grads.keys()].sort(),
          expectedGrads.sort(),
          'exactly the parameters the reference gives a gradient',
        );
        for (const [pname, g] of miss.grads) {
          const exp = get(f, `grad.${pname}`);
          const d = compare(g.dataSync(), exp.data as Float32Array);
          const scale = d.maxAbs / Math.max(d.scaled, 1e-300);
          assert.ok(
            d.maxAbs <= GRAD_TOL * scale + GRAD_ABS,
            `grad.${pname}: max |diff| ${d.maxAbs.toExponential(2)} vs scale ${scale.toExponential(2)}`,
          );
        }
        disposeGrads(full.grads);
        disposeGrads(miss.grads);
        for (const te of full.teachers) tf.dispose([te.joint, te.text, ...te.attention.flat()]);
      });
      disposeParams(params);
    });
  }
}
