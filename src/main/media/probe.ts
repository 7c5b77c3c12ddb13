/**
 * What is in a media file, read from `ffmpeg -i FILE` (the bundled ffmpeg has no ffprobe).
 * A file ffmpeg cannot open, or one without a video stream, is an INVALID_INPUT naming the file.
 */
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { AppError } from '../../shared/errors';

export interface MediaProbe {
  file: string;
  container: string;
  durationSec: number;
  fileSize: number;
  video: { codec: string; width: number; height: number; fps: number | null } | null;
  audio: { codec: string; rate: number; channels: string } | null;
}

/** Run ffmpeg, collect stdout as a Buffer and stderr as text; abortable. */
export function runFfmpeg(
  ffmpeg: string,
  args: string[],
  opts: { signal?: AbortSignal; maxStdout?: number; onStdout?: (chunk: Buffer) => void } = {},
): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(ffmpeg, ['-hide_banner', '-nostdin', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let size = 0;
    let stderr = '';
    let failed: Error | undefined;
    const onAbort = () => child.kill('SIGKILL');
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout.on('data', (c: Buffer) => {
      if (opts.onStdout) return opts.onStdout(c);
      size += c.length;
      if (opts.maxStdout !== undefined && size > opts.maxStdout) {
        failed = new Error(`ffmpeg produced more than ${opts.maxStdout} bytes`);
        child.kill('SIGKILL');
      } else chunks.push(c);
    });
    child.stderr.on('data', (c: Buffer) => {
      if (stderr.length < 200_000) stderr += c.toString();
    });
    child.on('error', (e) =>
      reject(
        new AppError(
          'INVALID_INPUT',
          `cannot run ffmpeg at ${ffmpeg} (${e.message}); set its path in the settings or CIDER_FFMPEG`,
        ),
      ),
    );
    child.on('close', (code) => {
      opts.signal?.removeEventListener('abort', onAbort);
      if (opts.signal?.aborted) return reject(new AppError('CANCELLED', 'cancelled by the user'));
      if (failed) return reject(failed);
      resolve({ code, stdout: Buffer.concat(chunks), stderr });
    });
  });
}

/** Parse the banner ffmpeg prints for its input (exported for tests). */
export function parseProbe(file: string, stderr: string, fileSize: number): MediaProbe {
  const input = /Input #0, ([^,\n]+(?:,[^,\n]+)*?), from/.exec(stderr);
  const dur = /Duration: (\d+):(\d{2}):(\d{2}(?:\.\d+)?)/.exec(stderr);
  let video: MediaProbe['video'] = null;
  let audio: MediaProbe['audio'] = null;
  for (const line of stderr.split('\n')) {
    const s = /Stream #0:\d+(?:\[[^\]]*\])?(?:\([^)]*\))?: (Video|Audio): ([^\n]*)/.exec(line);
    if (!s) continue;
    const codec = s[2].split(/[ ,]/)[0];
    if (s[1] === 'Video' && !video) {
      if (/attached pic/.test(line)) continue; // cover art in an audio file is not a video
      const size = /, (\d{2,5})x(\d{2,5})/.exec(s[2]);
      const fps = /, ([\d.]+) fps/.exec(s[2]) ?? /, ([\d.]+) tbr/.exec(s[2]);
      if (size) video = { codec, width: Number(size[1]), height: Number(size[2]), fps: fps ? Number(fps[1]) : null };
    } else if (s[1] === 'Audio' && !audio) {
      const rate = /, (\d+) Hz/.exec(s[2]);
      const ch = /Hz, ([^,]+)/.exec(s[2]);
      audio = { codec, rate: rate ? Number(rate[1]) : 0, channels: ch ? ch[1].trim() : 'unknown' };
    }
  }
  return {
    file,
    container: input ? input[1] : 'unknown',
    durationSec: dur ? Number(dur[1]) * 3600 + Number(dur[2]) * 60 + Number(dur[3]) : NaN,
    fileSize,
    video,
    audio,
  };
}

function lastErrorLine(stderr: string, file: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const own = lines.filter((l) => l.startsWith(file + ':'));
  const line = own[own.length - 1] ?? lines[lines.length - 1] ?? 'ffmpeg could not read it';
  return line.startsWith(file + ':') ? line.slice(file.length + 1).trim() : line;
}

/** Probe a video file. Throws INVALID_INPUT (message starts with the file) when it is not a usable video. */
export async function probeVideo(ffmpeg: string, file: string, signal?: AbortSignal): Promise<MediaProbe> {
  let size: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new Error('not a file');
    size = st.size;
  } catch (e) {
    throw new AppError(
      'INVALID_INPUT',
      `${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      { file },
    );
  }
  const { stderr } = await runFfmpeg(ffmpeg, ['-i', file], { signal });
  if (!/Input #0/.test(stderr))
    throw new AppError('INVALID_INPUT', `${file}: not a video ffmpeg can read (${lastErrorLine(stderr, file)})`, {
      file,
    });
  const probe = parseProbe(file, stderr, size);
  if (!probe.video)
    throw new AppError('INVALID_INPUT', `${file}: has no video stream${probe.audio ? ' (audio only)' : ''}`, { file });
  if (!Number.isFinite(probe.durationSec) || probe.durationSec <= 0) {
    // some containers (live WebM) carry no duration in the header: decode to find out
    const r = await runFfmpeg(ffmpeg, ['-i', file, '-map', '0:v:0', '-f', 'null', '-'], { signal });
    const times = [...r.stderr.matchAll(/time=(\d+):(\d{2}):(\d{2}(?:\.\d+)?)/g)];
    const t = times[times.length - 1];
    probe.durationSec = t ? Number(t[1]) * 3600 + Number(t[2]) * 60 + Number(t[3]) : 0;
    if (!(probe.durationSec > 0))
      throw new AppError('INVALID_INPUT', `${file}: the video has no frames ffmpeg can decode`, { file });
  }
  return probe;
}
