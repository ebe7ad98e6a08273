// Tokenizer wrapper and converters (GPT-2 BPE, SentencePiece, llama2.c) against known ids and independent reference encoders.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import {
  convertGpt2Tokenizer,
  convertLlama2cTokenizer,
  convertSentencePieceTokenizer,
  loadTokenizer,
  parseSentencePieceModel,
  Tokenizer,
  TokenizerFileError,
  tokenizerFromFiles,
  writeTokenizerFiles,
} from '../../src/data/tokenizer.js';
import { IndexError } from '../../src/util/errors.js';
import { tempDirs } from '../cli-helpers.js';
import { sharedData } from '../helpers.js';

const DATA = sharedData;
const HAVE_DATA = existsSync(DATA);
if (!HAVE_DATA && process.env.CI !== 'true') {
  console.warn(`[tokenizer.test] SKIPPING shared-data tests: ${DATA} is missing (they fail under CI=true)`);
}
if (!HAVE_DATA && process.env.CI === 'true') {
  describe('shared data', () => it('is present under CI', () => expect.fail(`${DATA} is missing; tokenizer tests need ../shared/data`)));
}
const describeData = HAVE_DATA ? describe : describe.skip;
vi.setConfig({ testTimeout: 60_000 }); // converting 32k/50k vocabularies and the quadratic references take seconds

const tmp = tempDirs('lisa-tok');

const SENTENCES = [
  'Hello world!',
  'Once upon a time, there was a little girl named Lily.',
  '  leading spaces,   runs of spaces and a trailing space ',
  "I'm sure you've seen it; they'll say we'd done it.",
  'Numbers: 1234567, 3.14159, -42 and 1e10.',
  'naïve café, Ünïcödé — “quotes” … 日本語のテキスト 🤗🚀',
  'tabs\tand\nnew\r\nlines\n\n',
  'Mixed <s> and </s> and <|endoftext|> markers',
];

/** OpenAI's GPT-2 encoder.py, written independently of the library: bytes_to_unicode, the regex, rank-ordered BPE. */
function gpt2Reference(dir: string): (text: string) => number[] {
  const encoder = JSON.parse(readFileSync(join(dir, 'encoder.json'), 'utf8')) as Record<string, number>;
  const ranks = new Map<string, number>();
  readFileSync(join(dir, 'vocab.bpe'), 'utf8')
    .split('\n')
    .slice(1)
    .filter((l) => l.length > 0)
    .forEach((l, i) => ranks.set(l, i));
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const byteChar: string[] = new Array(256);
  bs.forEach((b) => (byteChar[b] = String.fromCharCode(b)));
  let n = 0;
  for (let b = 0; b < 256; b++) if (byteChar[b] === undefined) byteChar[b] = String.fromCharCode(256 + n++);
  const pat = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;
  const bpe = (token: string): string[] => {
    let word = Array.from(token);
    for (;;) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i + 1 < word.length; i++) {
        const r = ranks.get(`${word[i]} ${word[i + 1]}`);
        if (r !== undefined && r < bestRank) [best, bestRank] = [i, r];
      }
      if (best < 0) return word;
      const [a, b] = [word[best], word[best + 1]];
      const next: string[] = [];
      for (let i = 0; i < word.length; i++) {
        if (i + 1 < word.length && word[i] === a && word[i + 1] === b) {
          next.push(a + b);
          i++;
        }
        else next.push(word[i]!);
      }
      word = next;
    }
  };
  return (text) =>
    (text.match(pat) ?? []).flatMap((tok) => bpe(Array.from(Buffer.from(tok, 'utf8'), (b) => byteChar[b]).join('')).map((t) => encoder[t]!));
}

/**
 * llama2.c run.c's encode(), transcribed: dummy prefix " ", per-UTF-8-character lookup with byte fallback (id
 * byte+3), then repeatedly merge the adjacent pair whose concatenation has the best score (leftmost on ties).
 * `space` is how the vocabulary writes a space (" " in llama2.c files, "▁" in SentencePiece models).
 */
function runcEncoder(vocab: string[], scores: number[], space = ' '): (text: string, bos: boolean) => number[] {
  const lookup = new Map<string, number>();
  vocab.forEach((v, i) => {
    if (!lookup.has(v)) lookup.set(v, i);
  });
  return (text, bos) => runcEncode(vocab, scores, lookup, text, bos, space);
}

