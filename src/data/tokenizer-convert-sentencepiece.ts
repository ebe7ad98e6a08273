// SentencePiece tokenizer.model (protobuf ModelProto, parsed by hand) to an HF Llama-style tokenizer.json.

import { readFileSync } from 'node:fs';
import {
  buildLlamaTokenizerJson,
  SPM_NORMAL,
  TokenizerFileError,
  type ScoredPiece,
  type TokenizerFiles,
} from './tokenizer-convert-common.js';

/** The parts of a SentencePiece ModelProto the converter needs. */
export interface SentencePieceModel {
  pieces: ScoredPiece[];
  /** TrainerSpec.model_type: 1 unigram, 2 BPE, 3 word, 4 char. */
  modelType: number;
  byteFallback: boolean;
  unkId: number;
  bosId: number;
  eosId: number;
  padId: number;
  /** NormalizerSpec.add_dummy_prefix (default true). */
  addDummyPrefix: boolean;
  /** NormalizerSpec.remove_extra_whitespaces (default true; Llama: false). Not reproduced by the HF form. */
  removeExtraWhitespaces: boolean;
}

/** Minimal protobuf wire-format reader (varint, 64-bit, length-delimited, 32-bit). */
class ProtoReader {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    readonly file: string,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
  }
  get done(): boolean {
    return this.pos >= this.end;
  }
  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new TokenizerFileError(this.file, `truncated protobuf varint at byte ${this.pos}`);
      const b = this.buf[this.pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
    }
    throw new TokenizerFileError(this.file, `protobuf varint longer than 10 bytes at byte ${this.pos}`);
  }
  /** A varint read as a signed 32-bit int (negative values are sign-extended to 64 bits on the wire). */
  int32(): number {
    return Number(BigInt.asIntN(32, this.varint()));
  }
  /** Returns [start, end) of a length-delimited field. */
  bytes(): [number, number] {
    const len = Number(this.varint());
    const start = this.pos;
    if (start + len > this.end) throw new TokenizerFileError(this.file, `protobuf field of ${len} bytes at byte ${start} runs past its message`);
    this.pos += len;
    return [start, start + len];
  }
  float(): number {
    if (this.pos + 4 > this.end) throw new TokenizerFileError(this.file, `truncated protobuf float at byte ${this.pos}`);
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 4).getFloat32(0, true);
    this.pos += 4;
    return v;
  }
  key(): { field: number; wire: number } {
    const k = Number(this.varint());
    return { field: k >>> 3, wire: k & 7 };
  }
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1 || wire === 5) {
      const n = wire === 1 ? 8 : 4;
      if (this.pos + n > this.end) throw new TokenizerFileError(this.file, `protobuf ${n * 8}-bit field at byte ${this.pos} runs past its message`);
      this.pos += n;
    } else if (wire === 2) this.bytes();
    else throw new TokenizerFileError(this.file, `unsupported protobuf wire type ${wire} at byte ${this.pos}; expected a SentencePiece ModelProto`);
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Parses a SentencePiece ModelProto: pieces (field 1), trainer_spec (2) and normalizer_spec (3); the rest is skipped. */
export function parseSentencePieceModel(buf: Uint8Array, file = '<buffer>'): SentencePieceModel {
  const r = new ProtoReader(buf, file);
  const model: SentencePieceModel = {
    pieces: [],
    modelType: 1,
    byteFallback: false,
    unkId: 0,
    bosId: 1,
    eosId: 2,
    padId: -1,
    addDummyPrefix: true,
    removeExtraWhitespaces: true,
  };
  const str = (s: number, e: number) => {
    try {
      return utf8.decode(buf.subarray(s, e));
    } catch {
      throw new TokenizerFileError(file, `piece at byte ${s} is not valid UTF-8`);
    }
  };
  while (!r.done) {
    const { field, wire } = r.key();
    if (field === 1 && wire === 2) {
      const [s, e] = r.bytes();
      const p = new ProtoReader(buf, file, s, e);
      const piece: ScoredPiece = { piece: '', score: 0, type: SPM_NORMAL };
      let hasPiece = false;
      while (!p.done) {
        const k = p.key();
        if (k.field === 1 && k.wire === 2) {
          const [a, b] = p.bytes();
          piece.piece = str(a, b);
          hasPiece = true;
        } else if (k.field === 2 && k.wire === 5) piece.score = p.float();
        else if (k.field === 3 && k.wire === 0) piece.type = p.int32();
        else p.skip(k.wire);
      }
      if (!hasPiece) throw new TokenizerFileError(file, `SentencePiece entry ${model.pieces.length} has no piece string (field 1)`);
      model.pieces.push(piece);
    } else if (field === 2 && wire === 2) {
      const [s, e] = r.bytes();
      const t = new ProtoReader(buf, file, s, e);
      while (!t.done) {
        const k = t.key();
        if (k.wire !== 0) t.skip(k.wire);
        else if (k.field === 3) model.modelType = t.int32();
        else if (k.field === 35) model.byteFallback = t.varint() !== 0n;
        else if (k.field === 40) model.unkId = t.int32();
        else if (k.field === 41) model.bosId = t.int32();
        else if (k.field === 42) model.eosId = t.int32();
        else if (k.field === 43) model.padId = t.int32();
        else t.varint();
      }
    } else if (field === 3 && wire === 2) {
      const [s, e] = r.bytes();
      const n = new ProtoReader(buf, file, s, e);
      while (!n.done) {
        const k = n.key();
        if (k.wire !== 0) n.skip(k.wire);
        else if (k.field === 3) model.addDummyPrefix = n.varint() !== 0n;
        else if (k.field === 4) model.removeExtraWhitespaces = n.varint() !== 0n;
        else n.varint();
      }
    } else r.skip(wire);
  }
  if (r.pos !== buf.length) throw new TokenizerFileError(file, 'protobuf message ends inside a field; the file is truncated');
  if (model.pieces.length === 0) throw new TokenizerFileError(file, 'no pieces found; expected a SentencePiece tokenizer.model (protobuf ModelProto)');
  return model;
}

