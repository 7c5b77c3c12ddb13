/**
 * The app's version, read from its package.json. A module of its own so that `cider --version`
 * (and anything else that only needs the version) does not load the app's services, database and
 * ML runtimes to get it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The app's package.json, found upwards from this file: src/main/services in source mode, out/main(/chunks) or out/cli in a build */
function appPackage(): { name: string; version: string } {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name: string; version: string };
      if (pkg.name === 'cider-studio') return pkg;
    }
    const up = dirname(dir);
    if (up === dir) return { name: 'cider-studio', version: 'unknown' };
    dir = up;
  }
}

export const APP_VERSION: string = appPackage().version;
