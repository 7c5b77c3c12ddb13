/**
 * Where ffmpeg is: a path the user chose (setting or CIDER_FFMPEG), else the binary shipped inside
 * @ffmpeg-installer/ffmpeg, else one on PATH.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { runtimeAssets, toUnpacked } from '../runtime/assets';

const nodeRequire = createRequire(import.meta.url);

export interface FfmpegInfo {
  path: string | null;
  version: string | null;
  source: 'setting' | 'env' | 'bundled' | 'system' | 'none';
}

function versionOf(path: string): string | null {
  const r = spawnSync(path, ['-hide_banner', '-version'], { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0 || !r.stdout) return null;
  const m = /ffmpeg version (\S+)/.exec(r.stdout);
  return m ? m[1] : r.stdout.split('\n')[0];
}

export function findFfmpeg(userPath?: string | null): FfmpegInfo {
  const candidates: [string | undefined | null, FfmpegInfo['source']][] = [
    [userPath, 'setting'],
    [process.env.CIDER_FFMPEG, 'env'],
    [bundledPath(), 'bundled'],
    ['ffmpeg', 'system'],
  ];
  for (const [path, source] of candidates) {
    if (!path) continue;
    if (source !== 'system' && !existsSync(path)) continue;
    const version = versionOf(path);
    if (version) return { path, version, source };
  }
  return { path: null, version: null, source: 'none' };
}

/** The binary @ffmpeg-installer ships for this platform, from the app's (unpacked) node_modules. */
function bundledPath(): string | undefined {
  const own = runtimeAssets().ffmpegBinary();
  if (existsSync(own)) return own;
  try {
    // hoisted elsewhere: ask the package, then leave app.asar (a binary inside it cannot be executed)
    return toUnpacked((nodeRequire('@ffmpeg-installer/ffmpeg') as { path: string }).path);
  } catch {
    return undefined;
  }
}