function runcEncode(vocab: string[], scores: number[], lookup: Map<string, number>, text: string, bos: boolean, space: string): number[] {
  const tokens: number[] = [];
  if (bos) tokens.push(1);
  if (text.length > 0) tokens.push(lookup.get(space)!);
  for (const ch of text) {
    const id = lookup.get(ch === ' ' ? space : ch);
    if (id !== undefined) tokens.push(id);
    else for (const b of Buffer.from(ch, 'utf8')) tokens.push(b + 3);
  }
  for (;;) {
    let bestScore = -1e10;
    let bestId = -1;
    let bestIdx = -1;
    for (let i = 0; i + 1 < tokens.length; i++) {
      const id = lookup.get(vocab[tokens[i]!]! + vocab[tokens[i + 1]!]!);
      if (id !== undefined && scores[id]! > bestScore) [bestScore, bestId, bestIdx] = [scores[id]!, id, i];
    }
    if (bestIdx < 0) return tokens;
    tokens.splice(bestIdx, 2, bestId);
  }
}

/** Reads a llama2.c tokenizer.bin independently of the converter. */
function readTok512(path: string): { vocab: string[]; scores: number[] } {
  const buf = readFileSync(path);
  const vocab: string[] = [];
  const scores: number[] = [];
  for (let off = 4; off < buf.length; ) {
    scores.push(buf.readFloatLE(off));
    const len = buf.readInt32LE(off + 4);
    vocab.push(buf.subarray(off + 8, off + 8 + len).toString('utf8'));
    off += 8 + len;
  }
  return { vocab, scores };
}

describeData('GPT-2 (encoder.json + vocab.bpe)', () => {
  const dir = join(DATA, 'tokenizers/gpt2');
  const tok = HAVE_DATA ? tokenizerFromFiles(convertGpt2Tokenizer(dir)) : (null as unknown as Tokenizer);

  it('encodes known ids', () => {
    expect(tok.encode('Hello world!')).toEqual([15496, 995, 0]);
    expect(tok.encode(' Hello')).toEqual([18435]);
    expect(tok.encode('1234567 3.14')).toEqual([10163, 2231, 3134, 513, 13, 1415]);
    expect(tok.encode('  leading')).toEqual([220, 3756]);
    expect(tok.encode('a<|endoftext|>b')).toEqual([64, 50256, 65]);
  });

  it('has GPT-2 special tokens and adds none when encoding', () => {
    expect(tok.vocabSize).toBe(50257);
    expect([tok.bosId, tok.eosId, tok.unkId, tok.padId]).toEqual([50256, 50256, 50256, null]);
    expect(tok.encode('Hello world!', { addSpecialTokens: true })).toEqual(tok.encode('Hello world!', { addSpecialTokens: false }));
  });

  it('matches an independent encoder.py reference and round-trips', () => {
    const ref = gpt2Reference(dir);
    const shakespeare = readFileSync(join(DATA, 'text/tinyshakespeare.txt'), 'utf8').slice(0, 20000);
    for (const s of [...SENTENCES.filter((x) => !x.includes('<|endoftext|>')), shakespeare]) {
      const ids = tok.encode(s);
      expect(ids).toEqual(ref(s));
      expect(tok.decode(ids)).toBe(s);
    }
  });

  it('decode keeps or skips <|endoftext|>, and rejects ids outside the vocabulary', () => {
    const ids = tok.encode('one<|endoftext|>two');
    expect(tok.decode(ids)).toBe('one<|endoftext|>two');
    expect(tok.decode(ids, { skipSpecialTokens: true })).toBe('onetwo');
    expect(tok.decode([])).toBe('');
    expect(() => tok.decode([50257])).toThrow(IndexError);
    expect(() => tok.decode([-1])).toThrow(/not in the vocabulary/);
  });

  it('streams decoded text piece by piece, holding back split UTF-8 characters', () => {
    for (const s of SENTENCES) {
      const ids = tok.encode(s);
      const st = tok.streamDecoder();
      let out = '';
      for (const id of ids) {
        const piece = st.push(id);
        expect(piece).not.toContain('\uFFFD');
        out += piece;
      }
      out += st.flush();
      expect(out).toBe(s);
    }
  });

  it('writes tokenizer.json + tokenizer_config.json that load back to the same tokenizer', () => {
    const out = tmp();
    writeTokenizerFiles(out, convertGpt2Tokenizer(dir));
    const loaded = loadTokenizer(out);
    for (const s of SENTENCES) expect(loaded.encode(s)).toEqual(tok.encode(s));
    expect(loaded.eosId).toBe(50256);
    expect(loadTokenizer(dir).encode('Hello world!')).toEqual([15496, 995, 0]); // folder auto-detected
  });
});

