// llama2.c tokenizer.bin (e.g. stories260K's tok512.bin) to an HF Llama-style SentencePiece-BPE tokenizer.json.

import { readFileSync } from 'node:fs';
import {
  buildLlamaTokenizerJson,
  SPM_BYTE,
  SPM_CONTROL,
  SPM_NORMAL,
  SPM_UNKNOWN,
  TokenizerFileError,
  type ScoredPiece,
  type TokenizerFiles,
} from './tokenizer-convert-common.js';

/** A llama2.c tokenizer: raw byte strings (spaces as " ", not "▁") and scores, by id. */
export interface Llama2cVocab {
  maxTokenLength: number;
  tokens: Uint8Array[];
  scores: number[];
}

/** Reads llama2.c's format: int32 max_token_length, then per token f32 score, i32 len, len bytes (little-endian). */
export function readLlama2cTokenizer(path: string): Llama2cVocab {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    throw new TokenizerFileError(path, `cannot read llama2.c tokenizer: ${(e as Error).message}`);
  }
  if (buf.length < 4) throw new TokenizerFileError(path, `file has ${buf.length} bytes; expected an int32 max_token_length header`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const maxTokenLength = dv.getInt32(0, true);
  const tokens: Uint8Array[] = [];
  const scores: number[] = [];
  let off = 4;
  while (off < buf.length) {
    if (off + 8 > buf.length) throw new TokenizerFileError(path, `token ${tokens.length} header truncated at byte ${off}; expected f32 score + i32 length`);
    const score = dv.getFloat32(off, true);
    const len = dv.getInt32(off + 4, true);
    off += 8;
    if (len < 0 || off + len > buf.length) throw new TokenizerFileError(path, `token ${tokens.length} has length ${len} at byte ${off - 4}, past the end of the file`);
    tokens.push(buf.subarray(off, off + len));
    scores.push(score);
    off += len;
  }
  if (tokens.length < 259) throw new TokenizerFileError(path, `${tokens.length} tokens; expected at least 259 (<unk>, BOS, EOS and 256 byte tokens)`);
  return { maxTokenLength, tokens, scores };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Converts a llama2.c tokenizer to the Llama tokenizer.json form. Id 0 is `<unk>`, 1 BOS (`\n<s>\n` in the file,
 * `<s>` here), 2 EOS (`</s>`), 3..258 the byte tokens `<0x00>`..`<0xFF>`; the other pieces have their spaces
 * written back as "▁". Encoding then matches run.c's encode (dummy prefix space, greedy best-score pair merges,
 * byte fallback to id byte+3): the scores are unique and merges are ranked by them, so both pick the same merges.
 */
export function convertLlama2cTokenizer(path: string): TokenizerFiles {
  const vocab = readLlama2cTokenizer(path);
  const pieces: ScoredPiece[] = vocab.tokens.map((bytes, id) => {
    const score = vocab.scores[id]!;
    if (id === 0) return { piece: '<unk>', score: 0, type: SPM_UNKNOWN };
    if (id === 1) return { piece: '<s>', score: 0, type: SPM_CONTROL };
    if (id === 2) return { piece: '</s>', score: 0, type: SPM_CONTROL };
    if (id < 259) {
      const b = id - 3;
      const want = `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`;
      const got = Buffer.from(bytes).toString('latin1');
      if (got !== want) throw new TokenizerFileError(path, `token ${id} is ${JSON.stringify(got)}; expected the byte token ${want}`);
      return { piece: want, score: 0, type: SPM_BYTE };
    }
    let text: string;
    try {
      text = utf8.decode(bytes);
    } catch {
      throw new TokenizerFileError(path, `token ${id} is not valid UTF-8; expected a text piece`);
    }
    return { piece: text.replaceAll(' ', '▁'), score, type: SPM_NORMAL };
  });
  return buildLlamaTokenizerJson(pieces, { unkId: 0, bosId: 1, eosId: 2, byteFallback: true });
}
