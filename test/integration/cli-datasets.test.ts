import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Dataset } from '../../src/shared/contract/datasets';
import { makeMmsa, pythonHas } from '../helpers/datasets';
import { tempDir } from '../helpers/tmp';

const cli = fileURLToPath(new URL('../../bin/cider.mjs', import.meta.url));
const run = (args: string[], cwd?: string) =>
  spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', cwd, timeout: 120_000 });
const skip = pythonHas('numpy') ? false : 'Debian python3 with numpy is not installed (/usr/bin/python3)';

test('cider import / datasets / split-ood follow their jobs and share the data folder', { skip }, () => {
  const dir = tempDir();
  const src = tempDir();
  const { expect } = makeMmsa(src, 'mosi.pkl', ['--sizes', '20,5,8']);

  // a relative FILE is taken from the working directory
  const imp = run(['import', 'mosi.pkl', '--name', 'MOSI small', '--data-dir', dir], src);
  assert.equal(imp.status, 0, imp.stderr);
  assert.match(imp.stdout, /dataset 1: MOSI small \(iid, 20\/5\/8 train\/valid\/test\)/);
  assert.match(imp.stderr, /dataset\.import\s+running/, 'progress is followed on stderr');
  assert.match(imp.stderr, /succeeded\s+100%/);

  const ood = run(['split-ood', 'mosi SMALL', '--seed', '3', '--data-dir', dir]);
  assert.equal(ood.status, 0, ood.stderr);
  assert.match(ood.stdout, /dataset 2: MOSI small OOD seed 3 \(ood, 20\/5\/8/);

  const list = run(['datasets', '--data-dir', dir]);
  assert.equal(list.status, 0, list.stderr);
  assert.match(list.stdout, /1 {2}MOSI small\s+iid\s+mmsa-pickle\s+20\/5\/8/);
  assert.match(list.stdout, /2 {2}MOSI small OOD seed 3\s+ood\s+ood-split/);
  const json = JSON.parse(run(['datasets', 'list', '--json', '--data-dir', dir]).stdout) as Dataset[];
  const three = (xs: number[]) => [0, 1, 2].map((c) => xs.filter((x) => x === c).length);
  assert.deepEqual(json[0].splits.train.labels.three, three(expect.train.labels3));
  assert.equal(json[1].parentId, 1);

  // errors: a bad file fails with the file named; a missing dataset; no seed
  const bad = run(['import', 'nothing.pkl', '--data-dir', dir], src);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /INVALID_INPUT.*nothing\.pkl: file not found/);
  assert.match(run(['split-ood', 'no such', '--seed', '1', '--data-dir', dir]).stderr, /no dataset named "no such"/);
  assert.equal(run(['split-ood', '1', '--data-dir', dir]).status, 2);
});
