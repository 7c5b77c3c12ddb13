// The packaged app's Electron fuses (Electron security checklist, "Electron fuses"): the policy, with
// the reason for each fuse, and the functions that flip them on a packaged executable and read them
// back. Applied by scripts/after-pack.mjs (electron-builder's afterPack: after the app folder is
// assembled, before signing and before any installer is made from it).
//
// Policy: turn off what the app does not use, keep what it does.
//  - RunAsNode ON, on purpose: the `cider` command of the installed app is the app's own executable
//    with ELECTRON_RUN_AS_NODE=1 (resources/bin/cider, cider.cmd; also how `cider` runs on other nodes
//    of a cluster from an installed app), so a user without Node has the command line. The cost:
//    whoever can start the executable can run it as Node. That is the same power as running any
//    program as that user, but on macOS the process carries the app's signature (and the permissions
//    granted to it). Turning it off needs a separate CLI launcher (a Node, or a second Electron binary
//    whose own fuse wire keeps RunAsNode); on macOS every executable of the bundle shares the wire in
//    Electron Framework, so there it would have to be a plain Node.
//  - EnableNodeOptionsEnvironmentVariable OFF, EnableNodeCliInspectArguments OFF: neither the app nor
//    the CLI passes NODE_OPTIONS or --inspect*; both would let an environment variable or an argument
//    inject code into a signed app (this also applies in RunAsNode mode, i.e. to `cider`).
//  - OnlyLoadAppFromAsar ON: the app is only loaded from resources/app.asar, never from a resources/app
//    folder dropped beside it. (Files unpacked into app.asar.unpacked are still read: the fuse decides
//    where the app is searched, not which files it may open.)
//  - EnableEmbeddedAsarIntegrityValidation ON where Electron supports it (macOS, Windows >= Electron
//    30; electron-builder embeds the header hash before afterPack), OFF on Linux, where Electron has no
//    such check. It covers app.asar only: app.asar.unpacked (native assets, out/main and the workers'
//    packages, see scripts/asar-unpack.mjs) is not validated.
//  - EnableCookieEncryption ON (cookies encrypted at rest with the OS keychain; the app keeps no session
//    cookies it must read back from older versions).
//  - LoadBrowserProcessSpecificV8Snapshot OFF (no custom snapshot), GrantFileProtocolExtraPrivileges
//    OFF (the renderer comes from the cider-app:// scheme, never from file://).
import { join } from 'node:path';
import { flipFuses, FuseV1Options, FuseVersion, getCurrentFuseWire } from '@electron/fuses';

/** Whether Electron validates app.asar's embedded integrity hash on this platform. */
const asarIntegritySupported = (platform) => platform === 'darwin' || platform === 'mas' || platform === 'win32';

/** The fuses for an app packaged for `platform` (electron-builder's electronPlatformName): name -> on. */
export function fusesFor(platform) {
  return {
    RunAsNode: true,
    EnableCookieEncryption: true,
    EnableNodeOptionsEnvironmentVariable: false,
    EnableNodeCliInspectArguments: false,
    EnableEmbeddedAsarIntegrityValidation: asarIntegritySupported(platform),
    OnlyLoadAppFromAsar: true,
    LoadBrowserProcessSpecificV8Snapshot: false,
    GrantFileProtocolExtraPrivileges: false,
  };
}

/** `RunAsNode=on, EnableCookieEncryption=on, ...` */
export function describeFuses(fuses) {
  return Object.entries(fuses)
    .map(([name, on]) => `${name}=${on ? 'on' : 'off'}`)
    .join(', ');
}

const ARCH_NAMES = ['ia32', 'x64', 'armv7l', 'arm64', 'universal'];

/** The packaged executable an afterPack context points at (the .app bundle on macOS). */
export function packagedExecutable(context) {
  const platform = context.electronPlatformName;
  const name = context.packager.appInfo.productFilename;
  if (platform === 'darwin' || platform === 'mas') return join(context.appOutDir, `${name}.app`);
  if (platform === 'win32') return join(context.appOutDir, `${name}.exe`);
  return join(context.appOutDir, context.packager.executableName ?? name);
}

/** Flips `fuses` (name -> on) on `executable`. */
export async function flipAppFuses(executable, fuses, { platform, arch } = {}) {
  const config = { version: FuseVersion.V1 };
  for (const [name, on] of Object.entries(fuses)) {
    if (!(name in FuseV1Options)) throw new Error(`unknown Electron fuse "${name}" (@electron/fuses FuseV1Options)`);
    config[FuseV1Options[name]] = on;
  }
  const archName = typeof arch === 'number' ? ARCH_NAMES[arch] : arch;
  // an arm64 macOS binary must keep a valid ad-hoc signature until the real signing step
  config.resetAdHocDarwinSignature = platform === 'darwin' && archName === 'arm64';
  await flipFuses(executable, config);
}

/** The fuses as set in `executable`'s wire: name -> on (undefined when the wire has no such fuse). */
export async function readFuses(executable) {
  const wire = await getCurrentFuseWire(executable);
  const ENABLE = 49; // '1'
  const read = {};
  for (const [name, index] of Object.entries(FuseV1Options)) {
    if (typeof index !== 'number') continue; // the enum's reverse entries
    read[name] = wire[index] === undefined ? undefined : wire[index] === ENABLE;
  }
  return read;
}

/** Reads the wire back; a fuse not set as asked is an error naming it. */
export async function verifyFuses(executable, expected) {
  const read = await readFuses(executable);
  const wrong = Object.entries(expected).filter(([name, on]) => read[name] !== on);
  if (wrong.length)
    throw new Error(
      `${executable}: ${wrong.map(([name, on]) => `fuse ${name} is ${read[name] === undefined ? 'missing' : read[name] ? 'on' : 'off'}, expected ${on ? 'on' : 'off'}`).join('; ')}`,
    );
}
