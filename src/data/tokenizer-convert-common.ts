// tokenizer.json types, the tokenizer error, and the SentencePiece-BPE (Llama) tokenizer.json builder shared by converters.

import { LisaError } from '../util/errors.js';

/** A bad or missing tokenizer file; the message names the file and says what was expected. */
export class TokenizerFileError extends LisaError {
  /** The file (or folder) at fault, as given by the caller. */
  readonly file: string;
  constructor(file: string, detail: string) {
    super(`${file}: ${detail}`);
    this.file = file;
  }
}

/** One entry of tokenizer.json `added_tokens`. */
export interface AddedTokenJson {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

/** The parts of an HF tokenizer.json this project writes or reads; other components pass through untouched. */
export interface TokenizerJson {
  version?: string;
  truncation?: unknown;
  padding?: unknown;
  added_tokens: AddedTokenJson[];
  normalizer: Record<string, unknown> | null;
  pre_tokenizer: Record<string, unknown> | null;
  post_processor: Record<string, unknown> | null;
  decoder: Record<string, unknown> | null;
  model: { type?: string; vocab?: unknown; merges?: unknown; [key: string]: unknown };
}

/** tokenizer_config.json: special tokens may be strings or AddedToken-like objects ({content}). */
export interface TokenizerConfigJson {
  bos_token?: string | { content: string } | null;
  eos_token?: string | { content: string } | null;
  unk_token?: string | { content: string } | null;
  pad_token?: string | { content: string } | null;
  add_bos_token?: boolean;
  add_eos_token?: boolean;
  clean_up_tokenization_spaces?: boolean;
  chat_template?: string | { name: string; template: string }[] | null;
  tokenizer_class?: string;
  [key: string]: unknown;
}

/** A converted tokenizer: the tokenizer.json object and a matching tokenizer_config.json object. */
export interface TokenizerFiles {
  tokenizerJson: TokenizerJson;
  tokenizerConfig: TokenizerConfigJson;
}

/** An added (special) token entry with HF's defaults. */
export function addedToken(id: number, content: string, special = true, normalized = false): AddedTokenJson {
  return { id, content, single_word: false, lstrip: false, rstrip: false, normalized, special };
}

/** A vocabulary piece with its SentencePiece score and kind. */
export interface ScoredPiece {
  piece: string;
  score: number;
  /** SentencePiece type: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte. */
  type: number;
}

export const SPM_NORMAL = 1;
export const SPM_UNKNOWN = 2;
export const SPM_CONTROL = 3;
export const SPM_USER_DEFINED = 4;
export const SPM_BYTE = 6;

/**
 * BPE merges from SentencePiece scores, as transformers' SentencePieceExtractor.extract does: for every piece (in id
 * order) every split into two pieces that are both in the vocabulary, ordered by (id left, id right); then all merges
 * stably sorted by the merged piece's score, best first. Byte/control/unknown pieces never merge (their splits are
 * not pieces of the model's text alphabet), and we skip them explicitly so that `<0x41>` can never be assembled.
 */
export function mergesFromScores(pieces: readonly ScoredPiece[]): [string, string][] {
  const idOf = new Map<string, number>();
  pieces.forEach((p, i) => {
    if (!idOf.has(p.piece)) idOf.set(p.piece, i);
  });
  const merges: { l: string; r: string; score: number; il: number; ir: number; order: number }[] = [];
  for (const p of pieces) {
    if (p.type !== SPM_NORMAL && p.type !== SPM_USER_DEFINED) continue;
    const chars = Array.from(p.piece); // split by code point, as Python's str slicing does
    const local: (typeof merges)[number][] = [];
    for (let k = 1; k < chars.length; k++) {
      const l = chars.slice(0, k).join('');
      const r = chars.slice(k).join('');
      const il = idOf.get(l);
      const ir = idOf.get(r);
      if (il === undefined || ir === undefined) continue;
      const tl = pieces[il]!.type;
      const tr = pieces[ir]!.type;
      if ((tl !== SPM_NORMAL && tl !== SPM_USER_DEFINED) || (tr !== SPM_NORMAL && tr !== SPM_USER_DEFINED)) continue;
      local.push({ l, r, score: p.score, il, ir, order: 0 });
    }
    local.sort((a, b) => a.il - b.il || a.ir - b.ir);
    for (const m of local) merges.push({ ...m, order: merges.length });
  }
  merges.sort((a, b) => b.score - a.score || a.order - b.order); // stable: ties keep id order
  return merges.map((m) => [m.l, m.r]);
}

/** Options of the Llama-style (SentencePiece BPE with byte fallback) tokenizer.json. */
export interface LlamaJsonOptions {
  unkId: number;
  bosId: number;
  eosId: number;
  /** Add BOS when encoding with special tokens (Llama: true). */
  addBos?: boolean;
  addEos?: boolean;
  /** SentencePiece add_dummy_prefix: prepend "▁" to each text section (default true). */
  addDummyPrefix?: boolean;
  byteFallback?: boolean;
}

/**
 * The HF tokenizer.json of a SentencePiece BPE model in the legacy Llama form (what transformers' LlamaConverter
 * writes): BPE model with merges derived from scores, normalizer Prepend("▁") + Replace(" ", "▁"), no
 * pre-tokenizer, decoder Replace("▁", " ") / ByteFallback / Fuse / Strip(1 leading space), and a
 * TemplateProcessing post-processor that adds BOS (and EOS if asked). Pieces must already use "▁" for spaces.
 */
export function buildLlamaTokenizerJson(pieces: readonly ScoredPiece[], opts: LlamaJsonOptions): TokenizerFiles {
  // A Map, not `piece in {}`: pieces such as "constructor" or "__proto__" are names on Object.prototype.
  const ids = new Map<string, number>();
  pieces.forEach((p, i) => {
    if (!ids.has(p.piece)) ids.set(p.piece, i);
  });
  const vocab = Object.fromEntries(ids) as Record<string, number>;
  const pieceAt = (id: number): string => {
    const p = pieces[id];
    if (p === undefined) throw new RangeError(`special token id ${id} is outside the vocabulary (${pieces.length})`);
    return p.piece;
  };
  const unk = pieceAt(opts.unkId);
  const bos = pieceAt(opts.bosId);
  const eos = pieceAt(opts.eosId);
  // Control and unknown pieces are special added tokens; user-defined pieces are added but not special.
  const added: AddedTokenJson[] = [];
  pieces.forEach((p, i) => {
    if (p.type === SPM_UNKNOWN || p.type === SPM_CONTROL) added.push(addedToken(i, p.piece, true));
    else if (p.type === SPM_USER_DEFINED) added.push(addedToken(i, p.piece, false));
  });
  const addBos = opts.addBos ?? true;
  const addEos = opts.addEos ?? false;
  const dummy = opts.addDummyPrefix ?? true;
  const normalizers: Record<string, unknown>[] = [];
  if (dummy) normalizers.push({ type: 'Prepend', prepend: '▁' });
  normalizers.push({ type: 'Replace', pattern: { String: ' ' }, content: '▁' });
  const decoders: Record<string, unknown>[] = [
    { type: 'Replace', pattern: { String: '▁' }, content: ' ' },
    { type: 'ByteFallback' },
    { type: 'Fuse' },
  ];
  if (dummy) decoders.push({ type: 'Strip', content: ' ', start: 1, stop: 0 });
  const tokenizerJson: TokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: { type: 'Sequence', normalizers },
    pre_tokenizer: null,
    post_processor: templateProcessing(addBos ? [bos, opts.bosId] : null, addEos ? [eos, opts.eosId] : null),
    decoder: { type: 'Sequence', decoders },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: unk,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: opts.byteFallback ?? true,
      ignore_merges: false,
      vocab,
      merges: mergesFromScores(pieces),
    },
  };
  const tokenizerConfig: TokenizerConfigJson = {
    tokenizer_class: 'LlamaTokenizer',
    add_bos_token: addBos,
    add_eos_token: addEos,
    bos_token: bos,
    eos_token: eos,
    unk_token: unk,
    pad_token: null,
    clean_up_tokenization_spaces: false,
    legacy: true,
  };
  return { tokenizerJson, tokenizerConfig };
}

/** A TemplateProcessing post-processor ("<s>:0 $A:0 </s>:0", pair as transformers' LlamaTokenizerFast builds it). */
export function templateProcessing(bos: [string, number] | null, eos: [string, number] | null): Record<string, unknown> {
  const single: unknown[] = [];
  const pair: unknown[] = [];
  const special: Record<string, unknown> = {};
  const tok = (t: [string, number], typeId: number) => ({ SpecialToken: { id: t[0], type_id: typeId } });
  const seq = (id: string, typeId: number) => ({ Sequence: { id, type_id: typeId } });
  if (bos) single.push(tok(bos, 0));
  single.push(seq('A', 0));
  if (eos) single.push(tok(eos, 0));
  if (bos) pair.push(tok(bos, 0));
  pair.push(seq('A', 0));
  if (eos) pair.push(tok(eos, 0));
  if (bos) pair.push(tok(bos, 1));
  pair.push(seq('B', 1));
  if (eos) pair.push(tok(eos, 1));
  for (const t of [bos, eos]) if (t) special[t[0]] = { id: t[0], ids: [t[1]], tokens: [t[0]] };
  return { type: 'TemplateProcessing', single, pair, special_tokens: special };
}
