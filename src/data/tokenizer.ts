// Tokenizer: a thin wrapper over @huggingface/tokenizers (encode/decode/special ids/chat template) and its loaders.

import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { IndexError } from '../util/errors.js';
import { showValue } from '../util/show.js';
import { ChatTemplate, pickChatTemplate, type ChatMessage, type ChatRenderOptions } from './chat-template.js';
import {
  templateProcessing,
  TokenizerFileError,
  type TokenizerConfigJson,
  type TokenizerFiles,
  type TokenizerJson,
} from './tokenizer-convert-common.js';
import { convertGpt2Tokenizer } from './tokenizer-convert-gpt2.js';
import { convertLlama2cTokenizer } from './tokenizer-convert-llama2c.js';
import { convertSentencePieceTokenizer } from './tokenizer-convert-sentencepiece.js';

export { TokenizerFileError } from './tokenizer-convert-common.js';
export type { TokenizerConfigJson, TokenizerFiles, TokenizerJson } from './tokenizer-convert-common.js';
export { convertGpt2Tokenizer } from './tokenizer-convert-gpt2.js';
export { convertLlama2cTokenizer } from './tokenizer-convert-llama2c.js';
export { convertSentencePieceTokenizer, parseSentencePieceModel } from './tokenizer-convert-sentencepiece.js';

export interface EncodeOptions {
  /** Add the model's special tokens (Llama: BOS; GPT-2: none). Default true, as in HF. */
  addSpecialTokens?: boolean;
}
export interface DecodeOptions {
  /** Drop special tokens (BOS, EOS, pad, ...) from the text. Default false. */
  skipSpecialTokens?: boolean;
}

/** Special-token ids from a model's config.json, used when tokenizer_config.json names none. */
export interface ModelSpecialIds {
  bos_token_id?: number | number[] | null;
  eos_token_id?: number | number[] | null;
  pad_token_id?: number | null;
}

export interface TokenizerInit {
  /** Where it came from, for error messages (a folder or file). */
  source?: string;
  modelConfig?: ModelSpecialIds;
}

const tokenString = (v: unknown): string | null =>
  typeof v === 'string' ? v : v !== null && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string' ? (v as { content: string }).content : null;
const firstId = (v: number | number[] | null | undefined): number | null => (Array.isArray(v) ? (v[0] ?? null) : (v ?? null));

/** A text tokenizer with its special tokens and chat template. */
export class Tokenizer {
  readonly source: string;
  /** One more than the largest id (model vocabulary and added tokens): the embedding rows the model needs. */
  readonly vocabSize: number;
  readonly bosId: number | null;
  readonly eosId: number | null;
  /** The pad id if the model defines one; callers usually fall back to eosId. */
  readonly padId: number | null;
  readonly unkId: number | null;
  readonly bosToken: string | null;
  readonly eosToken: string | null;
  /** Ids of all special added tokens (skipped by decode with skipSpecialTokens). */
  readonly specialIds: ReadonlySet<number>;
  /** The model's chat template text, or null when it has none (chatTemplate() then uses the ChatML fallback). */
  readonly chatTemplateText: string | null;
  readonly json: TokenizerJson;
  readonly config: TokenizerConfigJson;
  private readonly hf: HfTokenizer;
  private readonly cleanUpSpaces: boolean;
  private compiledTemplate: ChatTemplate | null = null;

