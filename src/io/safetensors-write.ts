// Streaming, atomic safetensors writer (F32, BF16 or F16 output; header space-padded to 8 bytes; sorted names).

import { endianness } from 'node:os';
import { DTYPE_RANK, bf16BitsArrayToF32, f32ArrayToBf16Bits, f32ArrayToF16Bits } from './dtype.js';
import { WriteArgumentError } from './errors.js';
import { writeFileAtomicSync, writeFullySync } from './atomic.js';

/** Output dtypes the writer can produce from float32 data. */
export type WriteDtype = 'F32' | 'BF16' | 'F16';

export interface TensorToWrite {
  readonly name: string;
  readonly shape: readonly number[];
  /** float32 values, or a Uint16Array of bfloat16 bits (a bf16 weight: written as stored when the dtype is BF16,
   *  widened or converted a chunk at a time otherwise). */
  readonly data: Float32Array | Uint16Array;
  /** Overrides the file-wide dtype for this tensor. */
  readonly dtype?: WriteDtype;
}

export interface WriteSafetensorsOptions {
  /** Storage dtype (default F32). BF16/F16 round to nearest even. */
  readonly dtype?: WriteDtype;
  /** `__metadata__` entries; `{"format":"pt"}` is added unless `format` is given (transformers wants it). */
  readonly metadata?: Readonly<Record<string, string>>;
}

const LITTLE_ENDIAN_HOST = endianness() === 'LE';
const CHUNK_ELEMS = 1 << 20;
const WRITE_DTYPES: readonly WriteDtype[] = ['F32', 'BF16', 'F16'];
const BYTES: Record<WriteDtype, number> = { F32: 4, BF16: 2, F16: 2 };

/** Byte-wise UTF-8 comparison, the order Rust's `String::cmp` gives. */
export function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

interface Planned { name: string; shape: readonly number[]; data: Float32Array | Uint16Array; dtype: WriteDtype; begin: number; end: number }

/** Validate the tensors and compute their order and offsets (what the header will say). */
function plan(path: string, tensors: readonly TensorToWrite[], fileDtype: WriteDtype): Planned[] {
  if (!WRITE_DTYPES.includes(fileDtype)) throw new WriteArgumentError(path, `dtype must be one of ${WRITE_DTYPES.join(', ')}, got ${JSON.stringify(fileDtype)}`);
  const seen = new Set<string>();
  const items: Omit<Planned, 'begin' | 'end'>[] = [];
  for (const t of tensors) {
    if (typeof t.name !== 'string' || t.name === '__metadata__') throw new WriteArgumentError(path, 'is not a usable tensor name', String(t.name));
    if (seen.has(t.name)) throw new WriteArgumentError(path, 'is given twice', t.name);
    seen.add(t.name);
    const dtype = t.dtype ?? fileDtype;
    if (!WRITE_DTYPES.includes(dtype)) throw new WriteArgumentError(path, `dtype must be one of ${WRITE_DTYPES.join(', ')}, got ${JSON.stringify(dtype)}`, t.name);
    if (!(t.data instanceof Float32Array) && !(t.data instanceof Uint16Array)) {
      throw new WriteArgumentError(path, 'data must be a Float32Array (or a Uint16Array of bfloat16 bits)', t.name);
    }
    if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new WriteArgumentError(path, `shape must be an array of non-negative integers, got ${JSON.stringify(t.shape)}`, t.name);
    }
    const numel = t.shape.reduce((a, b) => a * b, 1);
    if (numel !== t.data.length) {
      throw new WriteArgumentError(path, `shape [${t.shape.join(', ')}] has ${numel} elements but data has ${t.data.length}`, t.name);
    }
    items.push({ name: t.name, shape: t.shape, data: t.data, dtype });
  }
  items.sort((a, b) => DTYPE_RANK[b.dtype] - DTYPE_RANK[a.dtype] || compareUtf8(a.name, b.name));
  let offset = 0;
  return items.map((it) => {
    const begin = offset;
    offset += it.data.length * BYTES[it.dtype];
    return { ...it, begin, end: offset };
  });
}

