/**
 * The layer rule (scripts/eslint-layers.js, docs/ARCHITECTURE.md) proven on deliberately wrong
 * imports through the real ESLint config, and the source tree checked for import cycles.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
// @ts-expect-error: a plain ES module without types (the ESLint config imports it)
import { layerOf, layerViolation } from '../../../scripts/eslint-layers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

async function layerErrors(file: string, code: string): Promise<string[]> {
  const eslint = new ESLint({ cwd: root });
  const [result] = await eslint.lintText(code, { filePath: path.join(root, file) });
  return result.messages.filter((m) => m.ruleId === 'local/layers').map((m) => m.message);
}

test('lint fails on an upward import and passes a downward one', async () => {
  const up = await layerErrors(
    'src/main/data/probe.ts',
    "import { Rng } from '../ml/random';\nexport const r = Rng;\n",
  );
  assert.equal(up.length, 1);
  assert.match(up[0], /^main\/data must not import main\/ml/);
  const down = await layerErrors(
    'src/main/ml/probe.ts',
    "import { Rng } from '../data/random';\nexport const r = Rng;\n",
  );
  assert.deepEqual(down, []);
  // a service may use the runner but never load a task's code; dynamic imports and re-exports count too
  const task = await layerErrors(
    'src/main/services/probe.ts',
    "export { trainTask } from '../jobs/tasks/training';\nexport const l = () => import('../jobs/tasks');\n",
  );
  assert.equal(task.length, 2);
  assert.ok(task.every((m) => m.startsWith('main/services must not import main/jobs/tasks')));
  const shared = await layerErrors('src/shared/probe.ts', "export * from '../main/store/paths';\n");
  assert.match(shared[0], /^shared must not import main\/store/);
  const renderer = await layerErrors('src/renderer/src/probe.ts', "export * from '../../cli/io';\n");
  assert.match(renderer[0], /^renderer must not import cli/);
});

test('every folder has its layer; the table reads bottom up', () => {
  assert.equal(layerOf('src/main/jobs/tasks.ts'), 'main/jobs/tasks');
  assert.equal(layerOf('src/main/jobs/tasks/search.ts'), 'main/jobs/tasks');
  assert.equal(layerOf('src/main/jobs/runner.ts'), 'main/jobs');
  assert.equal(layerOf('src/main/index.ts'), 'main/index');
  assert.equal(layerOf('src/shared/jobs.ts'), 'shared');
  assert.equal(layerOf('test/x.ts'), null);
  const main = fs.readdirSync(path.join(root, 'src/main'), { withFileTypes: true });
  for (const d of main.filter((e) => e.isDirectory()))
    assert.equal(layerOf(`src/main/${d.name}/x.ts`), `main/${d.name}`, `src/main/${d.name} has no layer`);
  assert.equal(layerViolation('src/main/ml/a.ts', 'src/main/data/b'), null);
  assert.equal(layerViolation('src/main/reports/a.ts', 'src/main/data/b'), null);
  assert.match(layerViolation('src/main/media/a.ts', 'src/main/clips/b'), /main\/media must not import main\/clips/);
  assert.match(layerViolation('src/main/store/a.ts', 'src/main/data/b'), /main\/store must not import main\/data/);
});

/** every relative value import (static, dynamic, re-export) of every module under src/ */
function importGraph(): Map<string, string[]> {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.tsx?$/.test(e.name) && !e.name.endsWith('.d.ts')) files.push(p);
    }
  };
  walk(path.join(root, 'src'));
  const known = new Set(files);
  const resolve = (from: string, spec: string): string | undefined => {
    const base = path.resolve(path.dirname(from), spec).replace(/\.js$/, '');
    return [`${base}.ts`, `${base}.tsx`, path.join(base, 'index.ts')].find((c) => known.has(c));
  };
  const statement =
    /(?:^|\n)\s*(?:import|export)\s+(type\s+)?[^'";]*?from\s*['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g;
  const graph = new Map<string, string[]>();
  for (const f of files) {
    const out: string[] = [];
    for (const m of fs.readFileSync(f, 'utf8').matchAll(statement)) {
      if (m[1]) continue; // type-only imports vanish at run time
      const to = resolve(f, m[2] ?? m[3]);
      if (to) out.push(to);
    }
    graph.set(f, out);
  }
  return graph;
}

test('no module imports itself back through others (e.g. ml/inference.ts and ml/onnx/engine.ts)', () => {
  const graph = importGraph();
  assert.ok(graph.size > 100, `only ${graph.size} modules found`);
  assert.ok(
    graph.get(path.join(root, 'src/main/ml/inference.ts'))!.includes(path.join(root, 'src/main/ml/onnx/engine.ts')),
  );
  const state = new Map<string, 'open' | 'done'>();
  const cycles: string[] = [];
  const visit = (f: string, trail: string[]) => {
    state.set(f, 'open');
    for (const to of graph.get(f) ?? []) {
      if (state.get(to) === 'open') {
        const loop = [...trail.slice(trail.indexOf(to)), to];
        cycles.push(loop.map((x) => path.relative(root, x)).join(' -> '));
      } else if (!state.has(to)) visit(to, [...trail, to]);
    }
    state.set(f, 'done');
  };
  for (const f of graph.keys()) if (!state.has(f)) visit(f, [f]);
  assert.deepEqual(cycles, []);
});
