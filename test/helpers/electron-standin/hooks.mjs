// Module resolution hook: the bare specifier "electron" (and electron/main) becomes the stand-in.
const standIn = new URL('./electron.mjs', import.meta.url).href;

export async function resolve(specifier, context, next) {
  if (specifier === 'electron' || specifier === 'electron/main') return { url: standIn, shortCircuit: true };
  return next(specifier, context);
}
