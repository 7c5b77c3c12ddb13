/**
 * The 'clips.extract' job without a BERT folder: it succeeds with the audio stream, and its last
 * progress message and result say that text was skipped and why (not a plain "done").
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clipsExtractTask } from '../../../src/main/jobs/tasks/clipsExtract';
import type { TaskContext } from '../../../src/main/jobs/protocol';
import { FFMPEG, haveFfmpeg, makeClip } from '../../helpers/clips';
import { tempDir } from '../../helpers/tmp';

test(
  'extraction without a BERT folder ends with "text skipped: no BERT folder"',
  { skip: !haveFfmpeg && 'no ffmpeg' },
  async () => {
    const dir = tempDir();
    const { video } = makeClip(dir, { name: 'hello', seconds: 1 });
    const messages: string[] = [];
    const logs: string[] = [];
    const ctx: TaskContext = {
      jobId: 1,
      dataDir: dir,
      signal: new AbortController().signal,
      progress: (_f, message) => messages.push(message),
      log: (level, message) => logs.push(`${level} ${message}`),
      throwIfCancelled: () => undefined,
    };
    const result = await clipsExtractTask(
      {
        clips: [
          { id: 1, name: 'hello', path: video, hasAudio: true, hasVideo: true, width: 160, height: 120, segments: [] },
        ],
        ffmpeg: FFMPEG,
        bertDir: null,
        modalities: ['text', 'audio'],
        textLength: 16,
        visionRate: 5,
        force: false,
      },
      ctx,
    );
    assert.equal(result.failed.length, 0);
    assert.equal(result.textSkipped, 'no BERT folder');
    assert.equal(result.clips[0].streams.audio?.available, true);
    assert.match(messages.at(-1)!, /^1 of 1 clip\(s\) extracted, text skipped: no BERT folder/);
    assert.ok(logs.some((l) => l.startsWith('warn no BERT vocabulary')));
  },
);
