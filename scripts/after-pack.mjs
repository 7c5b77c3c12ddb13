// electron-builder's afterPack hook (electron-builder.yml): runs when the app folder is assembled
// (dist/<platform>-unpacked), before any installer is made from it, so what it changes ships in
// every installer.
//
// Electron fuses are flipped here. FUSES is the app's fuse policy (engineer SHELL owns its content;
// see @electron/fuses' FuseV1Options). Keep RunAsNode enabled: the `cider` command inside the
// installed app is the app's own executable with ELECTRON_RUN_AS_NODE=1 (resources/bin/cider).
// A stand-in Electron (the packaging test's, marked by cider-stand-in.txt) has no fuse wire: skipped.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** FuseV1Options name -> enabled. Empty: Electron's defaults are left as they are. */
export const FUSES = {};

export function executableOf(context) {
  const { appOutDir, packager, electronPlatformName } = context;
  const name = packager.appInfo.productFilename;
  if (electronPlatformName === 'darwin' || electronPlatformName === 'mas') return join(appOutDir, `${name}.app`);
  const exe = packager.executableName ?? name;
  return join(appOutDir, electronPlatformName === 'win32' ? `${exe}.exe` : exe);
}

export default async function afterPack(context) {
  if (existsSync(join(context.appOutDir, 'cider-stand-in.txt'))) {
    console.log('  • after-pack: stand-in Electron, fuses not flipped');
    return;
  }
  if (Object.keys(FUSES).length === 0) return;
  const { flipFuses, FuseVersion, FuseV1Options } = await import('@electron/fuses');
  const fuses = { version: FuseVersion.V1 };
  for (const [name, enabled] of Object.entries(FUSES)) {
    if (!(name in FuseV1Options)) throw new Error(`after-pack: unknown Electron fuse "${name}"`);
    fuses[FuseV1Options[name]] = enabled;
  }
  await flipFuses(executableOf(context), fuses);
}
