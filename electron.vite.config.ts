import { resolve } from 'node:path';
import { defineConfig } from 'electron-vite';
import { OUT_DIR, rendererConfig } from './vite.web.config';

export default defineConfig({
  main: {
    build: {
      outDir: resolve(OUT_DIR, 'main'),
      rollupOptions: {
        input: {
          index: resolve(__dirname, 'src/main/index.ts'),
          // job workers run from their own bundle (see src/main/jobs/worker.ts)
          worker: resolve(__dirname, 'src/main/jobs/worker.ts'),
          // the second training thread (src/main/ml/parallel/pool.ts finds it next to its chunk)
          replica: resolve(__dirname, 'src/main/ml/parallel/replica.ts'),
        },
      },
    },
  },
  preload: {
    build: {
      outDir: resolve(OUT_DIR, 'preload'),
      // a sandboxed preload can require only electron: bundle the contract's dependencies (zod)
      externalizeDeps: false,
      rollupOptions: {
        input: { index: resolve(__dirname, 'src/preload/index.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: rendererConfig,
});
