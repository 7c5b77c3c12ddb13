/**
 * `cider --version` reads the version from its own small module: the app's composition root (and
 * with it the database and the services) is not loaded. A child process records every module it
 * resolves through a module.register hook, so the test sees what was actually loaded.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { repoRoot, tempDir } from '../helpers/tmp';

function loadedBy(argv: string[]): { stdout: string; status: number | null; loaded: string[]; packages: string[] } {
  const dir = tempDir();
  const log = join(dir, 'resolved.txt');
  writeFileSync(log, '');
  const hook = `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  appendFileSync(${JSON.stringify(log)}, r.url + '\\n');
  return r;
}`;
  const probe = join(dir, 'probe.mjs');
  writeFileSync(
    probe,
    `import { register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hook)}));
const { runCli } = await import(${JSON.stringify(new URL('src/cli/main.ts', repoRoot).href)});
process.exitCode = await runCli(${JSON.stringify(argv)});
`,
  );
  const r = spawnSync(process.execPath, ['--import', 'tsx', probe], { encoding: 'utf8', timeout: 120_000 });
  const root = pathToFileURL(join(new URL(repoRoot).pathname, '/')).href;
  const urls = readFileSync(log, 'utf8').split('\n');
  const packages = urls.filter((u) => u.includes('/node_modules/'));
  const loaded = urls
    .filter((u) => u.startsWith(root) && !u.includes('/node_modules/'))
    .map((u) => u.slice(root.length));
  return { stdout: r.stdout, status: r.status, loaded, packages };
}

test('cider --version prints the version without loading the app services or the database', () => {
  const { version } = JSON.parse(readFileSync(new URL('package.json', repoRoot), 'utf8')) as { version: string };
  const r = loadedBy(['--version']);
  assert.equal(r.status, 0);
  assert.equal(r.stdout.trim(), `cider ${version}`);
  assert.ok(r.loaded.includes('src/main/services/version.ts'), r.loaded.join('\n'));
  for (const heavy of ['src/main/services/app.ts', 'src/main/store/db.ts', 'src/main/services/datasets.ts'])
    assert.ok(!r.loaded.includes(heavy), `${heavy} was loaded`);
});

test('cider --json --version prints it as JSON', () => {
  const r = loadedBy(['--json', '--version']);
  assert.equal(r.status, 0);
  assert.match(JSON.parse(r.stdout).version as string, /^\d+\.\d+\.\d+/);
  assert.ok(!r.loaded.includes('src/main/services/app.ts'));
});

test('cider help loads neither the ML runtimes nor the job queue (trial and worker load them when they run)', () => {
  const r = loadedBy(['help']);
  assert.equal(r.status, 0);
  assert.match(r.stdout, /worker --queue/);
  for (const heavy of [
    'src/main/jobs/executors/trial.ts',
    'src/main/jobs/executors/queue.ts',
    'src/main/ml/backends/tf.ts',
  ])
    assert.ok(!r.loaded.includes(heavy), `${heavy} was loaded`);
  for (const pkg of ['/@tensorflow/', '/onnxruntime-node/', '/bullmq/'])
    assert.ok(!r.packages.some((u) => u.includes(pkg)), `${pkg} was loaded`);
});
