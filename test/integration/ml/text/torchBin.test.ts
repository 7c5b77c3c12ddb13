/**
 * pytorch_model.bin: a torch.save-layout zip written by torch_bin_writer.py (plain /usr/bin/python3
 * pickle with torch's persistent ids), read back exactly; checkpoints that name any other Python
 * global are refused before anything runs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tf, initBackend } from '../../../../src/main/ml/backends/tf';
import { loadTextEncoder, listTorchBinTensors, readTorchBin, TextModelError } from '../../../../src/main/ml/text';
import { pythonInterpreter, writeTinyBert, writeTorchBin } from '../../../helpers/tinyBert';

const PY = pythonInterpreter();
const skip = PY ? false : 'no python3 to write test checkpoints with';

function tempDir(): { dir: string; done: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'cider-bin-'));
  return { dir, done: () => rmSync(dir, { recursive: true, force: true }) };
}

/** a zip with <archive>/data.pkl = pickle bytes produced by `python` (a Python expression) */
function writeZipWithPickle(file: string, pythonPickleExpr: string): void {
  const script = `
import pickle, sys, zipfile, os, collections
data = ${pythonPickleExpr}
with zipfile.ZipFile(sys.argv[1], "w") as z:
    z.writestr("archive/data.pkl", data)
    z.writestr("archive/version", "3\\n")
`;
  execFileSync(PY!, ['-c', script, file]);
}

test(
  'a tiny BERT saved as pytorch_model.bin ("bert." prefix, heads, int64 buffer) gives the same features as safetensors',
  { skip },
  async () => {
    await initBackend();
    const bin = writeTinyBert({ format: 'bin', prefix: 'bert.', extraHeads: true });
    const st = writeTinyBert({ format: 'safetensors' });
    try {
      const before = tf.memory().numTensors;
      const a = await loadTextEncoder(bin.dir);
      const b = await loadTextEncoder(st.dir);
      assert.equal(a.report.weightsFormat, 'pytorch');
      const { data } = a.tokenizer.encodeBatch(['I really love this movie!', 'boring plot'], 10);
      const ids = tf.tensor3d(data, [2, 3, 10], 'int32');
      const fa = a.encoder.encode(ids);
      const fb = b.encoder.encode(ids);
      assert.deepEqual(Array.from(fa.dataSync()), Array.from(fb.dataSync()));
      tf.dispose([ids, fa, fb]);
      a.encoder.dispose();
      b.encoder.dispose();
      assert.equal(tf.memory().numTensors, before);
      // different weights file bytes -> different model identity, even though the numbers agree
      assert.notEqual(a.modelId, b.modelId);
    } finally {
      bin.cleanup();
      st.cleanup();
    }
  },
);

test('storages: HalfStorage, shared storage with an offset, deflate entries', { skip }, async () => {
  const t = tempDir();
  try {
    const file = join(t.dir, 'x.bin');
    writeTorchBin(
      file,
      {
        a: { shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) },
        b: { shape: [3], data: Float32Array.from([7, 8, 9]) },
        h: { shape: [4], data: Float32Array.from([0.5, -2, 1.25, 65504]) },
        n: { shape: [2], data: BigInt64Array.from([5n, -7n]), dtype: 'I64' },
      },
      { half: ['h'], deflate: true, shareStorage: ['a', 'b'] },
    );
    const shapes = await listTorchBinTensors(file);
    assert.deepEqual(
      [...shapes],
      [
        ['a', [2, 3]],
        ['b', [3]],
        ['h', [4]],
        ['n', [2]],
      ],
    );
    const got = await readTorchBin(file);
    assert.deepEqual(Array.from(got.get('a')!.data), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(Array.from(got.get('b')!.data), [7, 8, 9]);
    assert.deepEqual(Array.from(got.get('h')!.data), [0.5, -2, 1.25, 65504]);
    assert.deepEqual(Array.from(got.get('n')!.data), [5, -7]);
  } finally {
    t.done();
  }
});

test('a .bin whose pickle calls os.system is refused and nothing runs', { skip }, async () => {
  const t = tempDir();
  try {
    const marker = join(t.dir, 'pwned');
    // protocol 0, hand-written: GLOBAL 'os system', then REDUCE with a shell command
    const file = join(t.dir, 'pytorch_model.bin');
    writeZipWithPickle(file, `b"cos\\nsystem\\n(S'touch ${marker}'\\ntR."`);
    await assert.rejects(readTorchBin(file), (e: Error) => {
      assert.ok(e instanceof TextModelError, e.message);
      assert.match(e.message, /os\.system/);
      assert.ok(e.message.includes(file), e.message);
      assert.match(e.message, /refused/);
      return true;
    });
    // the same through the folder check, and a protocol-2 pickle as Python writes it (posix.system)
    const file2 = join(t.dir, 'evil2.bin');
    writeZipWithPickle(
      file2,
      `pickle.dumps(collections.OrderedDict(w=type("E", (), {"__reduce__": lambda s: (os.system, ("touch ${marker}",))})()), protocol=2)`,
    );
    await assert.rejects(listTorchBinTensors(file2), /posix\.system|os\.system/);
    assert.equal(existsSync(marker), false);
  } finally {
    t.done();
  }
});

test('other non-tensor globals and malformed persistent ids are refused', { skip }, async () => {
  const t = tempDir();
  try {
    const f1 = join(t.dir, 'a.bin');
    writeZipWithPickle(f1, `b"cbuiltins\\neval\\n(S'1+1'\\ntR."`);
    await assert.rejects(readTorchBin(f1), /builtins\.eval/);
    // a persistent id that is not ('storage', torch.XStorage, key, location, numel)
    const f2 = join(t.dir, 'b.bin');
    writeZipWithPickle(f2, `b"\\x80\\x02(X\\x04\\x00\\x00\\x00evilq\\x00tQ."`);
    await assert.rejects(readTorchBin(f2), /not a tensor storage/);
  } finally {
    t.done();
  }
});

test('not a zip, or a zip without data.pkl: clear errors naming the file', { skip }, async () => {
  const t = tempDir();
  try {
    const f1 = join(t.dir, 'legacy.bin');
    writeFileSync(f1, Buffer.from('\x80\x02\x8a\x0alegacy torch format', 'latin1'));
    await assert.rejects(readTorchBin(f1), (e: Error) => e.message.includes(f1) && /not a zip/.test(e.message));
    const f2 = join(t.dir, 'empty.bin');
    execFileSync(PY!, ['-c', 'import zipfile,sys; zipfile.ZipFile(sys.argv[1],"w").writestr("x.txt","hi")', f2]);
    await assert.rejects(readTorchBin(f2), /data\.pkl/);
  } finally {
    t.done();
  }
});
