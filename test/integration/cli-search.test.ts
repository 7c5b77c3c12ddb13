/**
 * `cider search`: a seeded random search on a dataset imported with `cider import`; every trial is a
 * run with the sampled settings, the table is best first, and the same seed plans the same trials.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { SearchRecord } from '../../src/shared/contract/search';
import { DEFAULT_SEARCH_SPACE } from '../../src/shared/contract/search';
import type { RunRecord } from '../../src/shared/contract/training';
import { makeMmsa, pythonHas } from '../helpers/datasets';
import { tempDir } from '../helpers/tmp';

const cli = fileURLToPath(new URL('../../bin/cider.mjs', import.meta.url));
const run = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 300_000 });
const skip = pythonHas('numpy') ? false : 'Debian python3 with numpy is not installed (/usr/bin/python3)';

test('cider search --dataset D --trials 2: each trial a run, best first', { skip }, () => {
  const dir = tempDir();
  const src = tempDir();
  makeMmsa(src, 'mosi.pkl', ['--sizes', '16,8,8', '--aligned']);
  assert.equal(run(['import', path.join(src, 'mosi.pkl'), '--name', 'tiny', '--data-dir', dir]).status, 0);

  const s = run([
    'search',
    '--dataset',
    'tiny',
    '--trials',
    '2',
    '--epochs',
    '1',
    '--batch-size',
    '8',
    '--d',
    '8',
    '--seed',
    '7',
    '--data-dir',
    dir,
  ]);
  assert.equal(s.status, 0, s.stderr);
  assert.match(s.stderr, /random search \(seeded\), not the authors' TPE/);
  // a search is its job: the import was job 1
  const id = Number(
    /^search (\d+): tiny 3-class search \(random search, seed 7, 2 trials\), succeeded$/m.exec(s.stdout)?.[1],
  );
  assert.ok(id > 0, s.stdout);
  const rows = s.stdout.split('\n').filter((l) => /^\s+\d+\s+\d+\s+completed/.test(l));
  assert.equal(rows.length, 2, s.stdout);

  const shown = JSON.parse(run(['search', 'show', String(id), '--json', '--data-dir', dir]).stdout) as SearchRecord;
  assert.equal(shown.strategy, 'random');
  assert.equal(shown.results.length, 2);
  const metrics = shown.results.map((t) => t.bestMetric ?? -Infinity);
  assert.ok(metrics[0] >= metrics[1], 'best first');
  const runs = JSON.parse(run(['runs', '--json', '--data-dir', dir]).stdout) as RunRecord[];
  assert.equal(runs.length, 2);
  for (const t of shown.results) {
    const r = runs.find((x) => x.id === t.runId)!;
    assert.equal(r.name, `search #${id} trial ${t.trial}/2`);
    assert.equal(r.status, 'completed');
    assert.equal(r.options.model.layers, t.params.layers);
    assert.equal(r.options.model.heads, t.params.heads);
    assert.deepEqual(r.options.lossWeights, t.params.lossWeights);
    assert.ok(DEFAULT_SEARCH_SPACE.layers.includes(t.params.layers));
    assert.ok(DEFAULT_SEARCH_SPACE.heads.includes(t.params.heads));
    assert.equal(r.options.maxEpochs, 1, 'the base options reach every trial');
  }
});
