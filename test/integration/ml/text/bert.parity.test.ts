/**
 * The encoder against independent references of HF BertModel on the tiny BERT's weights:
 * a numpy re-implementation (bert_reference.py, float64) always, and PyTorch when
 * `/usr/bin/python3 -c "import torch"` works (bert_torch_parity.py).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tf, useBackend, type BackendName } from '../../../../src/main/ml/backends/tf';
import { loadTextEncoder } from '../../../../src/main/ml/text';
import { writeTinyBert } from '../../../helpers/tinyBert';

const here = dirname(fileURLToPath(import.meta.url));

/** the first interpreter with numpy: Debian's, then whatever python3 is on PATH */
function pythonWith(module: string): string | undefined {
  for (const py of ['/usr/bin/python3', 'python3']) {
    if (spawnSync(py, ['-c', `import ${module}`], { stdio: 'ignore' }).status === 0) return py;
  }
  return undefined;
}

const TEXTS = [
  'I really love this movie!',
  "The plot was boring, but the acting wasn't bad.",
  'Unbelievable cafe music',
];
const L = 16;

async function inputsFor(dir: string) {
  const bundle = await loadTextEncoder(dir, { trainable: false });
  const { data, encoded } = bundle.tokenizer.encodeBatch(TEXTS, L);
  // sample 1 gets a second segment so token_type_embeddings row 1 is exercised
  for (let i = 6; i < encoded[1].length; i++) data[(1 * 3 + 2) * L + i] = 1;
  const rows = (r: number) => TEXTS.map((_, b) => Array.from(data.subarray((b * 3 + r) * L, (b * 3 + r + 1) * L)));
  return { bundle, data, json: { ids: rows(0), mask: rows(1), segments: rows(2) } };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

const numpyPython = pythonWith('numpy');
test(
  'encoder matches the numpy reference of HF BertModel within 1e-5 (wasm and cpu)',
  { skip: numpyPython ? false : 'no python3 with numpy on this machine' },
  async () => {
    const tiny = writeTinyBert({ prefix: 'bert.', extraHeads: true });
    const work = mkdtempSync(join(tmpdir(), 'cider-parity-'));
    try {
      for (const backend of ['wasm', 'cpu'] as BackendName[]) {
        await useBackend(backend);
        const before = tf.memory().numTensors;
        const { bundle, data, json } = await inputsFor(tiny.dir);
        writeFileSync(join(work, 'ids.json'), JSON.stringify(json));
        execFileSync(numpyPython!, [
          join(here, 'bert_reference.py'),
          tiny.dir,
          join(work, 'ids.json'),
          join(work, 'out.f64'),
        ]);
        const buf = readFileSync(join(work, 'out.f64'));
        const expected = new Float64Array(buf.buffer, buf.byteOffset, buf.length / 8);
        const ids = tf.tensor3d(data, [TEXTS.length, 3, L], 'int32');
        const out = bundle.encoder.encode(ids);
        assert.deepEqual(out.shape, [TEXTS.length, L, 32]);
        const got = out.dataSync();
        const diff = maxAbsDiff(got, expected);
        assert.ok(diff < 1e-5, `${backend}: max |tfjs - numpy| = ${diff}`);
        if (process.env.CIDER_VERBOSE) console.log(`${backend}: max |tfjs - numpy| = ${diff}`);
        tf.dispose([ids, out]);
        bundle.encoder.dispose();
        assert.equal(tf.memory().numTensors, before, `${backend}: tensors leaked`);
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
      tiny.cleanup();
    }
  },
);

const torchProbe = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { encoding: 'utf8' });
const torchSkip =
  torchProbe.status === 0 ? false : 'python3-torch is not installed (/usr/bin/python3 -c "import torch" failed)';
test(
  'encoder matches PyTorch (BertModel if transformers is installed, else torch ops) within 1e-5',
  { skip: torchSkip },
  async () => {
    const tiny = writeTinyBert({ format: 'bin', prefix: 'bert.' });
    const work = mkdtempSync(join(tmpdir(), 'cider-parity-'));
    try {
      await useBackend('wasm');
      const { bundle, data, json } = await inputsFor(tiny.dir);
      writeFileSync(join(work, 'ids.json'), JSON.stringify(json));
      execFileSync('/usr/bin/python3', [
        join(here, 'bert_torch_parity.py'),
        tiny.dir,
        join(work, 'ids.json'),
        join(work, 'out.f64'),
      ]);
      const buf = readFileSync(join(work, 'out.f64'));
      const expected = new Float64Array(buf.buffer, buf.byteOffset, buf.length / 8);
      const ids = tf.tensor3d(data, [TEXTS.length, 3, L], 'int32');
      const out = bundle.encoder.encode(ids);
      const diff = maxAbsDiff(out.dataSync(), expected);
      assert.ok(diff < 1e-5, `max |tfjs - torch| = ${diff}`);
      tf.dispose([ids, out]);
      bundle.encoder.dispose();
    } finally {
      rmSync(work, { recursive: true, force: true });
      tiny.cleanup();
    }
  },
);
