/**
 * Decoding with ffmpeg into what the feature extractors read: mono float PCM at a fixed sample
 * rate, RGB frames at a fixed frame rate and size, and waveform peaks for the timeline.
 */
import { AppError } from '../../shared/errors';
import { runFfmpeg } from './probe';

/** Mono 32-bit float PCM at `sampleRate`, the first audio stream. */
export async function decodePcm(
  ffmpeg: string,
  file: string,
  sampleRate: number,
  signal?: AbortSignal,
): Promise<Float32Array> {
  const r = await runFfmpeg(
    ffmpeg,
    [
      '-i',
      file,
      '-map',
      '0:a:0',
      '-vn',
      '-ac',
      '1',
      '-ar',
      String(sampleRate),
      '-f',
      'f32le',
      '-acodec',
      'pcm_f32le',
      '-',
    ],
    { signal },
  );
  if (r.code !== 0)
    throw new AppError('INVALID_INPUT', `${file}: cannot decode its audio (${r.stderr.trim().split('\n').pop()})`, {
      file,
    });
  const buf = r.stdout;
  const out = new Float32Array(Math.floor(buf.length / 4));
  for (let i = 0; i < out.length; i++) out[i] = buf.readFloatLE(i * 4);
  return out;
}

export interface FrameSize {
  width: number;
  height: number;
}

/** Fit (w, h) inside `maxSide` keeping the aspect ratio, with even sides (yuv scalers want them). */
export function fitSize(width: number, height: number, maxSide: number): FrameSize {
  const k = Math.min(1, maxSide / Math.max(width, height));
  const even = (x: number) => Math.max(2, 2 * Math.round((x * k) / 2));
  return { width: even(width), height: even(height) };
}

/**
 * RGB24 frames at `fps` (ffmpeg's fps filter: frame i shows time i / fps), scaled to `size`,
 * delivered one by one to `onFrame` in order; resolves with the number of frames.
 */
export async function decodeFrames(
  ffmpeg: string,
  file: string,
  fps: number,
  size: FrameSize,
  onFrame: (rgb: Uint8Array, index: number) => Promise<void> | void,
  signal?: AbortSignal,
): Promise<number> {
  const frameBytes = size.width * size.height * 3;
  let pending: Buffer = Buffer.alloc(0);
  let index = 0;
  let chain = Promise.resolve();
  let failure: unknown;
  const r = await runFfmpeg(
    ffmpeg,
    [
      '-i',
      file,
      '-map',
      '0:v:0',
      '-an',
      '-vf',
      `fps=${fps},scale=${size.width}:${size.height}`,
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgb24',
      '-',
    ],
    {
      signal,
      onStdout: (chunk) => {
        pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
        while (pending.length >= frameBytes) {
          const frame = new Uint8Array(pending.subarray(0, frameBytes));
          pending = pending.subarray(frameBytes);
          const i = index++;
          chain = chain
            .then(() => (failure ? undefined : onFrame(frame, i)))
            .catch((e: unknown) => void (failure ??= e));
        }
      },
    },
  );
  await chain;
  if (failure) throw failure;
  if (r.code !== 0)
    throw new AppError('INVALID_INPUT', `${file}: cannot decode its video (${r.stderr.trim().split('\n').pop()})`, {
      file,
    });
  return index;
}

/** min/max pairs over `points` equal slices of the PCM, for drawing a waveform. */
export function waveformPeaks(pcm: Float32Array, points: number): { min: number[]; max: number[] } {
  const min: number[] = [];
  const max: number[] = [];
  const n = Math.max(1, Math.min(points, pcm.length));
  for (let p = 0; p < n; p++) {
    const a = Math.floor((p * pcm.length) / n);
    const b = Math.max(a + 1, Math.floor(((p + 1) * pcm.length) / n));
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = a; i < b && i < pcm.length; i++) {
      if (pcm[i] < lo) lo = pcm[i];
      if (pcm[i] > hi) hi = pcm[i];
    }
    min.push(Number.isFinite(lo) ? Math.round(lo * 1000) / 1000 : 0);
    max.push(Number.isFinite(hi) ? Math.round(hi * 1000) / 1000 : 0);
  }
  return { min, max };
}
