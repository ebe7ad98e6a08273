// The tokenizer files of an exported folder (a model or a PEFT adapter): the source's own HF files when it has a
// tokenizer.json, else the converted tokenizer.json + tokenizer_config.json, so that transformers' fast tokenizer
// (and `lisa generate`) loads every export, whatever the run's tokenizer was read from.
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { copyTokenizerFiles } from '../io/hf-folder.js';
import { loadTokenizer, type Tokenizer } from './tokenizer.js';
import { TokenizerFileError } from './tokenizer-convert-common.js';
import { FALLBACK_CHAT_TEMPLATE } from './chat-template.js';

/**
 * Writes the tokenizer into `dst`. `source` is where the run's tokenizer came from (a model folder, a tokenizer
 * folder, or a tokenizer file: tokenizer.json, SentencePiece .model, llama2.c .bin); `tokenizer` is the one the run
 * used, if it loaded one. HF files in a source folder are copied as they are (tokenizer.json, tokenizer_config.json,
 * special_tokens_map.json, tokenizer.model); when that gives no tokenizer.json, the tokenizer (loaded from the source
 * if the run had none: GPT-2's encoder.json + vocab.bpe, a tokenizer.model, a .bin) is saved converted. Returns the
 * files written; [] when there is no tokenizer to export. When the run rendered its data with the built-in ChatML
 * fallback, that template is written into tokenizer_config.json as `chat_template`.
 */
export function exportTokenizer(dst: string, source: string | null | undefined, tokenizer: Tokenizer | null = null): string[] {
  const files = writeTokenizer(dst, source, tokenizer);
  if (tokenizer?.usedFallbackChatTemplate && files.length > 0) {
    addChatTemplate(dst, FALLBACK_CHAT_TEMPLATE);
    return [...new Set([...files, 'tokenizer_config.json'])];
  }
  return files;
}

/** Sets `chat_template` in dst/tokenizer_config.json (created when absent), keeping its other keys. */
function addChatTemplate(dst: string, template: string): void {
  const path = join(dst, 'tokenizer_config.json');
  const config: unknown = existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')) : {};
  writeFileSync(path, `${JSON.stringify({ ...(config as Record<string, unknown>), chat_template: template }, null, 2)}\n`);
}

function writeTokenizer(dst: string, source: string | null | undefined, tokenizer: Tokenizer | null): string[] {
  const isDir = source ? existsSync(source) && statSync(source).isDirectory() : false;
  const copied = source && isDir ? copyTokenizerFiles(source, dst) : [];
  if (copied.includes('tokenizer.json')) return copied;
  let tok = tokenizer;
  if (tok === null && source) {
    try {
      tok = loadTokenizer(source);
    } catch (e) {
      if (e instanceof TokenizerFileError) return copied; // the source has no tokenizer (a model trained on token ids)
      throw e;
    }
  }
  if (tok === null) return copied;
  tok.save(dst);
  return [...new Set([...copied, 'tokenizer.json', 'tokenizer_config.json'])];
}
