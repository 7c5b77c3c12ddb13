/**
 * Import messages for empty and truncated files, per format: an empty file says it is empty; a
 * truncated one says where the file ends and how many more bytes the structure needed.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import h5wasm from 'h5wasm/node';
import { CsdSequence } from '../../../src/main/data/csd';
import { DataImportError } from '../../../src/main/data/errors';
import { readNpy } from '../../../src/main/data/npy';
import { unpickle, unpickleFile } from '../../../src/main/data/pickle/vm';
import { tempDir } from '../../helpers/tmp';

const rejectsWith = (p: Promise<unknown>, re: RegExp) =>
  assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof DataImportError, String(e));
    assert.match(e.message, re);
    return true;
  });

test('an empty pickle, .npy or .csd file says it is empty', async () => {
  const dir = tempDir();
  for (const name of ['empty.pkl', 'empty.npy', 'empty.csd']) fs.writeFileSync(path.join(dir, name), '');
  await rejectsWith(
    unpickleFile(path.join(dir, 'empty.pkl'), { file: 'empty.pkl' }),
    /^empty\.pkl: the file is empty \(0 bytes\)$/,
  );
  await rejectsWith(unpickle(Buffer.alloc(0), { file: 'mem.pkl' }), /^mem\.pkl: the file is empty/);
  await rejectsWith(readNpy(path.join(dir, 'empty.npy')), /^empty\.npy: the file is empty \(0 bytes\)$/);
  await assert.rejects(
    CsdSequence.open(path.join(dir, 'empty.csd')),
    /^Error: empty\.csd: the file is empty|empty\.csd: the file is empty/,
  );
});

test('a truncated pickle says where its data ends and how many more bytes the opcode needed', async () => {
  const dir = tempDir();
  // PROTO 4, FRAME of 8 bytes, BININT1 5, STOP; then a BINUNICODE of 10 bytes cut after 3
  const whole = Buffer.from([0x80, 4, 0x95, 3, 0, 0, 0, 0, 0, 0, 0, 0x4b, 5, 0x2e]);
  fs.writeFileSync(path.join(dir, 'cut.pkl'), whole.subarray(0, 6));
  await rejectsWith(
    unpickleFile(path.join(dir, 'cut.pkl'), { file: 'cut.pkl' }),
    /^cut\.pkl: the file is truncated: its data ends at byte 6, but 5 more bytes were needed .*opcode that starts at byte 2/,
  );
  const str = Buffer.from([0x80, 2, 0x58, 10, 0, 0, 0, 0x61, 0x62, 0x63]);
  await rejectsWith(unpickle(str, { file: 's.pkl' }), /its data ends at byte 10, but 7 more bytes were needed/);
});

test('a truncated .npy says where the file ends: in the preamble, the header, or the data', async () => {
  const dir = tempDir();
  const header = "{'descr': '<f8', 'fortran_order': False, 'shape': (4,), }";
  const padded = header.padEnd(118, ' ') + '\n';
  const pre = Buffer.from([0x93, ...Buffer.from('NUMPY'), 1, 0, padded.length & 0xff, padded.length >> 8]);
  const full = Buffer.concat([pre, Buffer.from(padded, 'latin1'), Buffer.from(new Float64Array([1, 2, 3, 4]).buffer)]);
  const write = (n: number) => {
    fs.writeFileSync(path.join(dir, 'a.npy'), full.subarray(0, n));
    return readNpy(path.join(dir, 'a.npy'));
  };
  assert.deepEqual((await write(full.length)).shape, [4]);
  await rejectsWith(
    write(7),
    /^a\.npy: truncated: the file ends at byte 7, inside the \.npy preamble \(3 more bytes were needed\)/,
  );
  await rejectsWith(
    write(50),
    /^a\.npy: truncated: the file ends at byte 50, inside the \.npy header of 119 bytes \(79 more bytes were needed\)/,
  );
  await rejectsWith(
    write(full.length - 5),
    /needs 32 bytes of data but the file holds 27: it ends at byte 156, 5 more bytes were needed/,
  );
});

test('a truncated .csd (HDF5) says where it ends and how long its superblock says it is', async () => {
  const dir = tempDir();
  await h5wasm.ready;
  const file = path.join(dir, 'whole.csd');
  const f = new h5wasm.File(file, 'w');
  const g = f.create_group('COVAREP');
  g.create_group('data')
    .create_group('v1')
    .create_dataset({ name: 'features', data: new Float32Array(64), shape: [16, 4] });
  f.close();
  const bytes = fs.readFileSync(file);
  const cut = path.join(dir, 'cut.csd');
  fs.writeFileSync(cut, bytes.subarray(0, bytes.length - 100));
  await assert.rejects(
    CsdSequence.open(cut),
    new RegExp(
      `cut\\.csd: truncated: the file ends at byte ${bytes.length - 100}, but its HDF5 superblock says it is ${bytes.length} bytes long \\(100 more bytes were needed\\)`,
    ),
  );
  fs.writeFileSync(cut, bytes.subarray(0, 5));
  await assert.rejects(
    CsdSequence.open(cut),
    /cut\.csd: truncated: the file ends at byte 5, inside the HDF5 signature \(3 more bytes were needed\)/,
  );
  fs.writeFileSync(cut, bytes.subarray(0, 30));
  await assert.rejects(
    CsdSequence.open(cut),
    /cut\.csd: truncated: the file ends at byte 30, inside the HDF5 superblock/,
  );
  // the whole file still opens
  const whole = await CsdSequence.open(file);
  assert.deepEqual(whole.ids, ['v1']);
});
