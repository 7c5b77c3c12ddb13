// Lint, including the layer rules of docs/ARCHITECTURE.md, checked by the linter rather than by
// review: electron only in src/main/index.ts and src/preload; no Node in the renderer or in
// src/shared; the renderer talks to the app only through src/shared; only src/main/ml/backends
// loads TensorFlow.js and onnxruntime-node; layers import downward only (scripts/eslint-layers.js
// holds the table: each folder its layer, and the layers it may import).
import js from '@eslint/js';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';
import tseslint from 'typescript-eslint';
import { layersPlugin } from './scripts/eslint-layers.js';

const nodeBuiltins = [
  'node:*',
  'fs',
  'fs/*',
  'path',
  'os',
  'child_process',
  'worker_threads',
  'http',
  'https',
  'net',
  'crypto',
  'url',
  'module',
  'stream',
  'zlib',
].map((name) => ({
  group: [name],
  message: 'Node built-ins are not available here: go through the contract in src/shared/api.ts.',
}));
const electron = {
  group: ['electron', 'electron/*'],
  message: 'Only src/main/index.ts and src/preload may import electron; everything else must run under plain Node.',
};
const mlRuntimes = {
  group: ['@tensorflow/*', 'onnxruntime-node', 'onnxruntime-*'],
  message: 'Only src/main/ml/backends/* loads ML runtimes; import tf from src/main/ml/backends/tf.ts.',
};
const restrict = (...patterns) => ({ 'no-restricted-imports': ['error', { patterns }] });

export default tseslint.config(
  { ignores: ['out/**', 'dist/**', 'node_modules/**', 'test-results/**', '**/*.d.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node }, ecmaVersion: 2023, sourceType: 'module' },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      '@typescript-eslint/no-non-null-assertion': 'off',
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  // Everything outside the two Electron entry points: no electron, no direct ML runtimes.
  {
    files: ['src/**/*.{ts,tsx,mts}', 'test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.{js,mjs,ts}'],
    ignores: ['src/main/index.ts', 'src/preload/**', 'src/main/ml/backends/**', 'test/e2e/electron.e2e.ts'],
    rules: restrict(electron, mlRuntimes),
  },
  { files: ['src/main/ml/backends/**'], rules: restrict(electron) },
  { files: ['test/e2e/electron.e2e.ts'], rules: restrict(mlRuntimes) },
  // The contract: pure TypeScript.
  {
    files: ['src/shared/**'],
    rules: restrict(electron, mlRuntimes, ...nodeBuiltins, {
      group: ['react', 'react-dom', 'better-sqlite3'],
      message: 'src/shared is pure TypeScript.',
    }),
  },
  // The renderer: browser code that knows only the contract.
  {
    files: ['src/renderer/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
    plugins: { 'react-hooks': reactHooks },
    rules: {
      ...reactHooks.configs.recommended.rules,
      ...restrict(electron, mlRuntimes, ...nodeBuiltins, {
        group: ['better-sqlite3', 'ws'],
        message: 'The renderer reaches the app only through the contract.',
      }),
    },
  },
  // Layers import downward only: every relative import in src/ against the table in scripts/eslint-layers.js.
  {
    files: ['src/**/*.{ts,tsx,mts}'],
    plugins: { local: layersPlugin },
    rules: { 'local/layers': 'error' },
  },
);
