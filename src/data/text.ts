// Plain text for language modelling: a .txt/.md file is one document, a JSONL (or JSON array) file has one
// document per record in a "text" field; each document is tokenized whole and cut into maxLength chunks.
import { extname } from 'node:path';
import type { Tokenizer } from './tokenizer.js';
import type { Example } from './example.js';
import { DataError } from './data-error.js';
import { commonPrefixLength, encodeText, readDataText, readRecords, specialPrefix, stringField, type ColumnMap } from './prompt.js';

export interface TextDocument {
  text: string;
  /** The file, or "file:line" / "file[index]" for a record. */
  where: string;
}

/** True for the extensions read as one plain-text document. */
export function isPlainTextFile(path: string): boolean {
  const ext = extname(path).toLowerCase();
  return ext === '.txt' || ext === '.md';
}

/** The documents of a text dataset (records need a string "text" field). Empty documents are dropped. */
export function readTextDocuments(path: string, columns?: ColumnMap): TextDocument[] {
  if (isPlainTextFile(path)) {
    const text = readDataText(path);
    return text.trim() === '' ? [] : [{ text, where: path }];
  }
  return readRecords(path, columns)
    .map((rec) => ({ text: stringField(rec, 'text'), where: rec.where }))
    .filter((d) => d.text.trim() !== '');
}

/** Texts up to this many characters are encoded in one call; longer ones piece by piece (BPE cost grows faster than linearly). */
export const PIECE_CHARS = 8192;

/**
 * Encodes a long text (no special tokens) in pieces of about PIECE_CHARS characters. Pieces are cut after a newline
 * that is followed by a non-space character, and each piece after the first is encoded behind that newline, whose
 * tokens are then dropped, so a piece is tokenized as in context (no SentencePiece dummy-prefix space). Byte-level
 * BPE and SentencePiece BPE never merge across such a boundary, so the result equals encoding the whole text; a cut
 * without such a newline nearby falls back to the nearest whitespace (or a hard cut), which may tokenize one word
 * differently. Stops early once `maxTokens` ids are produced.
 */
export function encodeLong(tok: Tokenizer, text: string, maxTokens = Infinity): number[] {
  if (text.length <= PIECE_CHARS) return encodeText(tok, text);
  const out: number[] = [];
  for (let start = 0; start < text.length && out.length < maxTokens; ) {
    const end = cutPoint(text, start);
    const piece = text.slice(start, end);
    if (start === 0) {
      out.push(...encodeText(tok, piece));
    } else {
      const context = text[start - 1]!;
      const ctxIds = encodeText(tok, context);
      const ids = encodeText(tok, context + piece);
      out.push(...(commonPrefixLength(ctxIds, ids) === ctxIds.length ? ids.slice(ctxIds.length) : encodeText(tok, piece)));
    }
    start = end;
  }
  return out;
}

function cutPoint(text: string, start: number): number {
  const limit = start + PIECE_CHARS;
  if (limit >= text.length) return text.length;
  const floor = start + PIECE_CHARS / 2;
  for (let i = limit; i > floor; i--) if (text[i - 1] === '\n' && !/\s/.test(text[i]!)) return i;
  for (let i = limit; i > floor; i--) if (/\s/.test(text[i - 1]!) && !/\s/.test(text[i]!)) return i;
  return limit;
}

/**
 * A document as language-modelling examples: [special prefix] + text + [EOS], cut into chunks of maxLength tokens.
 * Consecutive chunks share one token (stride maxLength - 1), so every token after the first is a loss target
 * exactly once (position t predicts t + 1 within a chunk). Every position is learned; nothing is masked. A last
 * chunk of a single token has no target and is dropped.
 * @param maxChunks stop after this many chunks (for `limit`, so a large file is not tokenized whole)
 */
export function textExamples(tok: Tokenizer, text: string, maxLength: number, maxChunks = Infinity): Example[] {
  if (!Number.isInteger(maxLength) || maxLength < 2) throw new DataError(`data.maxLength = ${maxLength}: a text chunk needs at least 2 tokens`);
  const stride = maxLength - 1;
  const maxTokens = Number.isFinite(maxChunks) ? maxChunks * stride + 1 : Infinity;
  const eos = tok.eosId === null ? [] : [tok.eosId];
  const ids = [...specialPrefix(tok), ...encodeLong(tok, text, maxTokens), ...eos];
  const out: Example[] = [];
  for (let s = 0; s + 1 < ids.length && out.length < maxChunks; s += stride) {
    const chunk = ids.slice(s, s + maxLength);
    out.push({ ids: chunk, labels: [...chunk] });
  }
  return out;
}
