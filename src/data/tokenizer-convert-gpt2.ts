// GPT-2's encoder.json + vocab.bpe (OpenAI format) to an HF byte-level BPE tokenizer.json.

import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { addedToken, TokenizerFileError, type TokenizerFiles } from './tokenizer-convert-common.js';

const EOT = '<|endoftext|>';

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new TokenizerFileError(path, `cannot read ${what}: ${(e as Error).message}`);
  }
}

/**
 * Converts GPT-2's OpenAI files to the tokenizer.json that HF's gpt2 uses: byte-level BPE with the GPT-2
 * pre-tokenizer regex (ByteLevel, add_prefix_space false), ByteLevel decoder, and `<|endoftext|>` (50256) as an
 * added special token that is BOS, EOS and UNK. GPT-2 adds no special tokens when encoding.
 * @param dirOrEncoder a folder holding encoder.json and vocab.bpe, or the path of encoder.json
 * @param vocabBpe the path of vocab.bpe when the first argument is encoder.json
 */
export function convertGpt2Tokenizer(dirOrEncoder: string, vocabBpe?: string): TokenizerFiles {
  let encoderPath = dirOrEncoder;
  let mergesPath = vocabBpe;
  if (existsSync(dirOrEncoder) && statSync(dirOrEncoder).isDirectory()) {
    encoderPath = join(dirOrEncoder, 'encoder.json');
    mergesPath = join(dirOrEncoder, 'vocab.bpe');
  }
  if (mergesPath === undefined) throw new TokenizerFileError(dirOrEncoder, 'expected a folder with encoder.json and vocab.bpe, or the vocab.bpe path as second argument');

  let vocab: Record<string, number>;
  try {
    vocab = JSON.parse(readText(encoderPath, 'GPT-2 encoder.json')) as Record<string, number>;
  } catch (e) {
    if (e instanceof TokenizerFileError) throw e;
    throw new TokenizerFileError(encoderPath, `not valid JSON: ${(e as Error).message}`);
  }
  if (vocab === null || typeof vocab !== 'object' || Array.isArray(vocab)) throw new TokenizerFileError(encoderPath, 'expected a JSON object mapping token strings to ids');
  for (const [tok, id] of Object.entries(vocab)) {
    if (!Number.isInteger(id) || id < 0) throw new TokenizerFileError(encoderPath, `token ${JSON.stringify(tok)} has id ${JSON.stringify(id)}; expected a non-negative integer`);
  }

  const merges: [string, string][] = [];
  const lines = readText(mergesPath, 'GPT-2 vocab.bpe').split('\n');
  lines.forEach((line, i) => {
    if (i === 0 && line.startsWith('#version')) return;
    if (line.trim() === '') return;
    const parts = line.split(' ');
    if (parts.length !== 2) throw new TokenizerFileError(mergesPath!, `line ${i + 1} is ${JSON.stringify(line)}; expected two space-separated symbols`);
    merges.push([parts[0]!, parts[1]!]);
  });

  const eotId = vocab[EOT] ?? Math.max(...Object.values(vocab)) + 1;
  return {
    tokenizerJson: {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: [addedToken(eotId, EOT, true, true)],
      normalizer: null,
      pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
      post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
      decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
      model: {
        type: 'BPE',
        dropout: null,
        unk_token: null,
        continuing_subword_prefix: '',
        end_of_word_suffix: '',
        fuse_unk: false,
        byte_fallback: false,
        ignore_merges: false,
        vocab,
        merges,
      },
    },
    tokenizerConfig: {
      tokenizer_class: 'GPT2Tokenizer',
      add_bos_token: false,
      add_prefix_space: false,
      bos_token: EOT,
      eos_token: EOT,
      unk_token: EOT,
      pad_token: null,
      clean_up_tokenization_spaces: false,
      model_max_length: 1024,
    },
  };
}
