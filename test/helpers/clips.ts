/**
 * Real short clips made with ffmpeg for the clips tests: synthetic video (a still of a real face
 * from the face model's own package, or lavfi's testsrc pattern with no face), speech from
 * espeak-ng where it is installed (else a tone), and an SRT transcript with cue timings.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { findFfmpeg } from '../../src/main/media/ffmpeg';

const require = createRequire(import.meta.url);
export const FFMPEG = findFfmpeg().path!;
export const ESPEAK =
  ['/usr/bin/espeak-ng', 'espeak-ng'].find((p) => spawnSync(p, ['--version'], { stdio: 'ignore' }).status === 0) ??
  null;
/** a screenshot shipped in @vladmandic/human's package with one frontal face in it */
export const FACE_SOURCE = join(dirname(require.resolve('@vladmandic/human')), '..', 'assets', 'screenshot-faceid.jpg');

export interface ClipSpec {
  name: string;
  /** what is said; also the SRT text (two cues split at the middle word) */
  words?: string;
  face?: boolean;
  audio?: boolean;
  seconds?: number;
  ext?: '.webm' | '.mp4' | '.mkv' | '.mov';
  srt?: boolean;
}

const ff = (args: string[]) =>
  execFileSync(FFMPEG, ['-hide_banner', '-loglevel', 'error', '-y', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });

export function makeClip(dir: string, spec: ClipSpec): { video: string; srt: string | null } {
  const seconds = spec.seconds ?? 2;
  const ext = spec.ext ?? '.webm';
  const video = join(dir, spec.name + ext);
  const inputs: string[] = [];
  if (spec.face) inputs.push('-loop', '1', '-framerate', '10', '-i', FACE_SOURCE);
  else inputs.push('-f', 'lavfi', '-i', `testsrc=size=160x120:rate=10`);
  let speech: string | null = null;
  if (spec.audio !== false) {
    if (ESPEAK && spec.words) {
      speech = join(dir, `${spec.name}.speech.wav`);
      execFileSync(ESPEAK, ['-s', '220', '-w', speech, spec.words], { stdio: 'ignore' });
      inputs.push('-i', speech);
    } else inputs.push('-f', 'lavfi', '-i', `sine=frequency=220:sample_rate=16000`);
  }
  // the face crop: the screenshot's webcam still (face roughly at 5..185 x 130..310 of 800x564)
  const vf = spec.face ? ['-vf', 'crop=180:180:5:130,scale=160:160,format=yuv420p'] : ['-vf', 'format=yuv420p'];
  const vcodec = ext === '.webm' ? ['-c:v', 'libvpx', '-b:v', '300k'] : ['-c:v', 'libx264', '-preset', 'ultrafast'];
  const acodec = spec.audio === false ? ['-an'] : ext === '.webm' ? ['-c:a', 'libopus'] : ['-c:a', 'aac'];
  // pad the audio with silence so every clip lasts `seconds`
  const af = spec.audio === false ? [] : ['-af', 'apad'];
  ff([
    ...inputs,
    '-t',
    String(seconds),
    ...vf,
    ...af,
    ...vcodec,
    ...acodec,
    '-map',
    '0:v:0',
    ...(spec.audio === false ? [] : ['-map', '1:a:0']),
    video,
  ]);
  let srt: string | null = null;
  if (spec.words && spec.srt !== false) {
    const words = spec.words.split(/\s+/);
    const half = Math.ceil(words.length / 2);
    const speechEnd = Math.min(seconds, 1.6);
    srt = join(dir, spec.name + '.srt');
    writeFileSync(
      srt,
      `1\n00:00:00,100 --> 00:00:00,${String(Math.round((speechEnd / 2) * 1000)).padStart(3, '0')}\n${words.slice(0, half).join(' ')}\n\n2\n00:00:00,${String(Math.round((speechEnd / 2) * 1000)).padStart(3, '0')} --> 00:00:0${Math.floor(speechEnd)},${String(Math.round((speechEnd % 1) * 1000)).padStart(3, '0')}\n${words.slice(half).join(' ')}\n`,
    );
  }
  return { video, srt };
}

/** A file with a video extension that is not a video. */
export function makeBrokenVideo(dir: string, name = 'broken.mp4'): string {
  const f = join(dir, name);
  writeFileSync(f, 'this is not a video, just text with an .mp4 name\n'.repeat(20));
  return f;
}

export const haveFfmpeg = existsSync(FFMPEG ?? '');
