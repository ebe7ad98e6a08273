// Streaming safetensors reader: validates the header, then reads one tensor at a time into a Float32Array.

import { closeSync, fstatSync, openSync } from 'node:fs';
import { endianness } from 'node:os';
import {
  f16Table65536, f8e4m3ToF32, f8e5m2ToF32, f8e8m0ToF32, f32ArrayToBf16Bits, type SafetensorsDtype,
} from './dtype.js';
import { FormatError, MissingFileError, UnsupportedDtypeError } from './errors.js';
import { readFullySync } from './atomic.js';
import { MAX_HEADER_BYTES, parseSafetensorsHeader, type TensorInfo } from './safetensors-header.js';

export type { TensorInfo } from './safetensors-header.js';
export { writeSafetensors, type WriteDtype } from './safetensors-write.js';

const LITTLE_ENDIAN_HOST = endianness() === 'LE';
/** Elements converted per chunk for non-F32 dtypes (bounds the scratch buffer to a few MiB). */
const CONVERT_CHUNK_ELEMS = 1 << 20;

/** dtypes `read` can convert to float32. */
export const READABLE_DTYPES: ReadonlySet<SafetensorsDtype> = new Set<SafetensorsDtype>([
  'F32', 'F16', 'BF16', 'F64', 'F8_E5M2', 'F8_E4M3', 'F8_E8M0',
  'BOOL', 'U8', 'I8', 'I16', 'U16', 'I32', 'U32', 'I64', 'U64',
]);

/** Reverse byte order of each `size`-byte element in place (big-endian hosts only). */
function swapInPlace(bytes: Uint8Array, size: number): void {
  for (let i = 0; i + size <= bytes.length; i += size) bytes.subarray(i, i + size).reverse();
}

/** An open safetensors file. Only the header is held in memory; tensors are read on demand. */
export class SafetensorsFile {
  readonly path: string;
  /** The raw header object (tensor entries and `__metadata__`). */
  readonly header: Readonly<Record<string, unknown>>;
  /** `__metadata__` string map (empty when absent). */
  readonly metadata: Readonly<Record<string, string>>;
  /** Total file size in bytes. */
  readonly fileSize: number;
  private readonly tensors: Map<string, TensorInfo>;
  private fd: number | null;

  /** Use `openSafetensors`. */
  constructor(path: string, fd: number, fileSize: number, header: Record<string, unknown>, metadata: Record<string, string>, tensors: Map<string, TensorInfo>) {
    this.path = path;
    this.fd = fd;
    this.fileSize = fileSize;
    this.header = header;
    this.metadata = metadata;
    this.tensors = tensors;
  }

  /** Tensor names in file order (the order that reads the file sequentially). */
  names(): string[] {
    return [...this.tensors.keys()];
  }

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  /** dtype, shape, element count, byte length and offsets of one tensor. */
  info(name: string): TensorInfo {
    const info = this.tensors.get(name);
    if (info === undefined) {
      throw new FormatError(this.path, `not found in this file (it holds ${this.tensors.size} tensors)`, name);
    }
    return info;
  }

  /** The tensor's raw little-endian bytes as stored. */
  readRaw(name: string): Uint8Array {
    const info = this.info(name);
    const bytes = new Uint8Array(info.byteLength);
    this.readBytes(name, bytes, info.fileOffset);
    return bytes;
  }

  /** Read a tensor as float32 (F16/BF16/F8 upcast exactly; integer and F64 values converted). */
  read(name: string): Float32Array {
    const info = this.info(name);
    this.checkReadable(name, info);
    return this.readInto(name, new Float32Array(info.numel));
  }