  constructor(json: TokenizerJson, config: TokenizerConfigJson = {}, init: TokenizerInit = {}) {
    this.source = init.source ?? '<tokenizer.json>';
    if (json === null || typeof json !== 'object' || typeof json.model !== 'object' || json.model === null) {
      throw new TokenizerFileError(this.source, 'expected a tokenizer.json object with a "model" object');
    }
    checkIds(this.source, json);
    const full: TokenizerJson = {
      ...json,
      added_tokens: json.added_tokens ?? [],
      normalizer: json.normalizer ?? null,
      pre_tokenizer: json.pre_tokenizer ?? null,
      decoder: json.decoder ?? null,
      post_processor: adjustPostProcessor(json, config),
    };
    // The library reads plain-string special tokens; tokenizer_config may hold {content} objects.
    const hfConfig: Record<string, unknown> = { ...config };
    for (const k of ['bos_token', 'eos_token', 'unk_token', 'pad_token'] as const) hfConfig[k] = tokenString(config[k]) ?? undefined;
    try {
      this.hf = new HfTokenizer(full, hfConfig);
    } catch (e) {
      throw new TokenizerFileError(this.source, `cannot build the tokenizer: ${(e as Error).message}`);
    }
    this.json = json;
    this.config = config;
    // Raw round-trip decoding unless the config explicitly asks for HF's legacy " ." -> "." clean-up.
    this.cleanUpSpaces = config.clean_up_tokenization_spaces === true;

    const vocab = this.hf.get_vocab(true);
    let maxId = -1;
    for (const id of vocab.values()) if (id > maxId) maxId = id;
    this.vocabSize = maxId + 1;
    const idOf = (tok: string | null) => (tok === null ? null : (this.hf.token_to_id(tok) ?? null));
    this.bosToken = tokenString(config.bos_token);
    this.eosToken = tokenString(config.eos_token);
    const mc = init.modelConfig ?? {};
    this.bosId = idOf(this.bosToken) ?? firstId(mc.bos_token_id);
    this.eosId = idOf(this.eosToken) ?? firstId(mc.eos_token_id);
    this.padId = idOf(tokenString(config.pad_token)) ?? firstId(mc.pad_token_id);
    const unk = tokenString(config.unk_token) ?? (typeof json.model.unk_token === 'string' ? json.model.unk_token : null);
    this.unkId = idOf(unk);
    if (this.bosToken === null && this.bosId !== null) this.bosToken = this.hf.id_to_token(this.bosId) ?? null;
    if (this.eosToken === null && this.eosId !== null) this.eosToken = this.hf.id_to_token(this.eosId) ?? null;
    this.specialIds = new Set(full.added_tokens.filter((t) => t.special).map((t) => t.id));
    this.chatTemplateText = pickChatTemplate(config.chat_template, 'default', this.source);
  }

  /** Text to token ids. */
  encode(text: string, opts: EncodeOptions = {}): number[] {
    return this.library('encode', () => this.hf.encode(text, { add_special_tokens: opts.addSpecialTokens ?? true }).ids);
  }

  /** Runs a call into the tokenizers library; its own errors come from a malformed tokenizer file. */
  private library<T>(what: string, f: () => T): T {
    try {
      return f();
    } catch (e) {
      if (e instanceof TokenizerFileError) throw e;
      throw new TokenizerFileError(this.source, `${what} failed inside the tokenizer (${(e as Error)?.name}: ${String((e as Error)?.message).slice(0, 200)}); the tokenizer file is malformed`);
    }
  }

  /** Token ids to text. Throws IndexError for an id outside [0, vocabSize). */
  decode(ids: readonly number[], opts: DecodeOptions = {}): string {
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize || this.hf.id_to_token(id) === undefined) {
        throw new IndexError(`${this.source}: decode: token id ${id} at position ${i} is not in the vocabulary (0..${this.vocabSize - 1})`);
      }
    }
    if (ids.length === 0) return '';
    const skip = opts.skipSpecialTokens ?? false;
    const kept = skip ? ids.filter((id) => !this.specialIds.has(id)) : ids.slice();
    if (kept.length === 0) return '';
    return this.library('decode', () => this.hf.decode(kept, { skip_special_tokens: false, clean_up_tokenization_spaces: this.cleanUpSpaces }));
  }

  /** A token's string in the vocabulary (e.g. "ĠHello", "▁Hello", "<0x0A>"), or undefined. */
  idToToken(id: number): string | undefined {
    return this.hf.id_to_token(id);
  }
  tokenToId(token: string): number | undefined {
    return this.hf.token_to_id(token);
  }

  /** Incremental decoding for generation: push ids one at a time, get the new text (held back mid-UTF-8 character). */
  streamDecoder(opts: DecodeOptions = {}): StreamDecoder {
    return new StreamDecoder(this, opts);
  }

  /** The model's chat template, or the built-in ChatML fallback (see FALLBACK_CHAT_TEMPLATE) when it has none. */
  chatTemplate(): ChatTemplate {
    this.compiledTemplate ??= new ChatTemplate(this.chatTemplateText, `${this.source} (tokenizer_config.json)`);
    return this.compiledTemplate;
  }

  /** True once text was rendered with the built-in ChatML fallback (the model had no chat template): an export of
   *  a model trained on that text must carry the template, or HF's apply_chat_template would not know it. */
  get usedFallbackChatTemplate(): boolean {
    return this.compiledTemplate?.isFallback === true;
  }

  /** Renders messages with the chat template, passing this tokenizer's bos_token and eos_token. */
  applyChatTemplate(messages: readonly ChatMessage[], opts: Omit<ChatRenderOptions, 'bosToken' | 'eosToken'> = {}): string {
    return this.chatTemplate().render(messages, { ...opts, bosToken: this.bosToken ?? '', eosToken: this.eosToken ?? '' });
  }

  /** Writes tokenizer.json and tokenizer_config.json into `dir` (created if needed). */
  save(dir: string): void {
    writeTokenizerFiles(dir, { tokenizerJson: this.json, tokenizerConfig: this.config });
  }
}

