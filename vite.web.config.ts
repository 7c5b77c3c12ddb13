/**
 * The renderer build, shared by the desktop app (electron.vite.config.ts) and web mode
 * (`npm run build:web`): both serve the same out/renderer.
 */
import { resolve } from 'node:path';
import react from '@vitejs/plugin-react';
import { defineConfig, type UserConfig } from 'vite';

/** Where builds go: out/ (CIDER_OUT_DIR lets the desktop-bundle test build elsewhere while e2e tests serve out/renderer). */
export const OUT_DIR = resolve(import.meta.dirname, process.env.CIDER_OUT_DIR ?? 'out');

export const rendererConfig: UserConfig = {
  root: resolve(import.meta.dirname, 'src/renderer'),
  base: './',
  plugins: [react()],
  build: {
    outDir: resolve(OUT_DIR, 'renderer'),
    emptyOutDir: true,
    rollupOptions: { input: resolve(import.meta.dirname, 'src/renderer/index.html') },
  },
};

export default defineConfig(rendererConfig);
