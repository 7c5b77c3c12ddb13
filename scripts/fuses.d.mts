// Types for scripts/fuses.mjs (imported by its test).
export interface AfterPackContext {
  appOutDir: string;
  electronPlatformName: string;
  arch: number | string;
  packager: { appInfo: { productFilename: string }; executableName?: string };
}
export const GUI_FUSES: Readonly<Record<string, unknown>>;
export const CLI_RUNTIME_FUSES: Readonly<Record<string, unknown>>;
export const ELECTRON_BUILDER_FUSES: Readonly<Record<string, boolean>>;
export function packagedExecutable(context: AfterPackContext): string;
export default function afterPack(context: AfterPackContext): Promise<void>;
export function flipCliRuntimeFuses(executable: string): Promise<void>;
export function verifyFuses(executable: string, expected: Readonly<Record<string, unknown>>): Promise<void>;
