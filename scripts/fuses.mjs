// Electron fuses for the packaged app (Electron security checklist, "Electron fuses"), flipped on the
// packaged binary before it is signed. Wiring: electron-builder's `afterPack: 'scripts/fuses.mjs'`
// (this module's default export), or its `electronFuses: ELECTRON_BUILDER_FUSES` option.
//
// - RunAsNode off: the GUI binary cannot be turned into a plain Node by ELECTRON_RUN_AS_NODE. The CLI
//   must therefore not rely on it: `CLI_RUNTIME_FUSES` (RunAsNode on, everything else as strict) is for
//   a separate CLI runtime binary on Windows and Linux, where the fuse wire is in the executable
//   itself (flipCliRuntimeFuses). On macOS the wire lives in the shared Electron Framework, so every
//   executable in the bundle shares the GUI's fuses and the CLI there runs on the system's Node.
// - Cookie encryption on; NODE_OPTIONS and --inspect* off; the app only from app.asar, with the
//   embedded asar integrity check (macOS and Windows; the packager writes the hashes).
// - No browser-process-specific V8 snapshot; file:// gets no extra privileges (the renderer is served
//   from the cider-app:// scheme).
import { join } from 'node:path';
import { flipFuses, FuseV1Options, FuseVersion, getCurrentFuseWire } from '@electron/fuses';

export const GUI_FUSES = Object.freeze({
  version: FuseVersion.V1,
  strictlyRequireAllFuses: true,
  [FuseV1Options.RunAsNode]: false,
  [FuseV1Options.EnableCookieEncryption]: true,
  [FuseV1Options.EnableNodeOptionsEnvironmentVariable]: false,
  [FuseV1Options.EnableNodeCliInspectArguments]: false,
  [FuseV1Options.EnableEmbeddedAsarIntegrityValidation]: true,
  [FuseV1Options.OnlyLoadAppFromAsar]: true,
  [FuseV1Options.LoadBrowserProcessSpecificV8Snapshot]: false,
  [FuseV1Options.GrantFileProtocolExtraPrivileges]: false,
});

/** A CLI runtime binary (Windows/Linux only): runs scripts as Node, otherwise as locked down as the GUI. */
export const CLI_RUNTIME_FUSES = Object.freeze({ ...GUI_FUSES, [FuseV1Options.RunAsNode]: true });

/** The same settings in electron-builder's `electronFuses` shape. */
export const ELECTRON_BUILDER_FUSES = Object.freeze({
  runAsNode: false,
  enableCookieEncryption: true,
  enableNodeOptionsEnvironmentVariable: false,
  enableNodeCliInspectArguments: false,
  enableEmbeddedAsarIntegrityValidation: true,
  onlyLoadAppFromAsar: true,
  loadBrowserProcessSpecificV8Snapshot: false,
  grantFileProtocolExtraPrivileges: false,
});

const ARCH_NAMES = ['ia32', 'x64', 'armv7l', 'arm64', 'universal'];

/** The packaged executable electron-builder's afterPack context points at (the .app bundle on macOS). */
export function packagedExecutable(context) {
  const platform = context.electronPlatformName;
  const name = context.packager.appInfo.productFilename;
  if (platform === 'darwin' || platform === 'mas') return join(context.appOutDir, `${name}.app`);
  if (platform === 'win32') return join(context.appOutDir, `${name}.exe`);
  return join(context.appOutDir, context.packager.executableName ?? name);
}

/** electron-builder afterPack hook: flips the GUI fuses and reads them back to be sure. */
export default async function afterPack(context) {
  const executable = packagedExecutable(context);
  const arch = typeof context.arch === 'number' ? ARCH_NAMES[context.arch] : context.arch;
  await flipFuses(executable, {
    ...GUI_FUSES,
    // an arm64 macOS binary must keep a valid ad-hoc signature until the real signing step
    resetAdHocDarwinSignature: context.electronPlatformName === 'darwin' && arch === 'arm64',
  });
  await verifyFuses(executable, GUI_FUSES);
}

/** Flips the CLI runtime's fuses (a copy of the Electron executable, Windows/Linux). */
export async function flipCliRuntimeFuses(executable) {
  if (executable.includes('.app')) throw new Error(`${executable}: macOS executables share the GUI's fuses`);
  await flipFuses(executable, CLI_RUNTIME_FUSES);
  await verifyFuses(executable, CLI_RUNTIME_FUSES);
}

/** Reads the wire back; a fuse not set as asked (e.g. a wire from an unknown Electron) is an error naming it. */
export async function verifyFuses(executable, expected) {
  const wire = await getCurrentFuseWire(executable);
  const ENABLE = 49;
  const DISABLE = 48;
  for (const [key, want] of Object.entries(expected)) {
    if (!/^\d+$/.test(key)) continue;
    const got = wire[key];
    if (got !== (want ? ENABLE : DISABLE))
      throw new Error(
        `${executable}: fuse ${FuseV1Options[key]} is ${got === undefined ? 'missing' : String.fromCharCode(got)}, expected ${want ? 'on' : 'off'}`,
      );
  }
}
