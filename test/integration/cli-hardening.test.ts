/**
 * The command line with careless input, end to end through bin/cider.mjs: --json never eats a
 * file argument and makes errors JSON, names with control characters are refused, listings
 * escape what is already stored, an empty import file says so.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createApp } from '../../src/main/services/app';
import { tempDir } from '../helpers/tmp';

const cli = fileURLToPath(new URL('../../bin/cider.mjs', import.meta.url));
const run = (args: string[]) =>
  spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: process.env, timeout: 120_000 });

test('cider import --json FILE imports FILE (not a value of --json); an empty file is named and said empty, as JSON', () => {
  const dir = tempDir();
  const file = path.join(dir, 'empty.pkl');
  fs.writeFileSync(file, '');
  const r = run(['import', '--json', file, '--data-dir', path.join(dir, 'data')]);
  assert.equal(r.status, 1, r.stderr);
  const e = JSON.parse(r.stderr) as { ok: false; error: { code: string; message: string } };
  assert.equal(e.error.code, 'INVALID_INPUT');
  assert.equal(e.error.message, 'empty.pkl: the file is empty (0 bytes)');
});

test('a name with a newline is refused with a clear message; stored names are listed escaped', async () => {
  const dir = tempDir();
  const refused = run(['projects', 'create', 'two\nlines', '--data-dir', dir]);
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /a project's name holds a control character \(U\+000A at position 4\)/);
  // a name stored before names were checked (or by another tool) cannot fake a line of the listing
  const app = createApp({ dataDir: dir, mode: 'cli' });
  app.projects.create('Real\n    99  Fake project\x1b[2J');
  await app.close();
  const list = run(['projects', 'list', '--data-dir', dir]);
  assert.equal(list.status, 0, list.stderr);
  const lines = list.stdout.trim().split('\n');
  assert.ok(!lines.some((l) => l.startsWith('    99')), list.stdout);
  assert.ok(list.stdout.includes('Real\\x0a    99  Fake project\\x1b[2J'), list.stdout);
  assert.ok(!list.stdout.includes('\x1b'));
});