/**
 * Streaming decode in the style of text-generation-inference: text is decoded over a short window of ids
 * (so SentencePiece's leading-space stripping and byte-level merges resolve as in a full decode) and only the
 * part that is new and does not end in an incomplete UTF-8 sequence (U+FFFD) is emitted.
 */
export class StreamDecoder {
  private ids: number[] = [];
  private prefixOffset = 0;
  private readOffset = 0;
  constructor(
    private readonly tok: Tokenizer,
    private readonly opts: DecodeOptions = {},
  ) {}

  /** Adds one id; returns the text it completes ('' while a multi-byte character is still incomplete). */
  push(id: number): string {
    this.ids.push(id);
    const prefix = this.tok.decode(this.ids.slice(this.prefixOffset, this.readOffset), this.opts);
    const text = this.tok.decode(this.ids.slice(this.prefixOffset), this.opts);
    // Hold back an incomplete character, but not forever: after 4 pending ids the bytes are really invalid.
    if (text.length > prefix.length && (!text.endsWith('\uFFFD') || this.ids.length - this.readOffset >= 4)) {
      this.prefixOffset = this.readOffset;
      this.readOffset = this.ids.length;
      return text.slice(prefix.length);
    }
    return '';
  }

  /** Emits whatever is still held back. */
  flush(): string {
    const prefix = this.tok.decode(this.ids.slice(this.prefixOffset, this.readOffset), this.opts);
    const text = this.tok.decode(this.ids.slice(this.prefixOffset), this.opts);
    this.prefixOffset = this.readOffset = this.ids.length;
    return text.slice(prefix.length);
  }
}

/**
 * Token ids in model.vocab and added_tokens must be non-negative integers near the number of entries: the
 * library builds id-indexed tables, so an id of 2^31 in a small file would allocate (and walk) 2^31 slots.
 */
function checkIds(file: string, json: TokenizerJson): void {
  const vocab = json.model.vocab;
  const added = json.added_tokens ?? [];
  if (!Array.isArray(added)) throw new TokenizerFileError(file, '"added_tokens" must be a list of {id, content, ...}');
  const entries = vocab !== null && typeof vocab === 'object' ? Object.keys(vocab).length : 0;
  const limit = 2 * (entries + added.length) + 1024;
  const check = (id: unknown, what: string) => {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= limit) {
      throw new TokenizerFileError(file, `${what} has id ${showValue(id)}; expected an integer in [0, ${limit}) for a vocabulary of ${entries} entries and ${added.length} added tokens`);
    }
  };
  if (vocab !== null && typeof vocab === 'object' && !Array.isArray(vocab)) {
    for (const [tok, id] of Object.entries(vocab)) check(id, `model.vocab entry ${showValue(tok)}`);
  }
  added.forEach((t, i) => {
    if (t === null || typeof t !== 'object' || typeof t.content !== 'string') throw new TokenizerFileError(file, `added_tokens[${i}] must be an object with a string "content"`);
    check(t.id, `added_tokens[${i}] (${showValue(t.content)})`);
  });
}

/**
 * transformers' LlamaTokenizerFast rebuilds the post-processor from tokenizer_config's add_bos_token/add_eos_token;
 * do the same when either is given explicitly and the tokenizer.json uses a TemplateProcessing (or none).
 */
function adjustPostProcessor(json: TokenizerJson, config: TokenizerConfigJson): Record<string, unknown> | null {
  const pp = json.post_processor ?? null;
  const explicit = typeof config.add_bos_token === 'boolean' || typeof config.add_eos_token === 'boolean';
  if (!explicit || (pp !== null && pp['type'] !== 'TemplateProcessing')) return pp;
  const idIn = (tok: string | null): [string, number] | null => {
    if (tok === null) return null;
    const added = json.added_tokens?.find((t) => t.content === tok);
    const vocab = json.model.vocab as Record<string, number> | undefined;
    const id = added?.id ?? (vocab && !Array.isArray(vocab) ? vocab[tok] : undefined);
    return id === undefined ? null : [tok, id];
  };
  const bos = config.add_bos_token === true ? idIn(tokenString(config.bos_token)) : null;
  const eos = config.add_eos_token === true ? idIn(tokenString(config.eos_token)) : null;
  if (bos === null && eos === null && pp === null) return null;
  return templateProcessing(bos, eos);
}

