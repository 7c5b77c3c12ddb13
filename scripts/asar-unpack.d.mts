// Types for scripts/asar-unpack.mjs (imported by the packaging and desktop bundle tests).
export const ASSET_GLOBS: readonly string[];
export function workerUnpackList(opts: { root: string; outDir?: string }): {
  globs: string[];
  packages: string[];
  files: string[];
};
export function asarUnpack(opts: { root: string; outDir?: string }): string[];
export default function config(request: { projectDir: string }): { asarUnpack: string[] };
