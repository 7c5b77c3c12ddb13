// Module resolution hook: the bare specifier "electron" (and electron/main) becomes the stand-in.
const standIn = new URL('./electron.mjs', import.meta.url).href;

// CIDER_STANDIN_BROKEN_NATIVE=better-sqlite3 makes that package fail to load the way a native module
// built for another Node ABI does (ERR_DLOPEN_FAILED), to drive the start-up failure path.
const broken = process.env.CIDER_STANDIN_BROKEN_NATIVE;
const brokenModule =
  'data:text/javascript,' +
  encodeURIComponent(
    `const e = new Error("The module '${broken}.node' was compiled against a different Node.js version using NODE_MODULE_VERSION 999."); e.code = 'ERR_DLOPEN_FAILED'; throw e; export default undefined;`,
  );

export async function resolve(specifier, context, next) {
  if (specifier === 'electron' || specifier === 'electron/main') return { url: standIn, shortCircuit: true };
  if (broken && specifier === broken) return { url: brokenModule, shortCircuit: true };
  return next(specifier, context);
}
