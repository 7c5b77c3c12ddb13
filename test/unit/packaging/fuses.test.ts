/**
 * The fuse settings flipped on a binary carrying Electron's fuse wire (sentinel, version 1, length,
 * one byte per fuse, as in every Electron >= 12), laid out as electron-builder's afterPack sees it.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import afterPack, {
  ELECTRON_BUILDER_FUSES,
  flipCliRuntimeFuses,
  verifyFuses,
  GUI_FUSES,
} from '../../../scripts/fuses.mjs';
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

test('afterPack turns RunAsNode, NODE_OPTIONS and --inspect off and cookie encryption and asar checks on', async () => {
  const appOutDir = tempDir();
  fakeElectron(join(appOutDir, 'cider-studio'));
  await afterPack({
    appOutDir,
    electronPlatformName: 'linux',
    arch: 1,
    packager: { appInfo: { productFilename: 'CIDer Studio' }, executableName: 'cider-studio' },
  });
  // RunAsNode, CookieEncryption, NodeOptions, Inspect, AsarIntegrity, OnlyFromAsar, V8Snapshot, FileProtocolPrivileges
  assert.equal(wireOf(join(appOutDir, 'cider-studio')), '01001100');
  await verifyFuses(join(appOutDir, 'cider-studio'), GUI_FUSES);

  const win = tempDir();
  fakeElectron(join(win, 'CIDer Studio.exe'));
  await afterPack({
    appOutDir: win,
    electronPlatformName: 'win32',
    arch: 'x64',
    packager: { appInfo: { productFilename: 'CIDer Studio' } },
  });
  assert.equal(wireOf(join(win, 'CIDer Studio.exe')), '01001100');
});

test('the CLI runtime binary keeps RunAsNode and nothing else', async () => {
  const dir = tempDir();
  mkdirSync(join(dir, 'bin'));
  fakeElectron(join(dir, 'bin', 'cider-node'));
  await flipCliRuntimeFuses(join(dir, 'bin', 'cider-node'));
  assert.equal(wireOf(join(dir, 'bin', 'cider-node')), '11001100');
  await assert.rejects(
    flipCliRuntimeFuses(join(dir, 'CIDer Studio.app', 'Contents', 'MacOS', 'x')),
    /share the GUI's fuses/,
  );
});

test('a wire the settings do not match is reported by fuse name', async () => {
  const dir = tempDir();
  fakeElectron(join(dir, 'e'));
  await assert.rejects(verifyFuses(join(dir, 'e'), GUI_FUSES), /fuse RunAsNode is 1, expected off/);
  assert.equal(ELECTRON_BUILDER_FUSES.runAsNode, false);
  assert.equal(ELECTRON_BUILDER_FUSES.enableEmbeddedAsarIntegrityValidation, true);
});
