/**
 * Text features of a clip: the BERT tokenizer's ids for the transcript in MMSA's (3, L) layout
 * (ids, attention mask, segment ids), and for every token the transcript word it came from with
 * that word's time span, so audio and vision can be aligned to tokens.
 */
import type { TranscriptWord } from '../../../shared/clips';
import type { WordPieceTokenizer } from '../../ml/text/tokenizer';

export const TEXT_EXTRACTOR_VERSION = 'wordpiece-mmsa-v1';
export const DEFAULT_TEXT_LENGTH = 50;

export interface TokenTiming {
  text: string;
  /** index into the transcript's words, -1 for [CLS]/[SEP]/[PAD] */
  word: number;
  start: number | null;
  end: number | null;
}

export interface TextFeatures {
  L: number;
  /** (3, L) */
  ids: number[][];
  length: number;
  truncated: number;
  tokens: TokenTiming[];
  timed: boolean;
}

/** Tokenise `text` (the joined transcript) and map each token to the word whose characters it covers. */
export function textFeatures(
  tokenizer: WordPieceTokenizer,
  text: string,
  words: TranscriptWord[],
  L = DEFAULT_TEXT_LENGTH,
): TextFeatures {
  const enc = tokenizer.encode(text, L);
  const tokens: TokenTiming[] = enc.tokens.map((t) => {
    if (!t.span) return { text: t.text, word: -1, start: null, end: null };
    const [a] = t.span;
    const w = words.findIndex((wd) => a >= wd.charStart && a < wd.charEnd);
    return { text: t.text, word: w, start: w >= 0 ? words[w].start : null, end: w >= 0 ? words[w].end : null };
  });
  return {
    L,
    ids: enc.ids.map((row) => Array.from(row)),
    length: enc.length,
    truncated: enc.truncated,
    tokens,
    timed: words.length > 0 && words.every((w) => w.start !== null),
  };
}
