/**
 * The executor flags of `cider ablate` and `cider robustness --runs` (the same as `cider search`):
 * --dry-run prints the sbatch script the job would submit (one task per variant / per run) and
 * submits nothing; bad combinations are usage errors naming the flag, before anything runs.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli } from '../../src/cli/main';
import { tempDir } from '../helpers/tmp';

async function cli(args: string[]): Promise<{ status: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const status = await runCli([...args, '--data-dir', dataDir], { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { status, out: out.join('\n'), err: err.join('\n') };
}
const dataDir = tempDir('cider-cli-executors-');

test('help lists the executor flags of ablate and robustness --runs', async () => {
  for (const cmd of ['ablate', 'robustness']) {
    const r = await cli(['help', cmd]);
    assert.equal(r.status, 0);
    assert.match(r.out, /\[--executor local\|slurm\|queue\]/, cmd);
    assert.match(r.out, /--queue redis:\/\/HOST:PORT/, cmd);
  }
  assert.match((await cli(['help', 'robustness'])).out, /robustness --runs RUN,RUN,\.\.\./);
});

test('ablate --executor slurm --dry-run: the array has one task per variant; nothing is started', async () => {
  const all = await cli(['ablate', '--dataset', 'any', '--executor', 'slurm', '--partition', 'gpu', '--dry-run']);
  assert.equal(all.status, 0, all.err);
  assert.match(all.out, /#SBATCH --array=1-5\n/);
  assert.match(all.out, /#SBATCH --partition=gpu/);
  assert.match(all.out, /trial run '.*cluster\/job-<job id>'\/trial-"\$SLURM_ARRAY_TASK_ID"/);
  const two = await cli([
    'ablate',
    '--dataset',
    'any',
    '--variants',
    'full,no-mssd',
    '--executor',
    'slurm',
    '--mem',
    '8G',
    '--gpus',
    '1',
    '--dry-run',
  ]);
  assert.equal(two.status, 0, two.err);
  assert.match(two.out, /#SBATCH --array=1-2\n/);
  assert.match(two.out, /#SBATCH --mem=8G/);
  assert.match(two.out, /#SBATCH --gpus-per-task=1/);
  assert.deepEqual(JSON.parse((await cli(['ablate', 'list', '--json'])).out), [], 'no ablation was started');
});

test('robustness --runs --executor slurm --dry-run: one task per run', async () => {
  const r = await cli(['robustness', '--runs', '3,4,5', '--executor', 'slurm', '--time', '01:00:00', '--dry-run']);
  assert.equal(r.status, 0, r.err);
  assert.match(r.out, /#SBATCH --job-name=cider_robustness/);
  assert.match(r.out, /#SBATCH --array=1-3\n/);
  assert.match(r.out, /#SBATCH --time=01:00:00/);
});

test('bad executor combinations are usage errors naming the flag', async () => {
  const cases: [string[], RegExp][] = [
    [['robustness', '3', '--executor', 'queue', '--queue', 'redis://h:1'], /--executor is for several runs/],
    [['robustness', '--runs', '3,x'], /--runs takes run ids/],
    [['robustness', '3', '--runs', '4,5'], /not both/],
    [['robustness', '--runs', '3,4', '--executor', 'queue'], /--executor queue needs --queue/],
    [['robustness', '--runs', '3,4', '--dry-run'], /--dry-run shows the sbatch script of --executor slurm/],
    [['ablate', '--dataset', 'any', '--executor', 'queue'], /--executor queue needs --queue/],
    [['ablate', '--dataset', 'any', '--executor', 'slurm', '--time', 'soon', '--dry-run'], /time: minutes/],
    [['robustness', 'sideways'], /unknown subcommand "robustness sideways"/],
  ];
  for (const [args, message] of cases) {
    const r = await cli(args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, message, args.join(' '));
  }
  // runs that do not exist: refused by the service, nothing started
  const missing = await cli(['robustness', '--runs', '41,42']);
  assert.notEqual(missing.status, 0);
  assert.match(missing.err, /run 41/);
  assert.deepEqual(JSON.parse((await cli(['robustness', 'list', '--json'])).out), []);
});
