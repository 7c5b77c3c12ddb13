/**
 * The 'clips.extract' job: text, audio and vision features for a list of clips, one clip after
 * another with progress per clip, reusing each clip's cached streams when the extractor version and
 * the source are unchanged. Features are written under <dataDir>/clips/<id>/features; main records
 * them in SQLite when the job ends (services/clips.ts), however it ended, so clips finished before
 * a cancel keep their features.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { AppError } from '../../../shared/errors';
import type { ClipExtractSummary, ClipsExtractResult, JobParams } from '../../../shared/jobs';
import { extractClip } from '../../clips/features/extract';
import { loadFaceDetector } from '../../ml/backends/face';
import { WordPieceTokenizer } from '../../ml/text/tokenizer';
import type { TaskContext } from '../protocol';

/** vocab.txt of a BERT folder (or the file itself), with do_lower_case from tokenizer_config.json. */
export function loadClipTokenizer(bertDir: string): { tokenizer: WordPieceTokenizer; id: string } {
  const isFile = existsSync(bertDir) && statSync(bertDir).isFile();
  const vocab = isFile ? bertDir : join(bertDir, 'vocab.txt');
  let doLowerCase = true;
  const cfg = join(isFile ? join(bertDir, '..') : bertDir, 'tokenizer_config.json');
  if (existsSync(cfg)) {
    try {
      const c = JSON.parse(readFileSync(cfg, 'utf8')) as { do_lower_case?: boolean };
      if (typeof c.do_lower_case === 'boolean') doLowerCase = c.do_lower_case;
    } catch {
      // a broken tokenizer_config.json: BERT's default (lower-case) is what HF falls back to as well
    }
  }
  const tokenizer = WordPieceTokenizer.fromVocabFile(vocab, { doLowerCase });
  const id = createHash('sha256').update(readFileSync(vocab)).update(String(doLowerCase)).digest('hex').slice(0, 12);
  return { tokenizer, id };
}

export async function clipsExtractTask(
  p: JobParams<'clips.extract'>,
  ctx: TaskContext<'clips.extract'>,
): Promise<ClipsExtractResult> {
  const tokenizer = p.bertDir ? loadClipTokenizer(p.bertDir) : null;
  if (!tokenizer)
    ctx.log('warn', 'no BERT vocabulary chosen: the text stream is skipped (set one with --bert or in the Clips view)');
  const n = p.clips.length;
  const out: ClipExtractSummary[] = [];
  const failed: ClipsExtractResult['failed'] = [];
  for (let i = 0; i < n; i++) {
    ctx.throwIfCancelled();
    const clip = p.clips[i];
    const report = (f: number, step: string) =>
      ctx.progress((i + f) / n, `clip ${i + 1}/${n} ${clip.name}: ${step}`, {
        clipId: clip.id,
        clipIndex: i,
        clips: n,
      });
    report(0, 'starting');
    try {
      const s = await extractClip(clip, {
        dataDir: ctx.dataDir,
        ffmpeg: p.ffmpeg,
        modalities: p.modalities,
        tokenizer,
        textLength: p.textLength,
        visionRate: p.visionRate,
        face: loadFaceDetector,
        force: p.force,
        signal: ctx.signal,
        onStep: (f, step) => report(f, step),
      });
      out.push(s);
      const parts = Object.entries(s.streams).map(
        ([m, st]) =>
          `${m} ${st.available ? `${st.frames}x${st.dims}` : `missing (${st.reason})`}${st.cached ? ' (cached)' : ''}`,
      );
      ctx.log('info', `${clip.name}: ${parts.join(', ')}`);
    } catch (e) {
      if (ctx.signal.aborted || (e instanceof AppError && e.code === 'CANCELLED')) throw e;
      const message = (e as Error).message;
      failed.push({ clipId: clip.id, name: clip.name, message });
      ctx.log('error', `${clip.name}: ${message}`);
    }
    report(1, 'done');
  }
  // the job succeeds without text: its last word says so, not a plain "done"
  if (!tokenizer && p.modalities.includes('text'))
    ctx.progress(
      1,
      `${out.length} of ${n} clip(s) extracted, text skipped: no BERT folder (choose one in the Clips view or with --bert)`,
      { textSkipped: 'no BERT folder' },
    );
  return { clips: out, failed, ...(tokenizer ? {} : { textSkipped: 'no BERT folder' }) };
}
