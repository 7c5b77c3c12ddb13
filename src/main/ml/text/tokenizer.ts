/**
 * WordPiece tokenizer matching Hugging Face's (slow, Python) BertTokenizer, with character spans.
 *
 * Pipeline, as in transformers/models/bert/tokenization_bert.py:
 *   1. special tokens written literally in the text ("[MASK]") are kept whole (HF's added-token trie);
 *   2. BasicTokenizer: drop NUL, U+FFFD and control characters, map whitespace to " ", put spaces
 *      around CJK ideographs, split on whitespace, lower-case, strip accents (NFD then drop Mn),
 *      split on punctuation;
 *   3. WordpieceTokenizer: greedy longest match from the left, continuation pieces prefixed "##";
 *      a word longer than 100 characters, or one that cannot be covered, becomes a single [UNK].
 *
 * Every character of the working text carries the [start, end) range of the original character it
 * came from (UTF-16 indices into the caller's string, so the UI can slice it directly), which is
 * how each token gets its span even after lower-casing or accent stripping changed the characters.
 * Python iterates by code point, so lengths here are code points too (Array.from).
 */
import { readFileSync } from 'node:fs';
import { TextModelError } from './config';

export const SPECIAL_TOKENS = { pad: '[PAD]', unk: '[UNK]', cls: '[CLS]', sep: '[SEP]', mask: '[MASK]' } as const;

export interface TokenizerOptions {
  doLowerCase?: boolean;
  /** undefined: follow doLowerCase (HF's strip_accents=None) */
  stripAccents?: boolean;
  tokenizeChineseChars?: boolean;
  maxInputCharsPerWord?: number;
}

/** One character of the working text and where it came from in the original string. */
interface Unit {
  ch: string;
  start: number;
  end: number;
}

export interface Token {
  text: string;
  id: number;
  /** [start, end) in the original string (UTF-16 indices); null for [CLS]/[SEP]/[PAD] added by encode */
  span: [number, number] | null;
  /** index of the basic-tokenizer word (after punctuation splitting) this piece belongs to; -1 for added specials */
  word: number;
}

export interface Encoded {
  /** MMSA's text_bert layout: row 0 token ids, row 1 attention mask (1 real, 0 pad), row 2 segment ids */
  ids: Int32Array[];
  /** length L: the tokens in the window, including [CLS]/[SEP]/[PAD] */
  tokens: Token[];
  /** number of real tokens ([CLS] ... [SEP]); [SEP] is at length - 1 */
  length: number;
  /** how many word pieces were cut to fit L */
  truncated: number;
}

const CONTROL = /^\p{C}$/u;
const WHITESPACE = /^\p{Zs}$/u;
const PUNCT = /^\p{P}$/u;
const MN = /^\p{Mn}$/u;