describeData('Llama-2 SentencePiece (tokenizer.model)', () => {
  const path = join(DATA, 'tokenizers/llama2/tokenizer.model');
  const files = HAVE_DATA ? convertSentencePieceTokenizer(path) : null;
  const tok = files ? tokenizerFromFiles(files) : (null as unknown as Tokenizer);

  it('parses the ModelProto', () => {
    const m = parseSentencePieceModel(readFileSync(path), path);
    expect(m.pieces.length).toBe(32000);
    expect(m.modelType).toBe(2);
    expect(m.byteFallback).toBe(true);
    expect([m.unkId, m.bosId, m.eosId]).toEqual([0, 1, 2]);
    expect(m.pieces.slice(0, 4).map((p) => p.piece)).toEqual(['<unk>', '<s>', '</s>', '<0x00>']);
    expect(m.pieces[15043]!.piece).toBe('▁Hello');
    expect(m.pieces[29871]!.piece).toBe('▁');
  });

  it('encodes known Llama-2 ids', () => {
    expect(tok.encode('Hello')).toEqual([1, 15043]);
    expect(tok.encode('Hello', { addSpecialTokens: false })).toEqual([15043]);
    expect(tok.encode('Hello world')).toEqual([1, 15043, 3186]);
    expect(tok.encode('I believe the meaning of life is')).toEqual([1, 306, 4658, 278, 6593, 310, 2834, 338]);
    expect(tok.encode('Simply put, the theory of relativity states that ')).toEqual([1, 3439, 17632, 1925, 29892, 278, 6368, 310, 14215, 537, 5922, 393, 29871]);
    expect(tok.encode('\n\t')).toEqual([1, 29871, 13, 12]); // byte fallback: <0x0A> = 13, <0x09> = 12
    expect(tok.encode('🤗', { addSpecialTokens: false })).toEqual([29871, 0xf0 + 3, 0x9f + 3, 0xa4 + 3, 0x97 + 3]);
    expect(tok.encode('')).toEqual([1]);
    expect([tok.vocabSize, tok.unkId, tok.bosId, tok.eosId, tok.padId]).toEqual([32000, 0, 1, 2, null]);
    // Pieces named like Object.prototype members are in the vocabulary too (HF tokenizers rejects a merge of a
    // missing piece): "▁constructor" is Llama-2's id 5823.
    expect(Object.keys(files!.tokenizerJson.model.vocab as object)).toHaveLength(32000);
    expect(tok.encode('constructor', { addSpecialTokens: false })).toEqual([5823]);
  });

  it('matches SentencePiece BPE (best-score greedy merges) computed independently', () => {
    const m = parseSentencePieceModel(readFileSync(path), path);
    const vocab = m.pieces.map((p, i) => (p.type === 1 ? p.piece : `\u0000special${i}`)); // only normal pieces merge
    const ref = runcEncoder(vocab, m.pieces.map((p) => p.score), '▁');
    // The reference is quadratic in length: use ~150 sentences of Wikipedia rather than its multi-kB lines.
    const wiki = readFileSync(join(DATA, 'text/wiki_demo.txt'), 'utf8').slice(0, 30000).split(/(?<=\. )/).filter((l) => l.trim());
    for (const s of [...SENTENCES.filter((x) => !/<\/?s>/.test(x)), ...wiki]) {
      expect(tok.encode(s, { addSpecialTokens: false })).toEqual(ref(s, false));
    }
  });

  it('round-trips text, including unicode that needs byte fallback', () => {
    // Text that spells "<s>"/"</s>" is not included: as in HF, it encodes to the special tokens themselves.
    for (const s of SENTENCES.filter((x) => !/<\/?s>/.test(x))) {
      const ids = tok.encode(s);
      expect(tok.decode(ids, { skipSpecialTokens: true })).toBe(s);
      const st = tok.streamDecoder({ skipSpecialTokens: true });
      expect(ids.map((id) => st.push(id)).join('') + st.flush()).toBe(s);
    }
    expect(tok.decode(tok.encode('Hi'))).toBe('<s> Hi');
    expect(tok.encode('Hi</s>', { addSpecialTokens: false })).toEqual([6324, 2]);
  });

  it('has the same tokenizer.json structure as Mistral (SentencePiece BPE in HF form)', () => {
    const mistral = JSON.parse(readFileSync(join(DATA, 'tokenizers/mistral/tokenizer.json'), 'utf8'));
    const ours = files!.tokenizerJson;
    expect(ours.normalizer).toEqual(mistral.normalizer);
    expect(ours.pre_tokenizer).toEqual(mistral.pre_tokenizer);
    expect(ours.decoder).toEqual(mistral.decoder);
    expect(ours.added_tokens).toEqual(mistral.added_tokens);
    expect((ours.post_processor as { single: unknown }).single).toEqual(mistral.post_processor.single);
    for (const k of ['type', 'unk_token', 'byte_fallback', 'fuse_unk']) expect(ours.model[k]).toEqual(mistral.model[k]);
    const mistralTok = loadTokenizer(join(DATA, 'tokenizers/mistral'));
    expect(mistralTok.encode('Hello world')).toEqual([1, 22557, 1526]);
    for (const s of SENTENCES.filter((x) => !/<\/?s>/.test(x))) expect(mistralTok.decode(mistralTok.encode(s), { skipSpecialTokens: true })).toBe(s);
  });
});