/**
 * Converts a SentencePiece BPE tokenizer.model (Llama-2, TinyLlama, Mistral) to the HF tokenizer.json that
 * transformers' LlamaConverter writes (legacy form). Unigram models are rejected: their HF form needs the
 * precompiled normalizer charsmap, which is out of scope here.
 */
export function convertSentencePieceTokenizer(path: string): TokenizerFiles {
  let buf: Uint8Array;
  try {
    buf = readFileSync(path);
  } catch (e) {
    throw new TokenizerFileError(path, `cannot read SentencePiece model: ${(e as Error).message}`);
  }
  return sentencePieceToTokenizerJson(parseSentencePieceModel(buf, path), path);
}

/** The HF Llama tokenizer.json of a parsed SentencePiece BPE model. */
export function sentencePieceToTokenizerJson(model: SentencePieceModel, file = '<buffer>'): TokenizerFiles {
  if (model.modelType !== 2) {
    const kind = ['?', 'Unigram', 'BPE', 'Word', 'Char'][model.modelType] ?? String(model.modelType);
    throw new TokenizerFileError(file, `SentencePiece model_type is ${kind}; only BPE models (model_type 2, Llama family) can be converted`);
  }
  const n = model.pieces.length;
  for (const [name, id] of [['unk_id', model.unkId], ['bos_id', model.bosId], ['eos_id', model.eosId]] as const) {
    if (id < 0 || id >= n) throw new TokenizerFileError(file, `trainer_spec.${name} = ${id} is outside the ${n} pieces`);
  }
  // LlamaConverter gives <unk>, <s>, </s> the score 0; merges never involve them, so the scores do not matter.
  return buildLlamaTokenizerJson(model.pieces, {
    unkId: model.unkId,
    bosId: model.bosId,
    eosId: model.eosId,
    addDummyPrefix: model.addDummyPrefix,
    byteFallback: model.byteFallback,
  });
}