function readJson(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new TokenizerFileError(path, `cannot read ${what}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new TokenizerFileError(path, `${what} is not valid JSON: ${(e as Error).message}`);
  }
}

/** A Tokenizer from an in-memory tokenizer.json (+ tokenizer_config.json) pair, e.g. a converter's output. */
export function tokenizerFromFiles(files: TokenizerFiles, init: TokenizerInit = {}): Tokenizer {
  return new Tokenizer(files.tokenizerJson, files.tokenizerConfig, init);
}

/**
 * Loads a tokenizer from a path:
 * - a folder with tokenizer.json (HF; tokenizer_config.json and config.json are read when present),
 * - a folder with tokenizer.model (SentencePiece BPE), or encoder.json + vocab.bpe / vocab.json + merges.txt (GPT-2),
 *   converted in memory,
 * - a file: tokenizer.json, *.model (SentencePiece) or *.bin (llama2.c tokenizer).
 */
export function loadTokenizer(path: string): Tokenizer {
  if (!existsSync(path)) throw new TokenizerFileError(path, 'no such file or folder; expected a tokenizer folder or file');
  const isDir = statSync(path).isDirectory();
  const dir = isDir ? path : join(path, '..');
  const file = (name: string) => join(dir, name);
  const optionalJson = (name: string) => (existsSync(file(name)) ? readJson(file(name), name) : undefined);
  const modelConfig = isDir ? (optionalJson('config.json') as ModelSpecialIds | undefined) : undefined;
  const init: TokenizerInit = { source: path, ...(modelConfig ? { modelConfig } : {}) };

  if (!isDir) {
    const name = basename(path);
    if (name.endsWith('.json')) {
      const cfg = (optionalJson('tokenizer_config.json') ?? {}) as TokenizerConfigJson;
      return new Tokenizer(readJson(path, 'tokenizer.json') as TokenizerJson, cfg, init);
    }
    if (name.endsWith('.model')) return tokenizerFromFiles(convertSentencePieceTokenizer(path), init);
    if (name.endsWith('.bin')) return tokenizerFromFiles(convertLlama2cTokenizer(path), init);
    throw new TokenizerFileError(path, 'unknown tokenizer file; expected tokenizer.json, a SentencePiece .model or a llama2.c .bin');
  }
  const config = optionalJson('tokenizer_config.json') as TokenizerConfigJson | undefined;
  if (config !== undefined && (config === null || typeof config !== 'object' || Array.isArray(config))) {
    throw new TokenizerFileError(file('tokenizer_config.json'), 'expected a JSON object');
  }
  if (existsSync(file('tokenizer.json'))) {
    return new Tokenizer(readJson(file('tokenizer.json'), 'tokenizer.json') as TokenizerJson, config ?? {}, { ...init, source: file('tokenizer.json') });
  }
  let converted: TokenizerFiles | null = null;
  if (existsSync(file('tokenizer.model'))) converted = convertSentencePieceTokenizer(file('tokenizer.model'));
  else if (existsSync(file('encoder.json')) && existsSync(file('vocab.bpe'))) converted = convertGpt2Tokenizer(dir);
  else if (existsSync(file('vocab.json')) && existsSync(file('merges.txt'))) {
    // The slow-tokenizer files of an HF byte-level BPE: only GPT-2's pre-tokenizer regex is known here.
    const type = (modelConfig as { model_type?: unknown } | undefined)?.model_type;
    if (type !== undefined && type !== 'gpt2') {
      throw new TokenizerFileError(path, `vocab.json + merges.txt of model_type ${JSON.stringify(type)}; expected a tokenizer.json (only GPT-2's can be converted)`);
    }
    converted = convertGpt2Tokenizer(file('vocab.json'), file('merges.txt'));
  }
  if (converted === null) {
    throw new TokenizerFileError(path, 'no tokenizer found; expected tokenizer.json, tokenizer.model, or encoder.json + vocab.bpe');
  }
  // A tokenizer_config.json beside a converted model overrides the converter's defaults (e.g. chat_template).
  return new Tokenizer(converted.tokenizerJson, { ...converted.tokenizerConfig, ...(config ?? {}) }, init);
}

/** Writes tokenizer.json and tokenizer_config.json (pretty-printed config, compact tokenizer.json) into `dir`. */
export function writeTokenizerFiles(dir: string, files: TokenizerFiles): void {
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(files.tokenizerJson));
    writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(files.tokenizerConfig, null, 2) + '\n');
  } catch (e) {
    throw new TokenizerFileError(dir, `cannot write tokenizer files: ${(e as Error).message}`);
  }
}
