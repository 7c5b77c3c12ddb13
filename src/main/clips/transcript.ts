/**
 * Transcripts: SRT, WebVTT and plain text, parsed into timed segments and words.
 *
 * SRT/WebVTT give segment (cue) timings only; word timings inside a cue are estimated by spreading
 * the cue's duration over its words in proportion to their length in characters (plus one for the
 * gap), which is what forced-alignment-free tools do and is good to a few hundred milliseconds on
 * read speech. Plain text has no timings: one untimed segment, and word-level alignment is off.
 */
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { AppError } from '../../shared/errors';
import type { TranscriptFormat, TranscriptSegment, TranscriptWord } from '../../shared/clips';

export interface ParsedTranscript {
  format: TranscriptFormat;
  segments: TranscriptSegment[];
  /** true when every segment has start and end times */
  timed: boolean;
}

const TIME = /(?:(\d+):)?(\d{1,2}):(\d{2})[.,](\d{1,3})/;

function seconds(m: RegExpExecArray): number {
  const [, h, mi, s, frac] = m;
  return Number(h ?? 0) * 3600 + Number(mi) * 60 + Number(s) + Number(frac.padEnd(3, '0')) / 1000;
}

/** A cue timing line "00:00:01,000 --> 00:00:02,500" (SRT) or "00:01.000 --> 00:02.500 align:start" (VTT). */
function parseTiming(line: string): [number, number] | null {
  const arrow = line.indexOf('-->');
  if (arrow < 0) return null;
  const a = TIME.exec(line.slice(0, arrow));
  const b = TIME.exec(line.slice(arrow + 3));
  if (!a || !b) return null;
  return [seconds(a), seconds(b)];
}

/** Cue text without markup: VTT voice/class tags, SRT <i>/<b>/<font>, ASS-style {\an8}. */
function cleanCueText(lines: string[]): string {
  return lines
    .join(' ')
    .replace(/<[^>]*>/g, '')
    .replace(/\{\\[^}]*\}/g, '')
    .replace(/&amp;/g, '&')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&nbsp;/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

function parseCues(text: string, file: string, format: 'srt' | 'vtt'): TranscriptSegment[] {
  const blocks = text
    .replace(/^\uFEFF/, '')
    .replace(/\r\n?/g, '\n')
    .split(/\n{2,}/);
  const segments: TranscriptSegment[] = [];
  for (const block of blocks) {
    const lines = block.split('\n').filter((l) => l.trim() !== '');
    if (!lines.length) continue;
    if (format === 'vtt' && (/^WEBVTT/.test(lines[0]) || /^(NOTE|STYLE|REGION)\b/.test(lines[0]))) continue;
    const t = lines.findIndex((l) => l.includes('-->'));
    if (t < 0) {
      throw new AppError(
        'INVALID_INPUT',
        `${file}: cue ${segments.length + 1} has no timing line ("00:00:01,000 --> 00:00:02,000")`,
        { file },
      );
    }
    const timing = parseTiming(lines[t]);
    if (!timing) throw new AppError('INVALID_INPUT', `${file}: cannot read the timing line "${lines[t]}"`, { file });
    if (timing[1] < timing[0])
      throw new AppError('INVALID_INPUT', `${file}: cue "${lines[t]}" ends before it starts`, { file });
    const body = cleanCueText(lines.slice(t + 1));
    if (body) segments.push({ index: segments.length, start: timing[0], end: timing[1], text: body });
  }
  if (!segments.length) throw new AppError('INVALID_INPUT', `${file}: no cues found`, { file });
  segments.sort((a, b) => a.start! - b.start!);
  segments.forEach((s, i) => (s.index = i));
  return segments;
}

export function transcriptFormatOf(file: string): TranscriptFormat {
  const ext = extname(file).toLowerCase();
  if (ext === '.srt') return 'srt';
  if (ext === '.vtt') return 'vtt';
  if (ext === '.txt') return 'txt';
  throw new AppError('INVALID_INPUT', `${file}: transcripts must be .srt, .vtt or .txt`, { file });
}

export function parseTranscript(
  text: string,
  format: TranscriptFormat,
  file = `transcript.${format}`,
): ParsedTranscript {
  if (format === 'txt' || format === 'eaf') {
    const body = text
      .replace(/^\uFEFF/, '')
      .replace(/\s+/g, ' ')
      .trim();
    return { format, segments: body ? [{ index: 0, start: null, end: null, text: body }] : [], timed: false };
  }
  if (format === 'vtt' && !/^\uFEFF?WEBVTT/.test(text))
    throw new AppError('INVALID_INPUT', `${file}: a WebVTT file starts with "WEBVTT"`, { file });
  const segments = parseCues(text, file, format);
  return { format, segments, timed: true };
}

export function readTranscriptFile(file: string): ParsedTranscript {
  const format = transcriptFormatOf(file);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new AppError(
      'INVALID_INPUT',
      `${file}: cannot read the transcript (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      { file },
    );
  }
  return parseTranscript(text, format, file);
}

/** The text a segment stands for now: the correction when there is one. */
export function segmentText(s: TranscriptSegment): string {
  return s.correction ?? s.text;
}

/** The whole transcript as one string (segments joined by a space). */
export function transcriptText(segments: TranscriptSegment[]): string {
  return segments
    .map(segmentText)
    .filter((t) => t.trim())
    .join(' ');
}

/**
 * Words with their character span in transcriptText(segments) and, for timed segments, a time span
 * estimated inside the segment by character length.
 */
export function transcriptWords(segments: TranscriptSegment[]): TranscriptWord[] {
  const words: TranscriptWord[] = [];
  let offset = 0;
  let first = true;
  for (const s of segments) {
    const text = segmentText(s);
    if (!text.trim()) continue;
    if (!first) offset += 1; // the joining space
    first = false;
    const re = /\S+/g;
    const found: { text: string; at: number }[] = [];
    for (let m = re.exec(text); m; m = re.exec(text)) found.push({ text: m[0], at: m.index });
    const weights = found.map((w) => w.text.length + 1);
    const total = weights.reduce((a, b) => a + b, 0);
    let acc = 0;
    for (let i = 0; i < found.length; i++) {
      const w = found[i];
      let start: number | null = null;
      let end: number | null = null;
      if (s.start !== null && s.end !== null) {
        const dur = s.end - s.start;
        start = s.start + (dur * acc) / total;
        end = s.start + (dur * (acc + weights[i] - (i === found.length - 1 ? 0 : 1))) / total;
      }
      acc += weights[i];
      words.push({
        text: w.text,
        segment: s.index,
        charStart: offset + w.at,
        charEnd: offset + w.at + w.text.length,
        start,
        end,
      });
    }
    offset += text.length;
  }
  return words;
}

/** Write segments back out as SRT (for the CSV/EAF round trips and "save corrected transcript"). */
export function toSrt(segments: TranscriptSegment[]): string {
  const ts = (t: number) => {
    const ms = Math.round(t * 1000);
    const h = Math.floor(ms / 3_600_000);
    const m = Math.floor((ms % 3_600_000) / 60_000);
    const s = Math.floor((ms % 60_000) / 1000);
    return `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')},${String(ms % 1000).padStart(3, '0')}`;
  };
  return segments
    .filter((s) => s.start !== null && s.end !== null)
    .map((s, i) => `${i + 1}\n${ts(s.start!)} --> ${ts(s.end!)}\n${segmentText(s)}\n`)
    .join('\n');
}
