// The layer rule of docs/ARCHITECTURE.md as an ESLint rule: every relative import (static, dynamic,
// re-export) is resolved against the importing file, both ends are given their layer (the longest
// matching folder below), and an import the importer's layer does not list is an error. Checked by
// the linter, not by review (after VS Code's code-import-patterns / layersChecker).
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Each layer and the layers it may import, bottom up. A folder not listed under src/ has no rule.
 * main/jobs/tasks is its own layer so that only the job worker loads a task's code (the services
 * import the runner, never a task: a task pulls in whole stacks such as training); main/jobs/executors
 * (SLURM, queue) sits between the runner and the tasks.
 */
/** the layers below the jobs: every main layer above them may import all of these */
const BELOW_JOBS = [
  'shared',
  'main/runtime',
  'main/store',
  'main/data',
  'main/media',
  'main/ml',
  'main/reports',
  'main/clips',
];
const JOBS = ['main/jobs', 'main/jobs/executors'];
const aboveJobs = (...more) => [...BELOW_JOBS, ...JOBS, ...more];

export const LAYERS = {
  shared: [],
  // where run-time files are (runtime/assets.ts): below every main layer, imports none of them
  'main/runtime': ['shared'],
  'main/store': ['shared', 'main/runtime'],
  'main/data': ['shared', 'main/runtime'],
  'main/media': ['shared', 'main/runtime'],
  'main/ml': ['shared', 'main/runtime', 'main/data'],
  'main/reports': ['shared', 'main/runtime', 'main/data', 'main/ml'],
  'main/clips': ['shared', 'main/runtime', 'main/store', 'main/data', 'main/media', 'main/ml'],
  'main/jobs': [...BELOW_JOBS, 'main/jobs/tasks'],
  // searches beyond one machine (SLURM, queue): above the runner's protocol, below the tasks
  'main/jobs/executors': [...BELOW_JOBS, 'main/jobs'],
  'main/jobs/tasks': aboveJobs(),
  'main/services': aboveJobs(),
  'main/server': aboveJobs('main/services'),
  // the desktop shell's logic without electron (it is handed Electron's objects by main/index)
  'main/shell': aboveJobs('main/services'),
  cli: aboveJobs('main/services', 'main/server'),
  // the Electron entry point composes everything
  'main/index': aboveJobs('main/services', 'main/server', 'main/shell'),
  preload: ['shared'],
  renderer: ['shared'],
};

const NAMES = Object.keys(LAYERS).sort((a, b) => b.length - a.length);

/** the layer of a file or import target ('src/main/jobs/tasks.ts' and 'src/main/jobs/tasks/x.ts' are both main/jobs/tasks) */
export function layerOf(fileFromRoot) {
  const p = fileFromRoot.split(path.sep).join('/');
  if (!p.startsWith('src/')) return null;
  const rest = p.slice(4).replace(/\.(ts|tsx|mts|js|mjs)$/, '');
  return NAMES.find((n) => rest === n || rest.startsWith(`${n}/`)) ?? null;
}

/** why `importer` may not import `target` (paths from the repository root), or null when it may */
export function layerViolation(importer, target) {
  const from = layerOf(importer);
  const to = layerOf(target);
  if (!from || !to || from === to) return null;
  if (LAYERS[from].includes(to)) return null;
  return `${from} must not import ${to} (layers import downward only; see docs/ARCHITECTURE.md). ${from} may import: ${LAYERS[from].join(', ') || 'nothing else'}.`;
}

export const layersRule = {
  meta: {
    type: 'problem',
    docs: { description: 'layers import downward only (docs/ARCHITECTURE.md)' },
    schema: [],
  },
  create(context) {
    const file = path.relative(ROOT, context.filename);
    const check = (node, source) => {
      if (!source || typeof source.value !== 'string' || !source.value.startsWith('.')) return;
      const target = path.relative(ROOT, path.resolve(path.dirname(context.filename), source.value));
      const why = layerViolation(file, target);
      if (why) context.report({ node, message: why });
    };
    return {
      ImportDeclaration: (node) => check(node, node.source),
      ExportNamedDeclaration: (node) => check(node, node.source),
      ExportAllDeclaration: (node) => check(node, node.source),
      ImportExpression: (node) => check(node, node.source.type === 'Literal' ? node.source : null),
    };
  },
};

export const layersPlugin = { rules: { layers: layersRule } };