/** Build the padded header bytes (JSON padded with spaces so the data section starts 8-byte aligned). */
function headerBytes(planned: readonly Planned[], metadata: Record<string, string>): Uint8Array {
  const parts: string[] = [];
  if (Object.keys(metadata).length > 0) parts.push(`"__metadata__":${JSON.stringify(metadata)}`);
  for (const p of planned) {
    parts.push(`${JSON.stringify(p.name)}:{"dtype":"${p.dtype}","shape":${JSON.stringify(p.shape)},"data_offsets":[${p.begin},${p.end}]}`);
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const padded = new Uint8Array(Math.ceil(json.length / 8) * 8).fill(0x20);
  padded.set(json);
  return padded;
}

function writeTensor(fd: number, p: Planned): void {
  if (p.data instanceof Uint16Array) return writeBf16Tensor(fd, p, p.data);
  if (p.dtype === 'F32' && LITTLE_ENDIAN_HOST) {
    writeFullySync(fd, new Uint8Array(p.data.buffer, p.data.byteOffset, p.data.byteLength));
    return;
  }
  const n = p.data.length;
  const bits16 = new Uint16Array(Math.min(n, CHUNK_ELEMS));
  const f32 = p.dtype === 'F32' ? new Float32Array(Math.min(n, CHUNK_ELEMS)) : undefined;
  for (let start = 0; start < n; start += CHUNK_ELEMS) {
    const len = Math.min(CHUNK_ELEMS, n - start);
    const src = p.data.subarray(start, start + len);
    let bytes: Uint8Array;
    if (f32 !== undefined) {
      f32.set(src);
      bytes = new Uint8Array(f32.buffer, 0, len * 4);
    } else {
      const dst = bits16.subarray(0, len);
      if (p.dtype === 'BF16') f32ArrayToBf16Bits(src, dst);
      else f32ArrayToF16Bits(src, dst);
      bytes = new Uint8Array(bits16.buffer, 0, len * 2);
    }
    if (!LITTLE_ENDIAN_HOST) {
      const size = BYTES[p.dtype];
      for (let i = 0; i < bytes.length; i += size) bytes.subarray(i, i + size).reverse();
    }
    writeFullySync(fd, bytes);
  }
}

/** A tensor given as bfloat16 bits: BF16 is written as stored; F32/F16 are converted a chunk at a time. */
function writeBf16Tensor(fd: number, p: Planned, bits: Uint16Array): void {
  if (p.dtype === 'BF16' && LITTLE_ENDIAN_HOST) {
    writeFullySync(fd, new Uint8Array(bits.buffer, bits.byteOffset, bits.byteLength));
    return;
  }
  const wide = new Float32Array(Math.min(bits.length, CHUNK_ELEMS));
  for (let start = 0; start < bits.length; start += CHUNK_ELEMS) {
    const len = Math.min(CHUNK_ELEMS, bits.length - start);
    const src = bits.subarray(start, start + len);
    bf16BitsArrayToF32(src, wide.subarray(0, len));
    writeTensor(fd, { ...p, data: wide.subarray(0, len) });
  }
}

/**
 * Write `tensors` to `path` as safetensors, atomically (temp file in the same directory, fsync, rename).
 * Tensors are stored in sorted-name order, as the reference library does. Returns the file size.
 */
export function writeSafetensors(path: string, tensors: readonly TensorToWrite[], opts: WriteSafetensorsOptions = {}): number {
  const planned = plan(path, tensors, opts.dtype ?? 'F32');
  const meta: Record<string, string> = { format: 'pt', ...opts.metadata };
  for (const [k, v] of Object.entries(meta)) {
    if (typeof v !== 'string') throw new WriteArgumentError(path, `metadata value for ${JSON.stringify(k)} must be a string, got ${typeof v}`);
  }
  const header = headerBytes(planned, meta);
  const len = new Uint8Array(8);
  new DataView(len.buffer).setBigUint64(0, BigInt(header.length), true);
  writeFileAtomicSync(path, (fd) => {
    writeFullySync(fd, len);
    writeFullySync(fd, header);
    for (const p of planned) writeTensor(fd, p);
  });
  return 8 + header.length + (planned.at(-1)?.end ?? 0);
}
