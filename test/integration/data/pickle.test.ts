import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  unpickle,
  unpickleFile,
  composeResolvers,
  numpyGlobals,
  joblibGlobals,
  safeBuiltins,
  NdArray,
  PyGlobal,
  PyObject,
  isTuple,
  resolverFromTable,
} from '../../../src/main/data/pickle';
import { DataImportError, PickleSecurityError } from '../../../src/main/data/errors';
import { py, pythonHas, tempDir } from '../../helpers/datasets';

const skip = pythonHas('numpy', 'joblib')
  ? false
  : 'Debian python3 with numpy and joblib is not installed (/usr/bin/python3)';
const NUMPY = composeResolvers(numpyGlobals, joblibGlobals, safeBuiltins);

/** the same plain form make_pickles.py writes */
function plain(x: unknown): unknown {
  if (x instanceof NdArray) {
    const values = x.values().map((v) => (typeof v === 'bigint' ? Number(v) : v));
    return { ndarray: true, shape: x.shape, dtype: x.dtype.str, values };
  }
  if (x instanceof Uint8Array) return { bytes: [...x] };
  if (x instanceof Set) return { set: [...x].sort() };
  if (isTuple(x)) return { tuple: x.map(plain) };
  if (Array.isArray(x)) return x.map(plain);
  if (x instanceof Map) return Object.fromEntries([...x].map(([k, v]) => [k, plain(v)]));
  if (typeof x === 'bigint') return { bigint: x.toString() };
  return x;
}

test('values of every kind, pickled with protocols 0..5, unpickle to the same values', { skip }, async () => {
  const t = tempDir();
  try {
    py('make_pickles.py', ['values', t.dir]);
    const want = JSON.parse(fs.readFileSync(path.join(t.dir, 'values.json'), 'utf8')) as Record<string, unknown>;
    for (let p = 0; p <= 5; p++) {
      const v = await unpickle(fs.readFileSync(path.join(t.dir, `values-p${p}.pkl`)), {
        resolveGlobal: NUMPY,
        file: `values-p${p}.pkl`,
      });
      assert.ok(v instanceof Map);
      const got = plain(v) as Record<string, unknown>;
      for (const k of Object.keys(want)) {
        // numpy's dtype.str for a protocol-0/1 bool is '|b1' either way; compare everything
        assert.deepEqual(got[k], want[k], `protocol ${p}, key ${k}`);
      }
      // memo: the same list object twice stays the same object
      const shared = v.get('shared') as unknown[][];
      assert.equal(shared[0], shared[1]);
      // streaming from a file gives the same
      const vf = await unpickleFile(path.join(t.dir, `values-p${p}.pkl`), { resolveGlobal: NUMPY, chunkSize: 7 });
      assert.deepEqual(plain(vf), got);
    }
  } finally {
    t.cleanup();
  }
});

test('without numpy on the allow-list, a numpy pickle is refused', { skip }, async () => {
  const t = tempDir();
  try {
    py('make_pickles.py', ['values', t.dir]);
    await assert.rejects(
      unpickle(fs.readFileSync(path.join(t.dir, 'values-p4.pkl')), { file: 'v.pkl' }),
      (e: unknown) => {
        assert.ok(e instanceof PickleSecurityError);
        assert.match(
          e.message,
          /^v\.pkl: refused: the pickle references the Python global 'collections\.OrderedDict'|^v\.pkl: refused: the pickle references the Python global 'numpy\./,
        );
        return true;
      },
    );
  } finally {
    t.cleanup();
  }
});

test(
  'malicious pickles (os.system, posix.system, builtins.eval, INST, hidden in object arrays and joblib) are refused and nothing runs',
  { skip },
  async () => {
    const t = tempDir();
    try {
      const osName = py('make_pickles.py', ['evil', t.dir]).trim();
      const sys = osName === 'posix' ? 'posix.system' : 'nt.system';
      const files = fs.readdirSync(t.dir).filter((f) => f.startsWith('evil-'));
      assert.equal(files.length, 8);
      for (const f of files) {
        const want = f === 'evil-eval.pkl' ? 'builtins.eval' : f === 'evil-inst.pkl' ? 'os.system' : sys;
        let built = 0;
        // a resolver that records every global it was asked about: all allowed ones are numpy's or builtins
        const resolver = (m: string, n: string) => {
          built++;
          return NUMPY(m, n);
        };
        await assert.rejects(unpickleFile(path.join(t.dir, f), { resolveGlobal: resolver, file: f }), (e: unknown) => {
          assert.ok(e instanceof PickleSecurityError, `${f}: ${String(e)}`);
          assert.equal(e.global, want, f);
          assert.equal(e.file, f);
          assert.match(
            e.message,
            new RegExp(
              `^${f.replace('.', '\\.')}: refused: the pickle references the Python global '${want.replace('.', '\\.')}'.*nothing was executed`,
            ),
          );
          assert.equal(e.code, 'INVALID_INPUT');
          return true;
        });
        assert.ok(built > 0);
      }
      assert.ok(!fs.existsSync(path.join(t.dir, 'PWNED')));
    } finally {
      t.cleanup();
    }
  },
);

