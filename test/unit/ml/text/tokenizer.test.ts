/**
 * WordPiece against ids worked out by hand from the vocabulary below (line number = id), following
 * HF BertTokenizer's rules: lower-case, strip accents, split punctuation (ASCII symbols count),
 * CJK characters alone, greedy longest match with "##", [UNK] for a word that cannot be covered
 * or is longer than 100 characters.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WordPieceTokenizer } from '../../../../src/main/ml/text/tokenizer';
import { TextModelError } from '../../../../src/main/ml/text/config';

const VOCAB = [
  '[PAD]', //  0
  '[UNK]', //  1
  '[CLS]', //  2
  '[SEP]', //  3
  '[MASK]', // 4
  'the', //    5
  'movie', //  6
  'was', //    7
  'un', //     8
  '##believ', // 9
  '##able', // 10
  '!', //     11
  ',', //     12
  '.', //     13
  "'", //     14
  't', //     15
  'don', //   16
  'cafe', //  17
  'naive', // 18
  'great', // 19
  '##s', //   20
  'i', //     21
  'love', //  22
  'it', //    23
  '你', //    24
  '好', //    25
  '$', //     26
  'a', //     27
  '##b', //   28
];

function withVocab<T>(f: (file: string) => T, lines = VOCAB, eol = '\n'): T {
  const dir = mkdtempSync(join(tmpdir(), 'cider-vocab-'));
  try {
    const file = join(dir, 'vocab.txt');
    writeFileSync(file, lines.join(eol) + eol);
    return f(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const tok = withVocab((f) => WordPieceTokenizer.fromVocabFile(f));
const ids = (text: string) => tok.tokenize(text).map((t) => t.id);
const spans = (text: string) => tok.tokenize(text).map((t) => (t.span ? text.slice(t.span[0], t.span[1]) : null));

test('vocab.txt: line number is the id; specials found; CRLF tolerated', () => {
  assert.equal(tok.vocab.get('the'), 5);
  assert.deepEqual([tok.padId, tok.unkId, tok.clsId, tok.sepId, tok.maskId], [0, 1, 2, 3, 4]);
  const crlf = withVocab((f) => WordPieceTokenizer.fromVocabFile(f), VOCAB, '\r\n');
  assert.equal(crlf.vocab.get('movie'), 6);
});

test('a vocabulary without [SEP] is refused, naming the file and token', () => {
  withVocab(
    (f) =>
      assert.throws(
        () => WordPieceTokenizer.fromVocabFile(f),
        (e: Error) => e instanceof TextModelError && e.message.includes(f) && e.message.includes('[SEP]'),
      ),
    VOCAB.filter((t) => t !== '[SEP]'),
  );
});

test('lower-casing and greedy longest-match word pieces', () => {
  assert.deepEqual(ids('The movie was unbelievable!'), [5, 6, 7, 8, 9, 10, 11]);
  assert.deepEqual(
    tok.tokenize('The movie was unbelievable!').map((t) => t.text),
    ['the', 'movie', 'was', 'un', '##believ', '##able', '!'],
  );
  // continuation pieces: "movies" = movie ##s
  assert.deepEqual(ids('MOVIES'), [6, 20]);
});

test('unknown words become one [UNK], including a word only partly covered', () => {
  assert.deepEqual(ids('the zebra'), [5, 1]);
  // un ##believ ##able would match, but no "##x" exists: the whole word is [UNK] (HF is_bad)
  assert.deepEqual(ids('unbelievablex movie'), [1, 6]);
  assert.deepEqual(spans('unbelievablex movie'), ['unbelievablex', 'movie']);
});

test('accents are stripped after NFD (precomposed and combining forms)', () => {
  assert.deepEqual(ids('Café naïve'), [17, 18]);
  assert.deepEqual(ids('Cafe\u0301 NAI\u0308VE'), [17, 18]);
  // the span covers the combining mark too
  assert.deepEqual(spans('Cafe\u0301!'), ['Cafe\u0301', '!']);
});

test('punctuation splits words; ASCII symbols count as punctuation like in HF', () => {
  assert.deepEqual(ids("don't,"), [16, 14, 15, 12]);
  assert.deepEqual(ids('$great'), [26, 19]);
  assert.deepEqual(ids('great...'), [19, 13, 13, 13]);
});

test('whitespace and control characters', () => {
  // tab and no-break space separate words; zero-width space (Cf) and NUL are dropped
  assert.deepEqual(ids('the\tmovie\u00a0was'), [5, 6, 7]);
  assert.deepEqual(ids('mo\u200bvie\u0000'), [6]);
  assert.deepEqual(ids('   '), []);
});

test('CJK ideographs are words of their own', () => {
  assert.deepEqual(ids('你好great'), [24, 25, 19]);
});

test('special tokens written in the text stay whole', () => {
  assert.deepEqual(ids('I love [MASK].'), [21, 22, 4, 13]);
  // lower-case "[mask]" is plain text: [ mask ] -> [UNK]s and punctuation
  assert.deepEqual(ids('[mask]'), [1, 1, 1]);
});

test('words longer than 100 characters are [UNK]', () => {
  const w100 = 'a' + 'b'.repeat(99);
  const ok = ids(w100);
  assert.equal(ok.length, 100);
  assert.deepEqual([ok[0], ok[1], ok[99]], [27, 28, 28]);
  assert.deepEqual(ids(w100 + 'b'), [1]);
});

test('character spans point into the original text', () => {
  const text = '  The  MOVIE was unbelievable!';
  assert.deepEqual(spans(text), ['The', 'MOVIE', 'was', 'un', 'believ', 'able', '!']);
  const t = tok.tokenize(text);
  assert.deepEqual(t[3].span, [17, 19]);
  assert.deepEqual(
    t.map((x) => x.word),
    [0, 1, 2, 3, 3, 3, 4],
  );
  // astral characters take two UTF-16 units; spans stay correct after them
  const emoji = '😀 the movie';
  assert.deepEqual(spans(emoji), ['😀', 'the', 'movie']);
  assert.deepEqual(ids(emoji), [1, 5, 6]);
});

test('MMSA (3, L) layout: ids, attention mask, segment ids; [PAD] fill', () => {
  const e = tok.encode('the movie', 6);
  assert.deepEqual(Array.from(e.ids[0]), [2, 5, 6, 3, 0, 0]);
  assert.deepEqual(Array.from(e.ids[1]), [1, 1, 1, 1, 0, 0]);
  assert.deepEqual(Array.from(e.ids[2]), [0, 0, 0, 0, 0, 0]);
  assert.equal(e.length, 4);
  assert.equal(e.truncated, 0);
  assert.deepEqual(
    e.tokens.map((t) => t.span),
    [null, [0, 3], [4, 9], null, null, null],
  );
  const empty = tok.encode('', 4);
  assert.deepEqual(Array.from(empty.ids[0]), [2, 3, 0, 0]);
  assert.equal(empty.length, 2);
});

test('truncation keeps [CLS] first and [SEP] at length - 1', () => {
  const e = tok.encode('The movie was unbelievable!', 6);
  assert.deepEqual(Array.from(e.ids[0]), [2, 5, 6, 7, 8, 3]);
  assert.deepEqual(Array.from(e.ids[1]), [1, 1, 1, 1, 1, 1]);
  assert.equal(e.length, 6);
  assert.equal(e.truncated, 3);
  assert.throws(() => tok.encode('the', 1), /no room/);
});

test('text pairs: segment id 1 for the second text, longest-first truncation', () => {
  const e = tok.encode('the movie', 8, 'great');
  assert.deepEqual(Array.from(e.ids[0]), [2, 5, 6, 3, 19, 3, 0, 0]);
  assert.deepEqual(Array.from(e.ids[2]), [0, 0, 0, 0, 1, 1, 0, 0]);
  const t = tok.encode('the movie was great', 7, 'great');
  assert.deepEqual(Array.from(t.ids[0]), [2, 5, 6, 7, 3, 19, 3]);
});

test('batch encoding is (B, 3, L) row-major; decode skips specials', () => {
  const { data } = tok.encodeBatch(['the', 'movie was'], 5);
  assert.deepEqual(
    Array.from(data),
    [2, 5, 3, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 2, 6, 7, 3, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0],
  );
  assert.deepEqual(tok.decode([2, 5, 6, 3, 0]), ['the', 'movie']);
});

test('cased vocabularies: do_lower_case false keeps case and accents', () => {
  const cased = withVocab((f) => WordPieceTokenizer.fromVocabFile(f, { doLowerCase: false }));
  assert.deepEqual(
    cased.tokenize('The movie').map((t) => t.id),
    [1, 6],
  );
  assert.deepEqual(
    cased.tokenize('café').map((t) => t.id),
    [1],
  );
});