  /** Read a tensor as float32 into `out` (which must hold exactly `numel` elements); returns `out`. */
  readInto(name: string, out: Float32Array): Float32Array {
    const info = this.info(name);
    this.checkReadable(name, info);
    if (out.length !== info.numel) {
      throw new RangeError(`${this.path}: tensor ${JSON.stringify(name)}: destination holds ${out.length} elements, expected ${info.numel} (shape [${info.shape.join(', ')}])`);
    }
    if (info.dtype === 'F32') {
      const bytes = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
      this.readBytes(name, bytes, info.fileOffset);
      if (!LITTLE_ENDIAN_HOST) swapInPlace(bytes, 4);
      return out;
    }
    const size = info.byteLength / Math.max(info.numel, 1);
    const chunk = new Uint8Array(Math.min(info.numel, CONVERT_CHUNK_ELEMS) * size);
    for (let start = 0; start < info.numel; start += CONVERT_CHUNK_ELEMS) {
      const n = Math.min(CONVERT_CHUNK_ELEMS, info.numel - start);
      const bytes = chunk.subarray(0, n * size);
      this.readBytes(name, bytes, info.fileOffset + start * size);
      if (!LITTLE_ENDIAN_HOST && size > 1) swapInPlace(bytes, size);
      convertChunk(info.dtype, bytes, n, out.subarray(start, start + n));
    }
    return out;
  }

  /** Read a tensor as bfloat16 bits into `out` (exactly `numel` elements): BF16 is copied as stored, with no
   *  float32 copy; every other readable dtype is converted to float32 a chunk at a time and rounded (RNE).
   *  Returns the stored dtype (so a caller can say when F16 was converted). */
  readIntoBf16(name: string, out: Uint16Array): SafetensorsDtype {
    const info = this.info(name);
    this.checkReadable(name, info);
    if (out.length !== info.numel) {
      throw new RangeError(`${this.path}: tensor ${JSON.stringify(name)}: destination holds ${out.length} elements, expected ${info.numel} (shape [${info.shape.join(', ')}])`);
    }
    if (info.dtype === 'BF16') {
      const bytes = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
      this.readBytes(name, bytes, info.fileOffset);
      if (!LITTLE_ENDIAN_HOST) swapInPlace(bytes, 2);
      return info.dtype;
    }
    const size = info.byteLength / Math.max(info.numel, 1);
    const chunk = new Uint8Array(Math.min(info.numel, CONVERT_CHUNK_ELEMS) * size);
    const wide = new Float32Array(Math.min(info.numel, CONVERT_CHUNK_ELEMS));
    for (let start = 0; start < info.numel; start += CONVERT_CHUNK_ELEMS) {
      const n = Math.min(CONVERT_CHUNK_ELEMS, info.numel - start);
      const bytes = chunk.subarray(0, n * size);
      this.readBytes(name, bytes, info.fileOffset + start * size);
      if (!LITTLE_ENDIAN_HOST && size > 1) swapInPlace(bytes, size);
      if (info.dtype === 'F32') wide.subarray(0, n).set(new Float32Array(bytes.buffer, bytes.byteOffset, n));
      else convertChunk(info.dtype, bytes, n, wide.subarray(0, n));
      f32ArrayToBf16Bits(wide.subarray(0, n), out.subarray(start, start + n));
    }
    return info.dtype;
  }

  /** Release the file descriptor. Further reads throw. Safe to call twice. */
  close(): void {
    if (this.fd !== null) {
      closeSync(this.fd);
      this.fd = null;
    }
  }

  private checkReadable(name: string, info: TensorInfo): void {
    if (!READABLE_DTYPES.has(info.dtype)) {
      throw new UnsupportedDtypeError(this.path, name, info.dtype, `dtype ${info.dtype} cannot be converted to float32 (supported: ${[...READABLE_DTYPES].join(', ')})`);
    }
  }

  private readBytes(name: string, dst: Uint8Array, position: number): void {
    if (this.fd === null) throw new Error(`${this.path}: tensor ${JSON.stringify(name)}: file is already closed`);
    const n = readFullySync(this.fd, dst, position);
    if (n !== dst.length) {
      throw new FormatError(this.path, `file ended while reading (got ${n} of ${dst.length} bytes at offset ${position}); was it truncated after opening?`, name);
    }
  }
}

