/**
 * The exporter's structure (wire format read back, opset, dynamic batch axis, no big masks or
 * ScatterND), its agreement with TF.js on random weights in the default 'temporal' positional
 * mode (aligned, unaligned, cross-dataset), dynamic batch sizes, and the automatic engine choice
 * for a checkpoint (export beside it -> 'onnx'; none or stale -> TF.js with the reason).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { useBackend } from '../../../../src/main/ml/backends/tf.js';
import { makeConfig, type CiderConfig } from '../../../../src/main/ml/model/config.js';
import { initParams } from '../../../../src/main/ml/model/params.js';
import { disposeParams, saveParams } from '../../../../src/main/ml/model/weights.js';
import { CiderModel } from '../../../../src/main/ml/model/cider.js';
import { Rng } from '../../../../src/main/ml/random.js';
import { decodeMessage, encodeMessage } from '../../../../src/main/ml/onnx/proto.js';
import {
  exportCiderOnnx,
  exportCheckpointToOnnx,
  OnnxEngine,
  ONNX_OPSET,
  readExportMetadata,
} from '../../../../src/main/ml/onnx/index.js';
import {
  TfjsEngine,
  openInferenceEngine,
  onnxPathFor,
  type InferenceBatch,
  type InferenceConfounders,
} from '../../../../src/main/ml/inference.js';
import { compare } from '../fixture.js';

const TOL = 1e-4;

function tiny(over: Partial<CiderConfig> = {}): CiderConfig {
  return makeConfig({
    aligned: false,
    classes: 3,
    textLength: 6,
    audioLength: 9,
    visionLength: 7,
    dl: 10,
    da: 3,
    dv: 4,
    d: 16,
    heads: 4,
    layers: 2,
    ...over,
  });
}

function randomBatch(cfg: CiderConfig, B: number, seed: number): { batch: InferenceBatch; conf: InferenceConfounders } {
  const rng = new Rng(seed);
  const r = (n: number) => Float32Array.from({ length: n }, () => rng.next() * 2 - 1);
  const mask = (T: number, lens: number[]) => {
    const m = new Float32Array(B * T);
    lens.forEach((len, b) => m.fill(1, b * T, b * T + len));
    return m;
  };
  const lens = (T: number) => Array.from({ length: B }, (_, b) => Math.max(2, T - (b % 3)));
  const tl = lens(cfg.textLength);
  const D = cfg.dl + cfg.da + cfg.dv;
  const prior = r(cfg.classes).map(Math.abs);
  const ps = prior.reduce((a, b) => a + b, 0);
  return {
    batch: {
      size: B,
      text: r(B * cfg.textLength * cfg.dl),
      textCf: r(B * cfg.textLength * cfg.dl),
      textMask: mask(cfg.textLength, tl),
      textLengths: tl,
      audio: r(B * cfg.audioLength * cfg.da),
      audioMask: mask(cfg.audioLength, lens(cfg.audioLength)),
      vision: r(B * cfg.visionLength * cfg.dv),
      visionMask: mask(cfg.visionLength, lens(cfg.visionLength)),
    },
    conf: { dictionary: r(cfg.classes * D), prior: prior.map((p) => p / ps) },
  };
}

function close(what: string, a: ArrayLike<number> | undefined, b: ArrayLike<number> | undefined, tol = TOL): void {
  assert.ok(a && b, `${what}: missing`);
  const d = compare(a, b);
  assert.ok(d.maxAbs <= tol, `${what}: max |diff| ${d.maxAbs.toExponential(2)} > ${tol}`);
}

test('proto: encode/decode round trip of nested, packed, int64 and negative fields', () => {
  const msg = {
    ir_version: 8,
    graph: {
      name: 'g',
      node: [
        {
          op_type: 'Reshape',
          input: ['a', 'b'],
          output: ['c'],
          attribute: [
            { name: 'ints', type: 7, ints: [-1, 3, 2 ** 40] },
            { name: 'f', type: 1, f: 0.5 },
          ],
        },
      ],
    },
    opset_import: [{ domain: '', version: 17 }],
  };
  const back = decodeMessage('ModelProto', encodeMessage('ModelProto', msg));
  assert.equal(back.ir_version, 8);
  const g = back.graph as {
    name: string;
    node: {
      op_type: string;
      input: string[];
      attribute: { ints: number[]; f?: number }[];
    }[];
  };
  assert.equal(g.name, 'g');
  assert.deepEqual(g.node[0].input, ['a', 'b']);
  assert.deepEqual(g.node[0].attribute[0].ints, [-1, 3, 2 ** 40]);
  assert.equal(g.node[0].attribute[1].f, 0.5);
});

test('export structure: opset, dynamic batch axis, GRU with linear_before_reset, no ScatterND, small initializers', async () => {
  await useBackend('wasm');
  const cfg = tiny();
  const params = initParams(cfg, 7);
  const exp = exportCiderOnnx(cfg, params);
  const model = decodeMessage('ModelProto', exp.bytes) as {
    opset_import: { version: number }[];
    graph: {
      node: { op_type: string; attribute: { name: string; i?: number }[] }[];
      input: {
        name: string;
        type: { tensor_type: { shape: { dim: { dim_param?: string }[] } } };
      }[];
      initializer: { dims: number[] }[];
    };
  };
  assert.equal(model.opset_import[0].version, ONNX_OPSET);
  const ops = new Set(model.graph.node.map((n) => n.op_type));
  for (const banned of ['ScatterND', 'ScatterElements', 'ConstantOfShape', 'Loop'])
    assert.ok(!ops.has(banned), `graph uses ${banned}`);
  const grus = model.graph.node.filter((n) => n.op_type === 'GRU');
  assert.equal(grus.length, 3);
  for (const n of grus) assert.equal(n.attribute.find((a) => a.name === 'linear_before_reset')?.i, 1);
  const text = model.graph.input.find((i) => i.name === 'text')!;
  assert.equal(text.type.tensor_type.shape.dim[0].dim_param, 'batch');
  // the largest constant is a weight or the positional table, never a (3L, 3L)-per-batch mask
  const largest = Math.max(...model.graph.initializer.map((t) => t.dims.reduce((a, b) => a * b, 1)));
  assert.ok(
    largest <= Math.max(cfg.d * cfg.dl, 3 * cfg.textLength * cfg.d, 4 * cfg.d * cfg.d * 3),
    `largest initializer has ${largest} values`,
  );
  assert.deepEqual(readExportMetadata(exp.bytes).config, cfg);
  disposeParams(params);
});

for (const variant of [
  { name: 'unaligned temporal', cfg: tiny() },
  {
    name: 'aligned temporal, 7 classes',
    cfg: tiny({ aligned: true, classes: 7, audioLength: 6, visionLength: 6 }),
  },
  {
    name: 'cross-dataset encoders, reference positional',
    cfg: tiny({ crossDataset: true, positional: 'reference' }),
  },
]) {
  test(`ONNX = TF.js on random weights: ${variant.name}; batch sizes 1, 5 (dynamic axis); missing view only`, async () => {
    await useBackend('wasm');
    const cfg = variant.cfg;
    const params = initParams(cfg, 3);
    const onnx = await OnnxEngine.load(exportCiderOnnx(cfg, params, { referenceRows: 64 }).bytes, {
      expectConfig: cfg,
      expectWeights: params,
    });
    const tfjs = await TfjsEngine.create(new CiderModel(cfg, params));
    for (const B of [1, 5]) {
      const { batch, conf } = randomBatch(cfg, B, 10 + B);
      batch.offset = cfg.positional === 'reference' ? 7 : 0;
      const a = await onnx.infer(batch, conf);
      const b = await tfjs.infer(batch, conf);
      close(`B=${B} log_probs`, a.logProbs, b.logProbs);
      close(`B=${B} log_probs_cf`, a.logProbsCf, b.logProbsCf);
      close(`B=${B} joint`, a.joint, b.joint);
      close(`B=${B} joint_cf`, a.jointCf, b.jointCf);
      close(`B=${B} attention_segments`, a.attentionSegments, b.attentionSegments);
      close(`B=${B} wsam audio`, a.wsamAudio ?? [], b.wsamAudio ?? []);
      close(`B=${B} wsam vision`, a.wsamVision ?? [], b.wsamVision ?? []);
      assert.equal(a.wsamAudio === undefined, cfg.aligned);
      // missing view only (text_cf with 0 rows): same missing-view outputs, no counterfactual ones
      const only = await onnx.infer({ ...batch, textCf: undefined }, conf);
      close(`B=${B} missing-only log_probs`, only.logProbs, a.logProbs, 1e-6);
      close(`B=${B} missing-only joint`, only.joint, a.joint, 1e-6);
      close(`B=${B} missing-only attention`, only.attentionSegments, a.attentionSegments, 1e-6);
      close(`B=${B} missing-only wsam`, only.wsamAudio ?? [], a.wsamAudio ?? [], 1e-6);
      assert.equal(only.logProbsCf, undefined);
      close(`B=${B} tfjs missing-only`, (await tfjs.infer({ ...batch, textCf: undefined }, conf)).logProbs, a.logProbs);
    }
    if (cfg.positional === 'reference') {
      const { batch, conf } = randomBatch(cfg, 2, 1);
      batch.offset = 63;
      await assert.rejects(onnx.infer(batch, conf), /positional table of this export has 64 rows/);
    }
    await onnx.dispose();
    disposeParams(params);
  });
}

test('openInferenceEngine: ONNX when an export of this checkpoint is beside it, TF.js otherwise (with the reason)', async () => {
  await useBackend('wasm');
  const dir = mkdtempSync(path.join(tmpdir(), 'cider-onnx-'));
  try {
    const cfg = tiny({ layers: 1 });
    const params = initParams(cfg, 5);
    const ckpt = path.join(dir, 'model.safetensors');
    await saveParams(params, ckpt);
    let opened = await openInferenceEngine(cfg, ckpt);
    assert.equal(opened.engine.name, 'tfjs-wasm');
    assert.match(opened.reason, /no ONNX export/);
    await opened.engine.dispose();

    const written = await exportCheckpointToOnnx(cfg, ckpt);
    assert.equal(written.path, onnxPathFor(ckpt));
    assert.ok(existsSync(written.path));
    opened = await openInferenceEngine(cfg, ckpt);
    assert.equal(opened.engine.name, 'onnx');
    const { batch, conf } = randomBatch(cfg, 3, 2);
    const viaOnnx = await opened.engine.infer(batch, conf);
    await opened.engine.dispose();
    const tfjs = await openInferenceEngine(cfg, ckpt, { prefer: 'tfjs' });
    close('checkpoint engines agree', viaOnnx.logProbs, (await tfjs.engine.infer(batch, conf)).logProbs);
    await tfjs.engine.dispose();

    // retrained checkpoint, stale export: falls back, says why
    const other = initParams(cfg, 6);
    await saveParams(other, ckpt);
    opened = await openInferenceEngine(cfg, ckpt);
    assert.equal(opened.engine.name, 'tfjs-wasm');
    assert.match(opened.reason, /other weights/);
    await opened.engine.dispose();
    // a broken file: falls back too; prefer 'onnx' makes it an error
    writeFileSync(written.path, Buffer.from('not onnx'));
    opened = await openInferenceEngine(cfg, ckpt);
    assert.equal(opened.engine.name, 'tfjs-wasm');
    await opened.engine.dispose();
    await assert.rejects(openInferenceEngine(cfg, ckpt, { prefer: 'onnx' }));
    disposeParams(params);
    disposeParams(other);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('evaluationConfounders (plain arrays) = train/step evalConfounders', async () => {
  await useBackend('wasm');
  const { evalConfounders } = await import('../../../../src/main/ml/train/step.js');
  const { tf } = await import('../../../../src/main/ml/backends/tf.js');
  const { evaluationConfounders } = await import('../../../../src/main/ml/inference.js');
  const rng = new Rng(9);
  const dict = Float32Array.from({ length: 3 * 11 }, () => rng.normal());
  const ref = evalConfounders(tf.tensor2d(dict, [3, 11]));
  const ours = evaluationConfounders(dict, 3);
  close('dictionary', ours.dictionary, ref.dictionary.dataSync(), 1e-6);
  close('prior', ours.prior, ref.prior.dataSync(), 0);
  tf.dispose([ref.dictionary, ref.prior]);
});
