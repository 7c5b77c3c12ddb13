// Types for scripts/worker-unpack.mjs (imported by the desktop bundle test).
export function workerUnpackList(opts: { root: string; outDir?: string }): {
  globs: string[];
  packages: string[];
  files: string[];
};
