#!/usr/bin/env node
// `npm run web`: build the renderer when its sources are newer than the build, then serve the app
// headless through the CLI's `web` command (arguments pass through: npm run web -- --port 8080).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const built = join(root, 'out/renderer/index.html');

function newest(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

const sources = Math.max(
  newest(join(root, 'src/renderer')),
  newest(join(root, 'src/shared')),
  statSync(join(root, 'vite.web.config.ts')).mtimeMs,
);
if (!existsSync(built) || statSync(built).mtimeMs < sources) {
  console.error('building the user interface...');
  const r = spawnSync(
    process.execPath,
    [
      join(root, 'node_modules/vite/bin/vite.js'),
      'build',
      '--config',
      join(root, 'vite.web.config.ts'),
      '--logLevel',
      'warn',
    ],
    { stdio: 'inherit', cwd: root },
  );
  if (r.status !== 0) process.exit(r.status ?? 1);
}
// serve from this process, so stopping it (even with SIGKILL) stops the server
process.argv.splice(2, 0, 'web');
await import('../bin/cider.mjs');
