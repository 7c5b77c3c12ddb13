// Types for scripts/fuses.mjs (imported by its tests).
export interface AfterPackContext {
  appOutDir: string;
  electronPlatformName: string;
  arch: number | string;
  packager: { appInfo: { productFilename: string }; executableName?: string };
}
export type Fuses = Record<string, boolean>;
export function fusesFor(platform: string): Fuses;
export function describeFuses(fuses: Fuses): string;
export function packagedExecutable(context: AfterPackContext): string;
export function flipAppFuses(
  executable: string,
  fuses: Fuses,
  opts?: { platform?: string; arch?: number | string },
): Promise<void>;
export function readFuses(executable: string): Promise<Record<string, boolean | undefined>>;
export function verifyFuses(executable: string, expected: Fuses): Promise<void>;
