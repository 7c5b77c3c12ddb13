/** Model folders: everything wrong is named (file, field, tensor); good folders load and have a stable identity. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, truncateSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../../../../src/main/ml/backends/tf';
import { inspectModelFolder, loadTextEncoder, TextModelError } from '../../../../src/main/ml/text';
import { TINY_VOCAB, writeTinyBert } from '../../../helpers/tinyBert';

test('a complete folder is ok, with no warnings', async () => {
  const t = writeTinyBert();
  try {
    const r = await inspectModelFolder(t.dir);
    assert.deepEqual(r.problems, []);
    assert.deepEqual(r.warnings, []);
    assert.equal(r.ok, true);
    assert.equal(r.weightsFormat, 'safetensors');
    assert.equal(r.vocabSize, TINY_VOCAB.length);
  } finally {
    t.cleanup();
  }
});

test('missing folder, or a file instead of a folder', async () => {
  const r = await inspectModelFolder('/nonexistent/cider-model');
  assert.equal(r.ok, false);
  assert.deepEqual(r.problems, ['/nonexistent/cider-model: folder does not exist']);
  const t = writeTinyBert();
  try {
    const r2 = await inspectModelFolder(join(t.dir, 'config.json'));
    assert.match(r2.problems[0], /not a folder/);
  } finally {
    t.cleanup();
  }
});

test('missing config.json, vocab.txt and weights are each named', async () => {
  const t = writeTinyBert({ vocab: false });
  try {
    unlinkSync(join(t.dir, 'config.json'));
    unlinkSync(join(t.dir, 'model.safetensors'));
    writeFileSync(join(t.dir, 'tf_model.h5'), '');
    const r = await inspectModelFolder(t.dir);
    assert.equal(r.ok, false);
    assert.equal(r.problems.length, 3);
    assert.match(r.problems[0], /config\.json: missing/);
    assert.match(r.problems[1], /vocab\.txt: missing/);
    assert.match(r.problems[2], /no weights file \(model\.safetensors or pytorch_model\.bin\); found tf_model\.h5/);
    await assert.rejects(
      loadTextEncoder(t.dir),
      (e: Error) =>
        e instanceof TextModelError && e.code === 'INVALID_INPUT' && e.message.includes('vocab.txt: missing'),
    );
  } finally {
    t.cleanup();
  }
});

test('config fields: missing required, bad value, defaults reported as warnings', async () => {
  const t = writeTinyBert({ config: { hidden_size: undefined, hidden_act: 'mish', layer_norm_eps: undefined } });
  try {
    const r = await inspectModelFolder(t.dir);
    const cfg = join(t.dir, 'config.json');
    assert.ok(r.problems.includes(`${cfg}: field "hidden_size" is missing`), r.problems.join('\n'));
    assert.ok(r.problems.some((p) => p.startsWith(cfg) && p.includes('"hidden_act" is "mish"')));
  } finally {
    t.cleanup();
  }
  const t2 = writeTinyBert({ config: { layer_norm_eps: undefined } });
  try {
    const r = await inspectModelFolder(t2.dir);
    assert.equal(r.ok, true);
    assert.match(r.warnings[0], /layer_norm_eps absent, using BertConfig defaults/);
    assert.equal(r.config!.layerNormEps, 1e-12);
  } finally {
    t2.cleanup();
  }
});

test('a missing tensor and a tensor of the wrong shape are named with the weights file', async () => {
  const t = writeTinyBert({ omit: ['encoder.layer.1.output.dense.bias'], prefix: 'bert.' });
  try {
    const r = await inspectModelFolder(t.dir);
    const w = join(t.dir, 'model.safetensors');
    assert.deepEqual(r.problems, [`${w}: 1 BERT tensor missing: encoder.layer.1.output.dense.bias`]);
  } finally {
    t.cleanup();
  }
  // config says intermediate 48, the weights have 64
  const t2 = writeTinyBert();
  try {
    const cfg = JSON.parse(JSON.stringify(t2.config));
    cfg.intermediate_size = 48;
    writeFileSync(join(t2.dir, 'config.json'), JSON.stringify(cfg));
    const r = await inspectModelFolder(t2.dir);
    const w = join(t2.dir, 'model.safetensors');
    assert.ok(
      r.problems.includes(
        `${w}: tensor encoder.layer.0.intermediate.dense.weight has shape [64, 32], config.json implies [48, 32]`,
      ),
      r.problems.join('\n'),
    );
    assert.equal(r.problems.length, 2 * 3); // intermediate weight + bias and output weight, per layer
  } finally {
    t2.cleanup();
  }
});

test('a truncated weights file and a vocabulary larger than vocab_size', async () => {
  const t = writeTinyBert({ config: { vocab_size: TINY_VOCAB.length - 1 } });
  try {
    const w = join(t.dir, 'model.safetensors');
    truncateSync(w, statSync(w).size - 100);
    const r = await inspectModelFolder(t.dir);
    assert.ok(
      r.problems.some((p) => p.startsWith(`${w}: tensor`) && p.includes('truncated')),
      r.problems.join('\n'),
    );
    assert.ok(
      r.problems.some(
        (p) =>
          p.includes('vocab.txt') &&
          p.includes(`${TINY_VOCAB.length} tokens but config.json vocab_size is ${TINY_VOCAB.length - 1}`),
      ),
    );
  } finally {
    t.cleanup();
  }
});

test('vocab.txt without [UNK] is a problem; tokenizer_config.json is honoured', async () => {
  const t = writeTinyBert();
  try {
    writeFileSync(join(t.dir, 'vocab.txt'), TINY_VOCAB.map((x) => (x === '[UNK]' ? 'unk' : x)).join('\n'));
    const r = await inspectModelFolder(t.dir);
    assert.deepEqual(r.problems, [`${join(t.dir, 'vocab.txt')}: special token [UNK] is missing`]);
    writeFileSync(join(t.dir, 'vocab.txt'), TINY_VOCAB.join('\n'));
    writeFileSync(join(t.dir, 'tokenizer_config.json'), JSON.stringify({ do_lower_case: false }));
    await initBackend();
    const b = await loadTextEncoder(t.dir);
    assert.equal(b.tokenizer.doLowerCase, false);
    assert.deepEqual(
      b.tokenizer.tokenize('The movie').map((x) => x.text),
      ['[UNK]', 'movie'],
    );
    b.encoder.dispose();
  } finally {
    t.cleanup();
  }
});

test('model identity: stable for the same files, changes with config or weights', async () => {
  await initBackend();
  const t = writeTinyBert();
  const work = mkdtempSync(join(tmpdir(), 'cider-id-'));
  try {
    const a = await loadTextEncoder(t.dir);
    const b = await loadTextEncoder(t.dir);
    assert.equal(a.modelId, b.modelId);
    assert.match(a.modelId, /^bert-[0-9a-f]{32}$/);
    const cfg = { ...t.config, hidden_dropout_prob: 0.2 };
    writeFileSync(join(t.dir, 'config.json'), JSON.stringify(cfg));
    const c = await loadTextEncoder(t.dir);
    assert.notEqual(c.modelId, a.modelId);
    for (const x of [a, b, c]) x.encoder.dispose();
  } finally {
    t.cleanup();
    rmSync(work, { recursive: true, force: true });
  }
});