function isWhitespace(ch: string): boolean {
  return ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r' || WHITESPACE.test(ch);
}
function isControl(ch: string): boolean {
  if (ch === '\t' || ch === '\n' || ch === '\r') return false;
  return CONTROL.test(ch);
}
function isPunctuation(ch: string): boolean {
  const cp = ch.codePointAt(0)!;
  // HF treats all non-letter/number ASCII as punctuation ("^", "$", "`" are not Unicode P*)
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126))
    return true;
  return PUNCT.test(ch);
}
function isChineseChar(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

function unitsOf(text: string, offset: number): Unit[] {
  const out: Unit[] = [];
  let i = offset;
  for (const ch of text) {
    out.push({ ch, start: i, end: i + ch.length });
    i += ch.length;
  }
  return out;
}

/** Apply a per-string transform to a word, keeping spans. */
function mapWord(word: Unit[], f: (s: string) => string): Unit[] {
  const whole = Array.from(f(word.map((u) => u.ch).join('')));
  // Same length: a 1:1 mapping (keeps context-dependent rules such as the Greek final sigma right).
  if (whole.length === word.length) return whole.map((ch, i) => ({ ch, start: word[i].start, end: word[i].end }));
  const out: Unit[] = [];
  for (const u of word) {
    const mapped = Array.from(f(u.ch));
    // a character that vanishes (a combining accent) widens its neighbour's span, so the
    // highlighted word still covers the whole of "Cafe\u0301"
    if (mapped.length === 0 && out.length) out[out.length - 1].end = u.end;
    for (const ch of mapped) out.push({ ch, start: u.start, end: u.end });
  }
  return out;
}

export class WordPieceTokenizer {
  readonly vocab: Map<string, number>;
  readonly idToToken: string[];
  readonly doLowerCase: boolean;
  readonly stripAccents: boolean;
  readonly tokenizeChineseChars: boolean;
  readonly maxInputCharsPerWord: number;
  readonly padId: number;
  readonly unkId: number;
  readonly clsId: number;
  readonly sepId: number;
  readonly maskId: number | undefined;
  private readonly specials: string[];

  /** `tokens[i]` has id i, as in vocab.txt; `source` only names the vocabulary in errors. */
  constructor(tokens: string[], options: TokenizerOptions = {}, source = 'vocab') {
    this.idToToken = tokens;
    this.vocab = new Map();
    // HF's load_vocab keeps the last line for a duplicated token; so do we
    tokens.forEach((t, i) => this.vocab.set(t, i));
    this.doLowerCase = options.doLowerCase ?? true;
    this.stripAccents = options.stripAccents ?? this.doLowerCase;
    this.tokenizeChineseChars = options.tokenizeChineseChars ?? true;
    this.maxInputCharsPerWord = options.maxInputCharsPerWord ?? 100;
    const need = (t: string): number => {
      const id = this.vocab.get(t);
      if (id === undefined)
        throw new TextModelError(`${source}: special token ${t} is not in the vocabulary`, { file: source, token: t });
      return id;
    };
    this.padId = need(SPECIAL_TOKENS.pad);
    this.unkId = need(SPECIAL_TOKENS.unk);
    this.clsId = need(SPECIAL_TOKENS.cls);
    this.sepId = need(SPECIAL_TOKENS.sep);
    this.maskId = this.vocab.get(SPECIAL_TOKENS.mask);
    this.specials = Object.values(SPECIAL_TOKENS).filter((t) => this.vocab.has(t));
  }

  /** Read vocab.txt (one token per line; the line number is the id). */
  static fromVocabFile(file: string, options: TokenizerOptions = {}): WordPieceTokenizer {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new TextModelError(
        `${file}: cannot read the vocabulary (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
        { file },
      );
    }
    return new WordPieceTokenizer(parseVocab(text), options, file);
  }

  /** Word pieces of `text` with their ids and spans (no [CLS]/[SEP]). */
  tokenize(text: string): Token[] {
    const out: Token[] = [];
    let word = 0;
    for (const seg of this.splitOnSpecials(text)) {
      if (seg.special) {
        out.push({
          text: seg.text,
          id: this.vocab.get(seg.text)!,
          span: [seg.offset, seg.offset + seg.text.length],
          word: word++,
        });
        continue;
      }
      for (const w of this.basicTokenize(seg.text, seg.offset)) {
        for (const piece of this.wordpiece(w)) out.push({ ...piece, word });
        word++;
      }
    }
    return out;
  }

  /**
   * MMSA's (3, L) layout for one text (or a pair: segment id 1 for the second), truncated as HF's
   * 'longest_first' does and padded with [PAD]. The window always ends with [SEP] at length - 1.
   */
  encode(text: string, maxLength: number, textPair?: string): Encoded {
    const special = textPair === undefined ? 2 : 3;
    if (!Number.isInteger(maxLength) || maxLength < special)
      throw new TextModelError(`tokenizer: max length ${maxLength} leaves no room for [CLS] and [SEP]`);
    let a = this.tokenize(text);
    let b = textPair === undefined ? [] : this.tokenize(textPair);
    const total = a.length + b.length;
    // HF longest_first: remove one token at a time from the longer sequence (the first on ties)
    let keepA = a.length;
    let keepB = b.length;
    while (keepA + keepB > maxLength - special) {
      if (keepA > keepB) keepA--;
      else keepB--;
    }
    a = a.slice(0, keepA);
    b = b.slice(0, keepB);
    const cls: Token = { text: SPECIAL_TOKENS.cls, id: this.clsId, span: null, word: -1 };
    const sep: Token = { text: SPECIAL_TOKENS.sep, id: this.sepId, span: null, word: -1 };
    const tokens: Token[] = [cls, ...a, sep];
    const segments: number[] = tokens.map(() => 0);
    if (textPair !== undefined) {
      tokens.push(...b, { ...sep });
      for (let i = 0; i <= b.length; i++) segments.push(1);
    }
    const length = tokens.length;
    while (tokens.length < maxLength) {
      tokens.push({ text: SPECIAL_TOKENS.pad, id: this.padId, span: null, word: -1 });
      segments.push(0);
    }
    const ids = new Int32Array(maxLength);
    const mask = new Int32Array(maxLength);
    const seg = new Int32Array(maxLength);
    for (let i = 0; i < maxLength; i++) {
      ids[i] = tokens[i].id;
      mask[i] = i < length ? 1 : 0;
      seg[i] = segments[i];
    }
    return { ids: [ids, mask, seg], tokens, length, truncated: total - keepA - keepB };
  }

  /** Flat (B * 3 * L) int32 data for a batch, ready for tf.tensor3d(data, [B, 3, L], 'int32'). */
  encodeBatch(texts: string[], maxLength: number): { data: Int32Array; encoded: Encoded[] } {
    const encoded = texts.map((t) => this.encode(t, maxLength));
    const data = new Int32Array(texts.length * 3 * maxLength);
    encoded.forEach((e, b) => e.ids.forEach((row, r) => data.set(row, (b * 3 + r) * maxLength)));
    return { data, encoded };
  }

  decode(ids: ArrayLike<number>, skipSpecial = true): string[] {
    const out: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      const t = this.idToToken[ids[i]] ?? SPECIAL_TOKENS.unk;
      if (skipSpecial && (t === SPECIAL_TOKENS.pad || t === SPECIAL_TOKENS.cls || t === SPECIAL_TOKENS.sep)) continue;
      out.push(t);
    }
    return out;
  }

  private splitOnSpecials(text: string): { text: string; offset: number; special: boolean }[] {
    const out: { text: string; offset: number; special: boolean }[] = [];
    let from = 0;
    let i = 0;
    while (i < text.length) {
      const hit = text[i] === '[' ? this.specials.find((s) => text.startsWith(s, i)) : undefined;
      if (hit) {
        if (i > from) out.push({ text: text.slice(from, i), offset: from, special: false });
        out.push({ text: hit, offset: i, special: true });
        i += hit.length;
        from = i;
      } else i++;
    }
    if (from < text.length) out.push({ text: text.slice(from), offset: from, special: false });
    return out;
  }

  /** HF BasicTokenizer.tokenize, returning words as spanned character units. */
  private basicTokenize(text: string, offset: number): Unit[][] {
    // _clean_text, then _tokenize_chinese_chars: whitespace becomes a break
    const words: Unit[][] = [];
    let cur: Unit[] = [];
    const flush = () => {
      if (cur.length) words.push(cur);
      cur = [];
    };
    for (const u of unitsOf(text, offset)) {
      const cp = u.ch.codePointAt(0)!;
      if (cp === 0 || cp === 0xfffd || isControl(u.ch)) continue;
      if (isWhitespace(u.ch)) flush();
      else if (this.tokenizeChineseChars && isChineseChar(cp)) {
        flush();
        words.push([u]);
      } else cur.push(u);
    }
    flush();
    const out: Unit[][] = [];
    for (let w of words) {
      if (this.doLowerCase) w = mapWord(w, (s) => s.toLowerCase());
      if (this.stripAccents)
        w = mapWord(w, (s) =>
          Array.from(s.normalize('NFD'))
            .filter((c) => !MN.test(c))
            .join(''),
        );
      // HF's NFC step (tokenization_bert.py, "unicode_normalized_text") only changes anything when
      // accents are kept; applied per word it composes base letters with their combining marks.
      else w = mapWord(w, (s) => s.normalize('NFC'));
      // _run_split_on_punc: every punctuation character is a word of its own
      let part: Unit[] = [];
      for (const u of w) {
        if (isPunctuation(u.ch)) {
          if (part.length) out.push(part);
          out.push([u]);
          part = [];
        } else part.push(u);
      }
      if (part.length) out.push(part);
    }
    // accent stripping can empty a word (a lone combining mark); HF's final whitespace_tokenize drops it
    return out.filter((w) => w.length > 0);
  }

  /** HF WordpieceTokenizer on one word. */
  private wordpiece(word: Unit[]): Omit<Token, 'word'>[] {
    const span = (a: number, b: number): [number, number] => [word[a].start, word[b - 1].end];
    if (word.length > this.maxInputCharsPerWord)
      return [{ text: SPECIAL_TOKENS.unk, id: this.unkId, span: span(0, word.length) }];
    const chars = word.map((u) => u.ch);
    const pieces: Omit<Token, 'word'>[] = [];
    let start = 0;
    while (start < chars.length) {
      let end = chars.length;
      let found: string | undefined;
      while (start < end) {
        let sub = chars.slice(start, end).join('');
        if (start > 0) sub = '##' + sub;
        if (this.vocab.has(sub)) {
          found = sub;
          break;
        }
        end--;
      }
      if (found === undefined) return [{ text: SPECIAL_TOKENS.unk, id: this.unkId, span: span(0, word.length) }];
      pieces.push({ text: found, id: this.vocab.get(found)!, span: span(start, end) });
      start = end;
    }
    return pieces;
  }
}

/** vocab.txt lines -> tokens. HF strips only the newline; a trailing \r (Windows editors) is dropped too. */
export function parseVocab(text: string): string[] {
  const lines = text.split('\n');
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  return lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
}
