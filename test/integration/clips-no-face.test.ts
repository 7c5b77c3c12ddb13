/**
 * The face track says "no face" where the detector is not confident: synthetic colour-bar and test
 * pattern videos get no face in any frame (the vision stream is missing, with the reason the UI
 * shows), a real face still is found in every frame, and a doubtful detection counts as none.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { extractClip } from '../../src/main/clips/features/extract';
import { confidentFace, FACE_MIN_CONFIDENCE } from '../../src/main/clips/features/vision';
import { loadFaceDetector, type FaceResult } from '../../src/main/ml/backends/face';
import { FACE_SOURCE, FFMPEG } from '../helpers/clips';
import { tempDir } from '../helpers/tmp';

const dir = tempDir('cider-no-face-');

function video(name: string, input: string[], vf = 'format=yuv420p'): string {
  const file = join(dir, `${name}.mp4`);
  execFileSync(FFMPEG, [
    '-hide_banner',
    '-loglevel',
    'error',
    '-y',
    ...input,
    '-t',
    '1',
    '-vf',
    vf,
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    file,
  ]);
  return file;
}

test('a detection below the confidence floor is no face', () => {
  const face = { score: FACE_MIN_CONFIDENCE - 0.01, box: [0, 0, 10, 10] } as unknown as FaceResult;
  assert.equal(confidentFace(face), null);
  assert.equal(confidentFace({ ...face, score: FACE_MIN_CONFIDENCE } as FaceResult)?.score, FACE_MIN_CONFIDENCE);
  assert.equal(confidentFace(null), null);
});

test('colour bars and test patterns get no face; a face still does', async () => {
  const clips = [
    {
      name: 'smptebars',
      path: video('smptebars', ['-f', 'lavfi', '-i', 'smptebars=size=320x240:rate=10']),
      w: 320,
      h: 240,
    },
    {
      name: 'smptehdbars',
      path: video('smptehdbars', ['-f', 'lavfi', '-i', 'smptehdbars=size=1280x720:rate=10']),
      w: 1280,
      h: 720,
    },
    {
      name: 'testsrc2',
      path: video('testsrc2', ['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=10']),
      w: 320,
      h: 240,
    },
    {
      name: 'face',
      path: video(
        'face',
        ['-loop', '1', '-framerate', '10', '-i', FACE_SOURCE],
        'crop=180:180:5:130,scale=160:160,format=yuv420p',
      ),
      w: 160,
      h: 160,
    },
  ];
  const results: Record<string, { available: boolean; reason: string | null; frames: number }> = {};
  for (const [i, c] of clips.entries()) {
    const r = await extractClip(
      { id: i + 1, name: c.name, path: c.path, hasAudio: false, hasVideo: true, width: c.w, height: c.h, segments: [] },
      { dataDir: join(dir, 'data'), ffmpeg: FFMPEG, modalities: ['vision'], tokenizer: null, face: loadFaceDetector },
    );
    results[c.name] = r.streams.vision;
  }
  for (const name of ['smptebars', 'smptehdbars', 'testsrc2']) {
    assert.equal(results[name].available, false, name);
    assert.equal(results[name].reason, 'no face found in any frame', name);
    assert.equal(results[name].frames, 10, `${name}: every frame was looked at`);
  }
  assert.equal(results.face.available, true);
});
