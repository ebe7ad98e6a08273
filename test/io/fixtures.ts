// Test helpers: hand-built safetensors bytes (independent of the writer under test) and temp folders.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh temp folder; remember to `rmTemp` it. */
export function tempDir(prefix = 'lisa-io-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function rmTemp(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Raw safetensors bytes: 8-byte LE header length, header (object → JSON, or a raw string), data.
 * `headerLen` overrides the length field (for corrupt files).
 */
export function buildSafetensors(header: object | string, data: Uint8Array, opts: { headerLen?: bigint; pad?: boolean } = {}): Uint8Array {
  let json = typeof header === 'string' ? header : JSON.stringify(header);
  if (opts.pad !== false) while (Buffer.byteLength(json) % 8 !== 0) json += ' ';
  const hb = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + hb.length + data.length);
  new DataView(out.buffer).setBigUint64(0, opts.headerLen ?? BigInt(hb.length), true);
  out.set(hb, 8);
  out.set(data, 8 + hb.length);
  return out;
}

/** Little-endian bytes of float32 values. */
export function f32Bytes(values: number[]): Uint8Array {
  return new Uint8Array(new Float32Array(values).buffer);
}

/** Little-endian bytes of 16-bit patterns. */
export function u16Bytes(bits: number[]): Uint8Array {
  const out = new Uint8Array(bits.length * 2);
  const dv = new DataView(out.buffer);
  bits.forEach((b, i) => dv.setUint16(i * 2, b, true));
  return out;
}

export function writeBytes(path: string, bytes: Uint8Array): string {
  writeFileSync(path, bytes);
  return path;
}

/** A small valid two-tensor F32 file: a [2,3] then b [2]. */
export function smallValidFile(): Uint8Array {
  const data = f32Bytes([1, 2, 3, 4, 5, 6, -1, 0.5]);
  return buildSafetensors({
    __metadata__: { format: 'pt' },
    a: { dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] },
    b: { dtype: 'F32', shape: [2], data_offsets: [24, 32] },
  }, data);
}

/** Deterministic PRNG (mulberry32) for tests. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
