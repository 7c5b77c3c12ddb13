import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../helpers/tmp';

const cli = fileURLToPath(new URL('../../bin/cider.mjs', import.meta.url));
const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000 });

test('cider doctor prints versions, the backend and why, the data folder and ffmpeg', () => {
  const dir = tempDir();
  const r = run(['doctor', '--data-dir', dir]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /TensorFlow\.js 4\.\d+\.\d+, backend: (wasm|cpu|tensorflow)/);
  assert.match(r.stdout, /why: /);
  assert.ok(r.stdout.includes(`data folder: ${dir}`));
  assert.match(r.stdout, /ffmpeg: \S+ffmpeg/);
  const json = JSON.parse(run(['doctor', '--json'], { CIDER_DATA_DIR: dir }).stdout) as {
    dataDir: string;
    schemaVersion: number;
  };
  assert.equal(json.dataDir, dir);
});

test('cider projects create/list share the data folder; errors exit non-zero with a message', () => {
  const dir = tempDir();
  assert.equal(run(['projects', 'create', 'Ablation study', '--data-dir', dir]).status, 0);
  const list = run(['projects', 'list', '--data-dir', dir]);
  assert.match(list.stdout, /Demo project/);
  assert.match(list.stdout, /Ablation study/);
  const dup = run(['projects', 'create', 'ablation STUDY', '--data-dir', dir]);
  assert.equal(dup.status, 1);
  assert.match(dup.stderr, /CONFLICT.*already exists/);
  const usage = run(['frobnicate', '--data-dir', dir]);
  assert.equal(usage.status, 2);
  assert.match(usage.stderr, /unknown command "frobnicate"/);
});

test('cider selftest runs a job to completion and records it', () => {
  const dir = tempDir();
  const r = run(['selftest', '--size', '32', '--iterations', '3', '--data-dir', dir]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /32x32 matmul [\d.]+ ms/);
  const jobs = JSON.parse(run(['jobs', 'list', '--json', '--data-dir', dir]).stdout) as {
    status: string;
    kind: string;
  }[];
  assert.deepEqual(
    jobs.map((j) => [j.kind, j.status]),
    [['backend.selftest', 'succeeded']],
  );
});
