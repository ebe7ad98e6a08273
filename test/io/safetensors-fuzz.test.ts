// Fuzz: mutated small safetensors files must either load or throw FormatError, never anything else.

import { afterAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { openSafetensors } from '../../src/io/safetensors.js';
import { FormatError } from '../../src/io/errors.js';
import { buildSafetensors, rmTemp, rng, smallValidFile, tempDir, u16Bytes, writeBytes } from './fixtures.js';

const dir = tempDir('lisa-fuzz-');
afterAll(() => rmTemp(dir));

function seeds(): Uint8Array[] {
  const mixed = buildSafetensors({
    h: { dtype: 'F16', shape: [2], data_offsets: [0, 4] },
    bf: { dtype: 'BF16', shape: [1, 2], data_offsets: [4, 8] },
    e: { dtype: 'F32', shape: [0], data_offsets: [8, 8] },
    u: { dtype: 'U8', shape: [3], data_offsets: [8, 11] },
    l: { dtype: 'I64', shape: [1], data_offsets: [11, 19] },
  }, new Uint8Array([...u16Bytes([0x3c00, 0xc100, 0x3f80, 0x4000]), 1, 2, 3, 7, 0, 0, 0, 0, 0, 0, 0]));
  return [smallValidFile(), mixed, buildSafetensors('{}', new Uint8Array(0))];
}

/** One random mutation of a valid file, described for failure messages. */
function mutate(src: Uint8Array, r: () => number): [Uint8Array, string] {
  const b = src.slice();
  const headerLen = Number(new DataView(b.buffer).getBigUint64(0, true));
  const pick = (lo: number, hi: number): number => lo + Math.floor(r() * Math.max(hi - lo, 1));
  const kind = Math.floor(r() * 7);
  switch (kind) {
    case 0: { // bit flips anywhere
      const n = 1 + Math.floor(r() * 3);
      for (let i = 0; i < n; i++) { const at = pick(0, b.length); b[at]! ^= 1 << Math.floor(r() * 8); }
      return [b, `flip x${n}`];
    }
    case 1: { // overwrite a header byte with JSON-significant characters
      const chars = '{}[]",:0123456789-. eE\\ntfaFl';
      const at = pick(8, 8 + headerLen);
      b[at] = chars.charCodeAt(Math.floor(r() * chars.length));
      return [b, `header byte ${at}`];
    }
    case 2: { // overwrite data bytes
      const at = pick(8 + headerLen, b.length);
      if (at < b.length) b[at] = Math.floor(r() * 256);
      return [b, `data byte ${at}`];
    }
    case 3: { // truncate
      const len = pick(0, b.length);
      return [b.subarray(0, len), `truncate to ${len}`];
    }
    case 4: { // change the header length field
      const delta = [-9, -8, -1, 1, 7, 8, 64, 1 << 20][Math.floor(r() * 8)]!;
      const v = BigInt(Math.max(0, headerLen + delta));
      new DataView(b.buffer).setBigUint64(0, r() < 0.1 ? (1n << 63n) + v : v, true);
      return [b, `header length ${delta}`];
    }
    case 5: { // random bytes into the length field
      for (let i = 0; i < 8; i++) if (r() < 0.3) b[i] = Math.floor(r() * 256);
      return [b, 'length bytes'];
    }
    default: { // append or duplicate bytes
      const extra = new Uint8Array(pick(1, 16)).map(() => Math.floor(r() * 256));
      const out = new Uint8Array(b.length + extra.length);
      out.set(b);
      out.set(extra, b.length);
      return [out, `append ${extra.length}`];
    }
  }
}

describe('safetensors fuzz', () => {
  it('3,000 mutated files either load fully or throw FormatError', () => {
    const r = rng(12345);
    const base = seeds();
    const path = join(dir, 'fuzz.safetensors');
    let loaded = 0;
    let rejected = 0;
    for (let i = 0; i < 3000; i++) {
      let [bytes, what] = mutate(base[i % base.length]!, r);
      if (r() < 0.3) [bytes, what] = [mutate(bytes.length >= 8 ? bytes : base[0]!, r)[0], `${what} + more`];
      writeBytes(path, bytes);
      try {
        const f = openSafetensors(path);
        try {
          for (const n of f.names()) f.read(n);
        } finally {
          f.close();
        }
        loaded++;
      } catch (e) {
        if (!(e instanceof FormatError)) {
          throw new Error(`case ${i} (${what}) threw ${(e as Error).name}: ${(e as Error).message}`);
        }
        expect(e.message).toContain(path);
        rejected++;
      }
    }
    expect(loaded + rejected).toBe(3000);
    expect(rejected).toBeGreaterThan(1000);
    expect(loaded).toBeGreaterThan(100); // data-byte mutations keep files valid
  }, 60_000);
});
