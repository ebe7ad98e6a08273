// Parsing and full validation of a safetensors JSON header (dtypes, shapes, offsets, coverage, duplicates).

import { DTYPE_BITS, isSafetensorsDtype, type SafetensorsDtype } from './dtype.js';
import { FormatError, UnsupportedDtypeError } from './errors.js';
import { showValue } from '../util/show.js';

/** The reference implementation refuses headers above 100 MB; so do we. */
export const MAX_HEADER_BYTES = 100_000_000;

/** One tensor entry of a safetensors header, validated. */
export interface TensorInfo {
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  readonly numel: number;
  /** Bytes of this tensor in the file (`end - begin`). */
  readonly byteLength: number;
  /** `[begin, end)` relative to the start of the data section, as in the header. */
  readonly dataOffsets: readonly [number, number];
  /** Absolute byte offset of the first byte of this tensor in the file. */
  readonly fileOffset: number;
}

export interface ParsedHeader {
  /** The header JSON object as parsed. */
  readonly raw: Record<string, unknown>;
  /** `__metadata__` (string to string), or an empty object when absent. */
  readonly metadata: Record<string, string>;
  /** Tensors in data-offset (file) order. */
  readonly tensors: Map<string, TensorInfo>;
}

/**
 * The keys of the top-level object of a JSON text that `JSON.parse` accepted, in order, duplicates kept
 * (JSON.parse silently keeps the last duplicate, which would hide a tensor).
 */
export function topLevelKeys(text: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      let j = i + 1;
      while (j < text.length && text.charCodeAt(j) !== 0x22) j += text.charCodeAt(j) === 0x5c /* \ */ ? 2 : 1;
      if (depth === 1 && expectKey) {
        keys.push(JSON.parse(text.slice(i, j + 1)) as string);
        expectKey = false;
      }
      i = j;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      depth++;
      if (depth === 1) expectKey = c === 0x7b;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--;
    } else if (c === 0x2c /* , */ && depth === 1) {
      expectKey = true;
    }
  }
  return keys;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  return showValue(v);
}

/** Decode and validate the header bytes of `file`, whose data section is `dataLength` bytes long. */
export function parseSafetensorsHeader(file: string, headerBytes: Uint8Array, dataLength: number): ParsedHeader {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(headerBytes);
  } catch {
    throw new FormatError(file, 'safetensors header is not valid UTF-8');
  }
  if (!text.startsWith('{')) {
    throw new FormatError(file, `safetensors header must be a JSON object starting with "{", found ${describe(text.slice(0, 16))}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new FormatError(file, `safetensors header is not valid JSON (${(e as Error).message})`);
  }
  if (!isPlainObject(raw)) throw new FormatError(file, 'safetensors header must be a JSON object');

  const seen = new Set<string>();
  for (const k of topLevelKeys(text)) {
    if (seen.has(k)) throw new FormatError(file, 'appears more than once in the safetensors header', k);
    seen.add(k);
  }

  const metadata: Record<string, string> = {};
  const entries: [string, TensorInfo][] = [];
  const headerEnd = 8 + headerBytes.length;
  for (const [name, value] of Object.entries(raw)) {
    if (name === '__metadata__') {
      if (!isPlainObject(value)) throw new FormatError(file, '"__metadata__" must be an object of strings', name, 'key');
      for (const [mk, mv] of Object.entries(value)) {
        if (typeof mv !== 'string') {
          throw new FormatError(file, `must be a string, found ${describe(mv)}`, `__metadata__.${mk}`, 'key');
        }
        Object.defineProperty(metadata, mk, { value: mv, enumerable: true, writable: true, configurable: true });
      }
      continue;
    }
    entries.push([name, parseEntry(file, name, value, headerEnd, dataLength)]);
  }

  // Coverage: sorted by offsets the tensors must tile [0, dataLength) exactly (what the Rust library checks).
  entries.sort((a, b) => a[1].dataOffsets[0] - b[1].dataOffsets[0] || a[1].dataOffsets[1] - b[1].dataOffsets[1]);
  let expected = 0;
  let prev: string | undefined;
  for (const [name, info] of entries) {
    const [begin] = info.dataOffsets;
    if (begin < expected) {
      throw new FormatError(file, `data_offsets [${info.dataOffsets.join(', ')}] overlap tensor ${JSON.stringify(prev)} which ends at ${expected}`, name);
    }
    if (begin > expected) {
      throw new FormatError(file, `data_offsets start at ${begin} but the previous tensor${prev === undefined ? '' : ` (${JSON.stringify(prev)})`} ends at ${expected}: ${begin - expected} bytes of the data section belong to no tensor`, name);
    }
    expected = info.dataOffsets[1];
    if (info.byteLength > 0) prev = name;
  }
  if (expected !== dataLength) {
    throw new FormatError(file, `data section is ${dataLength} bytes but the tensors cover only ${expected}: ${dataLength - expected} trailing bytes belong to no tensor`);
  }
  return { raw, metadata, tensors: new Map(entries) };
}

function parseEntry(file: string, name: string, value: unknown, headerEnd: number, dataLength: number): TensorInfo {
  if (!isPlainObject(value)) throw new FormatError(file, `entry must be an object {dtype, shape, data_offsets}, found ${describe(value)}`, name);
  const { dtype, shape, data_offsets: offsets } = value;
  if (typeof dtype !== 'string') throw new FormatError(file, `"dtype" must be a string, found ${describe(dtype)}`, name);
  if (!isSafetensorsDtype(dtype)) throw new FormatError(file, `unknown dtype ${describe(dtype)}`, name);
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
    throw new FormatError(file, `"shape" must be an array of non-negative integers, found ${describe(shape)}`, name);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && (o as number) >= 0)) {
    throw new FormatError(file, `"data_offsets" must be [begin, end] with non-negative integers, found ${describe(offsets)}`, name);
  }
  const [begin, end] = offsets as [number, number];
  if (end < begin) throw new FormatError(file, `data_offsets [${begin}, ${end}] end before they begin`, name);
  if (end > dataLength) {
    throw new FormatError(file, `data_offsets [${begin}, ${end}] run past the end of the data section (${dataLength} bytes)`, name);
  }
  const bits = DTYPE_BITS[dtype];
  let numel = 1;
  for (const d of (shape as number[]).includes(0) ? [0] : (shape as number[])) {
    numel *= d;
    if (!Number.isSafeInteger(numel) || numel * bits > dataLength * 8 + 8) {
      throw new FormatError(file, `shape [${shape.join(', ')}] has more elements than the ${dataLength}-byte data section can hold`, name);
    }
  }
  if ((numel * bits) % 8 !== 0) {
    throw new UnsupportedDtypeError(file, name, dtype, `${numel} elements of ${dtype} do not fill a whole number of bytes`);
  }
  const expected = (numel * bits) / 8;
  if (end - begin !== expected) {
    throw new FormatError(file, `data_offsets [${begin}, ${end}] span ${end - begin} bytes but ${dtype} x [${shape.join(', ')}] needs ${expected}`, name);
  }
  return { dtype, shape: shape as number[], numel, byteLength: expected, dataOffsets: [begin, end], fileOffset: headerEnd + begin };
}