/** Convert `n` stored elements of `dtype` (little-endian bytes, aligned copy) into float32 `out`. */
function convertChunk(dtype: SafetensorsDtype, bytes: Uint8Array, n: number, out: Float32Array): void {
  const buf = bytes.buffer;
  const off = bytes.byteOffset;
  switch (dtype) {
    case 'BF16': {
      const src = new Uint16Array(buf, off, n);
      const dst = new Uint32Array(out.buffer, out.byteOffset, n);
      for (let i = 0; i < n; i++) dst[i] = src[i]! << 16;
      return;
    }
    case 'F16': {
      const src = new Uint16Array(buf, off, n);
      const t = f16Table65536();
      for (let i = 0; i < n; i++) out[i] = t[src[i]!]!;
      return;
    }
    case 'F64': out.set(new Float64Array(buf, off, n)); return;
    case 'I32': out.set(new Int32Array(buf, off, n)); return;
    case 'U32': out.set(new Uint32Array(buf, off, n)); return;
    case 'I16': out.set(new Int16Array(buf, off, n)); return;
    case 'U16': out.set(new Uint16Array(buf, off, n)); return;
    case 'I8': out.set(new Int8Array(buf, off, n)); return;
    case 'U8': out.set(new Uint8Array(buf, off, n)); return;
    case 'BOOL': for (let i = 0; i < n; i++) out[i] = bytes[i] !== 0 ? 1 : 0; return;
    case 'I64': { const s = new BigInt64Array(buf, off, n); for (let i = 0; i < n; i++) out[i] = Number(s[i]!); return; }
    case 'U64': { const s = new BigUint64Array(buf, off, n); for (let i = 0; i < n; i++) out[i] = Number(s[i]!); return; }
    case 'F8_E5M2': for (let i = 0; i < n; i++) out[i] = f8e5m2ToF32(bytes[i]!); return;
    case 'F8_E4M3': for (let i = 0; i < n; i++) out[i] = f8e4m3ToF32(bytes[i]!); return;
    case 'F8_E8M0': for (let i = 0; i < n; i++) out[i] = f8e8m0ToF32(bytes[i]!); return;
    default: throw new Error(`internal: no converter for ${dtype}`);
  }
}

/**
 * Open and validate a safetensors file. Reads only the 8-byte length and the JSON header; the file stays
 * open until `close()`. Throws FormatError (naming the file and tensor) for any malformed header.
 */
export function openSafetensors(path: string): SafetensorsFile {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new MissingFileError(path, 'safetensors file does not exist');
    throw e;
  }
  try {
    const fileSize = fstatSync(fd).size;
    if (fileSize < 8) {
      throw new FormatError(path, `file is ${fileSize} bytes; a safetensors file starts with an 8-byte header length`);
    }
    const lenBytes = new Uint8Array(8);
    if (readFullySync(fd, lenBytes, 0) !== 8) throw new FormatError(path, 'file ended inside the 8-byte header length');
    const headerLen = new DataView(lenBytes.buffer).getBigUint64(0, true);
    if (headerLen > BigInt(MAX_HEADER_BYTES)) {
      throw new FormatError(path, `header length ${headerLen} is absurd (limit ${MAX_HEADER_BYTES} bytes); not a safetensors file?`);
    }
    const n = Number(headerLen);
    if (8 + n > fileSize) {
      throw new FormatError(path, `header length ${n} runs past the end of the ${fileSize}-byte file (truncated download?)`);
    }
    if (n < 2) throw new FormatError(path, `header length ${n} is too small to hold a JSON object`);
    const headerBytes = new Uint8Array(n);
    if (readFullySync(fd, headerBytes, 8) !== n) throw new FormatError(path, 'file ended inside the header');
    const parsed = parseSafetensorsHeader(path, headerBytes, fileSize - 8 - n);
    return new SafetensorsFile(path, fd, fileSize, parsed.raw, parsed.metadata, parsed.tensors);
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

/** Read every tensor (or only `names`) of one file into memory, one at a time. */
export function readSafetensors(path: string, names?: Iterable<string>): Map<string, Float32Array> {
  const f = openSafetensors(path);
  try {
    const out = new Map<string, Float32Array>();
    for (const name of names ?? f.names()) out.set(name, f.read(name));
    return out;
  } finally {
    f.close();
  }
}