test('a forbidden global is refused when read, before REDUCE can call it', async () => {
  // GLOBAL 'os system', then a string arg, TUPLE1, REDUCE: the error comes at byte 2 (the GLOBAL)
  const buf = Buffer.concat([
    Buffer.from([0x80, 2]),
    Buffer.from('cos\nsystem\n'),
    Buffer.from([0x58, 2, 0, 0, 0]),
    Buffer.from('ls'),
    Buffer.from([0x85, 0x52, 0x2e]),
  ]);
  let asked = '';
  await assert.rejects(
    unpickle(buf, { file: 'x.pkl', resolveGlobal: (m, n) => void (asked = `${m}.${n}`) }),
    PickleSecurityError,
  );
  assert.equal(asked, 'os.system');
  // STACK_GLOBAL built from memoized strings
  const sg = Buffer.concat([
    Buffer.from([0x80, 4, 0x8c, 8]),
    Buffer.from('builtins'),
    Buffer.from([0x94, 0x8c, 4]),
    Buffer.from('eval'),
    Buffer.from([0x94, 0x93, 0x2e]),
  ]);
  await assert.rejects(unpickle(sg, { file: 'y.pkl' }), /y\.pkl: refused: .*'builtins\.eval'/);
});

test('persistent ids go to persistentLoad; custom globals through a resolver table', async () => {
  // protocol 2: GLOBAL torch._utils _rebuild_tensor_v2, MARK, BINPERSID(tuple('storage','k0')), BININT1 3, TUPLE, REDUCE, STOP
  const buf = Buffer.concat([
    Buffer.from([0x80, 2]),
    Buffer.from('ctorch._utils\n_rebuild_tensor_v2\n'),
    Buffer.from([0x28, 0x58, 7, 0, 0, 0]),
    Buffer.from('storage'),
    Buffer.from([0x58, 2, 0, 0, 0]),
    Buffer.from('k0'),
    Buffer.from([0x86, 0x51, 0x4b, 3, 0x74, 0x52, 0x2e]),
  ]);
  const resolver = composeResolvers(
    resolverFromTable({ 'torch._utils._rebuild_tensor_v2': { call: (args) => ({ rebuilt: args }) } }),
    safeBuiltins,
  );
  const v = (await unpickle(buf, { resolveGlobal: resolver, persistentLoad: (pid) => ({ storage: pid }) })) as {
    rebuilt: unknown[];
  };
  const pid = (v.rebuilt[0] as { storage: unknown }).storage;
  assert.ok(isTuple(pid));
  assert.deepEqual([...pid], ['storage', 'k0']);
  assert.equal(v.rebuilt[1], 3);
  await assert.rejects(unpickle(buf, { resolveGlobal: resolver }), /persistent ids and no persistentLoad handler/);
});

test('plain classes: NEWOBJ + BUILD fill a PyObject', async () => {
  // protocol 2: GLOBAL m.C, EMPTY_TUPLE, NEWOBJ, EMPTY_DICT, 'x', 1, SETITEM, BUILD, STOP
  const buf = Buffer.concat([
    Buffer.from([0x80, 2]),
    Buffer.from('cm\nC\n'),
    Buffer.from([0x29, 0x81, 0x7d, 0x58, 1, 0, 0, 0, 0x78, 0x4b, 1, 0x73, 0x62, 0x2e]),
  ]);
  const v = await unpickle(buf, { resolveGlobal: resolverFromTable({ 'm.C': { plain: true } }) });
  assert.ok(v instanceof PyObject);
  assert.ok(v.cls instanceof PyGlobal);
  assert.equal(v.get('x'), 1);
});

test('truncated and corrupt input give DataImportError naming the file', async () => {
  const ok = Buffer.from([0x80, 4, 0x95, 8, 0, 0, 0, 0, 0, 0, 0, 0x4b, 5, 0x2e]);
  assert.equal(await unpickle(ok), 5);
  for (let n = 1; n < ok.length; n++) {
    await assert.rejects(
      unpickle(ok.subarray(0, n), { file: 't.pkl' }),
      (e: unknown) =>
        e instanceof DataImportError &&
        new RegExp(
          `^t\\.pkl: the file is truncated: its data ends at byte ${n}, but [1-9]\\d* more bytes? (was|were) needed`,
        ).test(e.message),
    );
  }
  await assert.rejects(unpickle(Buffer.from([0x80, 9])), /unsupported pickle protocol 9/);
  await assert.rejects(unpickle(Buffer.from([0x80, 2, 0x97, 0x2e])), /out-of-band buffers/);
  await assert.rejects(unpickle(Buffer.from([0x80, 2, 0x68, 3, 0x2e])), /memo key 3 is not defined/);
  await assert.rejects(unpickle(Buffer.from([0x80, 2, 0x52, 0x2e])), /stack underflow/);
});
