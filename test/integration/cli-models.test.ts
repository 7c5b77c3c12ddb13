import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { writeTinyBert } from '../helpers/tinyBert';
import { tempDir } from '../helpers/tmp';

const cli = fileURLToPath(new URL('../../bin/cider.mjs', import.meta.url));
const run = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000 });

const good = writeTinyBert();
const partial = writeTinyBert({ vocab: false });
after(() => {
  good.cleanup();
  partial.cleanup();
});

test('cider models add registers a complete BERT folder and refuses a partial one, naming what is missing', () => {
  const dir = tempDir();
  const empty = run(['models', '--data-dir', dir]);
  assert.equal(empty.status, 0, empty.stderr);
  assert.match(empty.stdout, /no text encoders/);

  const added = run(['models', 'add', good.dir, '--name', 'tiny-bert', '--data-dir', dir]);
  assert.equal(added.status, 0, added.stderr);
  assert.match(added.stdout, /added \* tiny-bert +2 layers, hidden 32, vocab \d+, safetensors/);

  const bad = run(['models', 'add', partial.dir, '--name', 'broken', '--data-dir', dir]);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /INVALID_INPUT/);
  assert.match(bad.stderr, /vocab\.txt/);
  assert.ok(bad.stderr.includes(partial.dir), 'the message names the folder');

  const dup = run(['models', 'add', good.dir, '--name', 'TINY-BERT', '--data-dir', dir]);
  assert.equal(dup.status, 1);
  assert.match(dup.stderr, /already registered/);

  // a registered folder that loses a file afterwards is listed as not usable, with the reason
  rmSync(join(good.dir, 'model.safetensors'));
  const list = JSON.parse(run(['models', '--json', '--data-dir', dir]).stdout) as {
    name: string;
    ok: boolean;
    isDefault: boolean;
    problems: string[];
  }[];
  assert.deepEqual(
    list.map((m) => [m.name, m.ok, m.isDefault]),
    [['tiny-bert', false, true]],
  );
  assert.match(list[0].problems.join(' '), /weights|safetensors|pytorch_model\.bin/);

  assert.equal(run(['models', 'remove', 'tiny-bert', '--data-dir', dir]).status, 0);
  assert.match(run(['models', '--data-dir', dir]).stdout, /no text encoders/);
});
