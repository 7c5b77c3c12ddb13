import assert from 'node:assert/strict';
import { test } from 'node:test';
import { alignToTokens } from '../../../src/main/clips/features/align';
import { AUDIO_FEATURE_NAMES, AUDIO_SAMPLE_RATE, audioFeatures } from '../../../src/main/clips/features/audio';
import { parseTranscript, transcriptWords } from '../../../src/main/clips/transcript';
import { importEaf } from '../../../src/main/clips/eaf';
import { parseXml } from '../../../src/main/clips/xml';

test('audio features: 100 frames per second, YIN finds the pitch of a 150 Hz tone, silence is unvoiced', () => {
  const pcm = new Float32Array(AUDIO_SAMPLE_RATE); // 1 s: tone then silence
  for (let i = 0; i < AUDIO_SAMPLE_RATE / 2; i++) pcm[i] = 0.5 * Math.sin((2 * Math.PI * 150 * i) / AUDIO_SAMPLE_RATE);
  const f = audioFeatures(pcm);
  assert.equal(f.frames, 100);
  const col = (name: string, t: number) => f.data[t * f.dims + AUDIO_FEATURE_NAMES.indexOf(name)];
  assert.ok(Math.abs(col('pitchHz', 25) - 150) < 3, `pitch ${col('pitchHz', 25)}`);
  assert.equal(col('voiced', 25), 1);
  assert.equal(col('voiced', 90), 0);
  assert.ok(col('rms', 25) > 0.2 && col('rms', 90) === 0);
});

test('SRT and WebVTT cues, word timings spread over each cue, alignment averages frames per token', () => {
  const srt = parseTranscript(
    '1\r\n00:00:00,000 --> 00:00:01,000\r\n<i>good</i> film\r\n\r\n2\r\n00:00:01,000 --> 00:00:02,000\r\nbad\r\n',
    'srt',
  );
  assert.deepEqual(
    srt.segments.map((s) => s.text),
    ['good film', 'bad'],
  );
  const vtt = parseTranscript('WEBVTT\n\nNOTE hi\n\n00:01.000 --> 00:02.500 align:start\n<v Ann>hello there\n', 'vtt');
  assert.deepEqual([vtt.segments[0].start, vtt.segments[0].end, vtt.segments[0].text], [1, 2.5, 'hello there']);
  assert.throws(() => parseTranscript('1\nno timing here\n', 'srt', 'x.srt'), /x\.srt: cue 1 has no timing line/);
  const words = transcriptWords(srt.segments);
  assert.deepEqual(
    words.map((w) => [w.text, w.start, w.charStart]),
    [
      ['good', 0, 0],
      ['film', 0.5, 5],
      ['bad', 1, 10],
    ],
  );
  // 2 dims at 10 Hz: value = frame index; a token over [0.5, 1.0] averages frames 5..10
  const frames = new Float32Array(40).map((_, i) => Math.floor(i / 2));
  const aligned = alignToTokens(frames, 10, 2, [
    { text: '[CLS]', word: -1, start: null, end: null },
    { text: 'film', word: 1, start: 0.5, end: 1.0 },
  ]);
  assert.deepEqual(Array.from(aligned), [0, 0, 7.5, 7.5]);
});

test('the .eaf reader: entities, CDATA, REF annotations, unknown tiers listed, bad scores refused', () => {
  const xml = `<?xml version="1.0"?><ANNOTATION_DOCUMENT><HEADER TIME_UNITS="milliseconds"/><TIME_ORDER>
    <TIME_SLOT TIME_SLOT_ID="t1" TIME_VALUE="0"/><TIME_SLOT TIME_SLOT_ID="t2" TIME_VALUE="1500"/></TIME_ORDER>
    <TIER TIER_ID="transcript"><ANNOTATION><ALIGNABLE_ANNOTATION ANNOTATION_ID="a1" TIME_SLOT_REF1="t1" TIME_SLOT_REF2="t2"><ANNOTATION_VALUE>fish &amp; <![CDATA[chips <3]]></ANNOTATION_VALUE></ALIGNABLE_ANNOTATION></ANNOTATION></TIER>
    <TIER TIER_ID="segment sentiment (Ann)"><ANNOTATION><REF_ANNOTATION ANNOTATION_ID="a2" ANNOTATION_REF="a1"><ANNOTATION_VALUE>-1.5</ANNOTATION_VALUE></REF_ANNOTATION></ANNOTATION></TIER>
    <TIER TIER_ID="gesture"/></ANNOTATION_DOCUMENT>`;
  const r = importEaf(xml, []);
  assert.deepEqual(r.segments, [{ index: 0, start: 0, end: 1.5, text: 'fish & chips <3' }]);
  assert.deepEqual(r.annotations, [{ annotator: 'Ann', segment: 0, score: -1.5, note: '', correction: null }]);
  assert.deepEqual(r.ignoredTiers, ['gesture']);
  assert.throws(
    () => importEaf(xml.replace('-1.5', '7'), [], 'a.eaf'),
    /a\.eaf: tier "segment sentiment \(Ann\)" has "7"/,
  );
  assert.throws(() => parseXml('<a><b></a>', 'z.eaf'), /z\.eaf: line 1: <\/a> does not close <b>/);
});
