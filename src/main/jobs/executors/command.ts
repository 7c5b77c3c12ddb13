/**
 * How to start this app's `cider` somewhere else (a SLURM task, a queue worker's child): the same
 * program and version as the coordinator. CIDER_BIN names an installed launcher (the deb's
 * /usr/bin/cider, or the app's executable with the CLI); otherwise this Node and bin/cider.mjs of
 * this checkout.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface CiderInvocation {
  argv: string[];
  env: Record<string, string>;
}

function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (fs.existsSync(path.join(dir, 'bin', 'cider.mjs'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error('cannot find bin/cider.mjs above the app: set CIDER_BIN to the cider command');
    dir = up;
  }
}

export function ciderInvocation(): CiderInvocation {
  const bin = process.env.CIDER_BIN;
  if (bin) return { argv: [bin], env: {} };
  return { argv: [process.execPath, path.join(packageRoot(), 'bin', 'cider.mjs')], env: {} };
}
