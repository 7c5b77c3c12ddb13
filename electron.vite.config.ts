import { resolve } from 'node:path';
import { defineConfig } from 'electron-vite';
import type { Plugin } from 'vite';
import { desktopCsp, withCspMeta } from './src/main/shell/csp';
import { OUT_DIR, rendererConfig } from './vite.web.config';

/**
 * `electron-vite dev` only: the page's meta CSP gets the desktop development policy (the React
 * plugin's inline refresh preamble and the dev server's HMR socket). Builds keep index.html's strict
 * policy untouched (`apply: 'serve'`), and src/main/index.ts sends the matching header.
 */
export function devCsp(): Plugin {
  let origin = 'http://localhost:5173';
  return {
    name: 'cider-dev-csp',
    apply: 'serve',
    configureServer(server) {
      server.httpServer?.once('listening', () => {
        const url = server.resolvedUrls?.local[0];
        if (url) origin = new URL(url).origin;
      });
    },
    transformIndexHtml: { order: 'post', handler: (html) => withCspMeta(html, desktopCsp(origin)) },
  };
}

/**
 * out/main/package.json marks the main bundle as ESM on its own: a packaged app starts the workers
 * from app.asar.unpacked/out/main (src/main/shell/workers.ts), where the app's package.json
 * (inside app.asar) is not on Node's package-scope lookup path.
 */
function esmScope(): Plugin {
  return {
    name: 'cider-esm-scope',
    generateBundle() {
      this.emitFile({ type: 'asset', fileName: 'package.json', source: '{ "type": "module" }\n' });
    },
  };
}

export default defineConfig({
  main: {
    plugins: [esmScope()],
    build: {
      outDir: resolve(OUT_DIR, 'main'),
      rollupOptions: {
        input: {
          index: resolve(import.meta.dirname, 'src/main/index.ts'),
          // job workers run from their own bundle (see src/main/jobs/worker.ts)
          worker: resolve(import.meta.dirname, 'src/main/jobs/worker.ts'),
          // the second training thread (src/main/ml/parallel/pool.ts finds it next to its chunk)
          replica: resolve(import.meta.dirname, 'src/main/ml/parallel/replica.ts'),
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
        input: { index: resolve(import.meta.dirname, 'src/preload/index.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: { ...rendererConfig, plugins: [...(rendererConfig.plugins ?? []), devCsp()] },
});
