// Types for scripts/after-pack.mjs (imported by its test).
import type { AfterPackContext } from './fuses.mjs';
export default function afterPack(context: AfterPackContext): Promise<void>;
