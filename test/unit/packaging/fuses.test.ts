/**
 * The fuses set by the afterPack hook on a binary carrying Electron's fuse wire (sentinel, version 1,
 * length, one byte per fuse, as in every Electron >= 12), laid out as electron-builder's afterPack
 * sees it, and read back with @electron/fuses. (The packaging test reads them from a real packaged
 * Electron where its binary is present.)
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import afterPack from '../../../scripts/after-pack.mjs';
import { describeFuses, fusesFor, readFuses, verifyFuses } from '../../../scripts/fuses.mjs';
import { tempDir } from '../../helpers/tmp';

const SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX';
/** Electron's shipped defaults: RunAsNode, cookie encryption off, NODE_OPTIONS, inspect on, ... */
const SHIPPED = '10110010';

function fakeElectron(file: string, wire = SHIPPED): void {
  const body = Buffer.concat([
    Buffer.alloc(4096, 0x90),
    Buffer.from(SENTINEL),
    Buffer.from([1, wire.length]),
    Buffer.from(wire),
    Buffer.alloc(4096, 0x90),
  ]);
  writeFileSync(file, body);
}

const wireOf = (file: string) => {
  const b = readFileSync(file);
  const at = b.indexOf(SENTINEL) + SENTINEL.length;
  return b.subarray(at + 2, at + 2 + b[at + 1]).toString();
};

test('afterPack keeps RunAsNode (the cider CLI), turns NODE_OPTIONS and --inspect off, loads only app.asar', async () => {
  const appOutDir = tempDir();
  fakeElectron(join(appOutDir, 'cider-studio'));
  await afterPack({
    appOutDir,
    electronPlatformName: 'linux',
    arch: 1,
    packager: { appInfo: { productFilename: 'CIDer Studio' }, executableName: 'cider-studio' },
  });
  // RunAsNode, CookieEncryption, NodeOptions, Inspect, AsarIntegrity (none on Linux), OnlyFromAsar, V8Snapshot, FileProtocolPrivileges
  assert.equal(wireOf(join(appOutDir, 'cider-studio')), '11000100');
  assert.deepEqual(await readFuses(join(appOutDir, 'cider-studio')), fusesFor('linux'));

  // Windows checks app.asar's embedded integrity hash
  const win = tempDir();
  fakeElectron(join(win, 'CIDer Studio.exe'));
  await afterPack({
    appOutDir: win,
    electronPlatformName: 'win32',
    arch: 'x64',
    packager: { appInfo: { productFilename: 'CIDer Studio' } },
  });
  assert.equal(wireOf(join(win, 'CIDer Studio.exe')), '11001100');
  assert.equal(fusesFor('darwin').EnableEmbeddedAsarIntegrityValidation, true);
});

test('afterPack against the stand-in Electron sets nothing and says so, with what it would set', async () => {
  const appOutDir = tempDir();
  writeFileSync(join(appOutDir, 'cider-studio'), '#!/bin/sh\nexit 3\n');
  writeFileSync(join(appOutDir, 'cider-stand-in.txt'), 'stand-in\n');
  const logged: string[] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => void logged.push(args.join(' '));
  try {
    await afterPack({
      appOutDir,
      electronPlatformName: 'linux',
      arch: 1,
      packager: { appInfo: { productFilename: 'CIDer Studio' }, executableName: 'cider-studio' },
    });
  } finally {
    console.log = log;
  }
  assert.equal(readFileSync(join(appOutDir, 'cider-studio'), 'utf8'), '#!/bin/sh\nexit 3\n');
  assert.equal(logged.length, 1);
  assert.match(logged[0], /after-pack: SKIPPED, stand-in Electron/);
  assert.ok(logged[0].endsWith(`would set fuses: ${describeFuses(fusesFor('linux'))}`), logged[0]);
});

test('a wire the policy does not match is reported by fuse name; a binary without a wire is an error', async () => {
  const dir = tempDir();
  fakeElectron(join(dir, 'e'));
  await assert.rejects(
    verifyFuses(join(dir, 'e'), fusesFor('linux')),
    /fuse EnableNodeOptionsEnvironmentVariable is on, expected off; fuse EnableNodeCliInspectArguments is on, expected off/,
  );
  fakeElectron(join(dir, 'short'), '10');
  await assert.rejects(verifyFuses(join(dir, 'short'), fusesFor('linux')), /fuse OnlyLoadAppFromAsar is missing/);
  writeFileSync(join(dir, 'none'), 'no wire');
  await assert.rejects(readFuses(join(dir, 'none')), /Could not find sentinel/);
});
