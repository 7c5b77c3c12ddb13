// electron-builder's afterPack hook (electron-builder.yml): runs when the app folder is assembled
// (dist/<platform>-unpacked), before signing and before any installer is made from it, so what it
// changes ships in every installer.
//
// It sets the app's Electron fuses (the policy and the reason for each: scripts/fuses.mjs) on the
// packaged executable and reads them back. A stand-in Electron (the packaging test's, where the
// binary cannot be downloaded; marked by cider-stand-in.txt) has no fuse wire: nothing is set, and
// the hook says so, with what it would have set.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describeFuses, flipAppFuses, fusesFor, packagedExecutable, verifyFuses } from './fuses.mjs';

export default async function afterPack(context) {
  const platform = context.electronPlatformName;
  const fuses = fusesFor(platform);
  const executable = packagedExecutable(context);
  if (existsSync(join(context.appOutDir, 'cider-stand-in.txt'))) {
    console.log(
      `  • after-pack: SKIPPED, stand-in Electron (no fuse wire in ${executable}); would set fuses: ${describeFuses(fuses)}`,
    );
    return;
  }
  await flipAppFuses(executable, fuses, { platform, arch: context.arch });
  await verifyFuses(executable, fuses);
  console.log(`  • after-pack: fuses set and read back on ${executable}: ${describeFuses(fuses)}`);
}