describeData('llama2.c tok512.bin (stories260K)', () => {
  const path = join(DATA, 'models/stories260K/tok512.bin');
  const tok = HAVE_DATA ? tokenizerFromFiles(convertLlama2cTokenizer(path)) : (null as unknown as Tokenizer);

  it('matches run.c encode and decodes back to the text', () => {
    const { vocab, scores } = readTok512(path);
    const ref = runcEncoder(vocab, scores);
    const stories = readFileSync(join(DATA, 'text/tinystories_sample.txt'), 'utf8').split('\n').filter((l) => l.trim()).slice(0, 60);
    const extra = ['Once upon a time, there was a little girl named Lily.', 'Tom said, "Look at the big red ball!"', 'zebra café ☃ 42', 'a  b   c'];
    for (const s of [...extra, ...stories]) {
      const ids = tok.encode(s);
      expect(ids).toEqual(ref(s, true));
      expect(tok.decode(ids, { skipSpecialTokens: true })).toBe(s);
    }
    expect(tok.encode('Once upon a time, there was a little girl named Lily.')).toEqual([1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426]);
  });

  it('has llama2.c special ids and byte tokens', () => {
    expect([tok.vocabSize, tok.unkId, tok.bosId, tok.eosId]).toEqual([512, 0, 1, 2]);
    expect(tok.idToToken(3)).toBe('<0x00>');
    expect(tok.idToToken(258)).toBe('<0xFF>');
    expect(tok.idToToken(410)).toBe('▁');
    expect(tok.decode([1, 403, 407, 2], { skipSpecialTokens: true })).toBe('Once upon');
  });

  it('loads from the .bin path', () => {
    expect(loadTokenizer(path).encode('Lily')).toEqual(tok.encode('Lily'));
  });
});

describe('errors name the file and what was expected', () => {
  it('missing path and unknown folder', () => {
    expect(() => loadTokenizer('/nonexistent/tok')).toThrow(TokenizerFileError);
    const empty = tmp();
    expect(() => loadTokenizer(empty)).toThrow(/no tokenizer found; expected tokenizer\.json/);
  });

  it('bad tokenizer.json, truncated SentencePiece and llama2.c files', () => {
    const d = tmp();
    writeFileSync(join(d, 'tokenizer.json'), '{not json');
    expect(() => loadTokenizer(d)).toThrow(/tokenizer\.json.*not valid JSON/);
    writeFileSync(join(d, 'bad.model'), Buffer.from([0x0a, 0x20, 0x0a]));
    expect(() => loadTokenizer(join(d, 'bad.model'))).toThrow(TokenizerFileError);
    writeFileSync(join(d, 'bad.bin'), Buffer.from([7, 0, 0, 0, 0, 0, 0, 0, 100, 0, 0, 0]));
    expect(() => convertLlama2cTokenizer(join(d, 'bad.bin'))).toThrow(/bad\.bin: token 0 has length 100/);
    expect(() => new Tokenizer({} as never)).toThrow(/expected a tokenizer\.json object/);
  });

  it('rejects a SentencePiece Unigram model', () => {
    // ModelProto { pieces: [{piece: "a", score: 0}], trainer_spec: { model_type: UNIGRAM } }
    const d = tmp();
    writeFileSync(join(d, 'uni.model'), Buffer.from([0x0a, 0x03, 0x0a, 0x01, 0x61, 0x12, 0x02, 0x18, 0x01]));
    expect(() => convertSentencePieceTokenizer(join(d, 'uni.model'))).toThrow(/Unigram; only BPE/);
  });
});

describeData('HF slow-tokenizer GPT-2 files (vocab.json + merges.txt)', () => {
  it('are converted like encoder.json + vocab.bpe, only for GPT-2', () => {
    const d = tmp();
    writeFileSync(join(d, 'vocab.json'), readFileSync(join(DATA, 'tokenizers/gpt2/encoder.json')));
    writeFileSync(join(d, 'merges.txt'), readFileSync(join(DATA, 'tokenizers/gpt2/vocab.bpe')));
    expect(loadTokenizer(d).encode('Hello world!')).toEqual([15496, 995, 0]);
    writeFileSync(join(d, 'config.json'), JSON.stringify({ model_type: 'qwen2' }));
    expect(() => loadTokenizer(d)).toThrow(/model_type "qwen2"; expected a tokenizer\.json/);
  });
});
