// Large buffers of cpu-native ask for transparent huge pages (native/memory.cpp): the advice covers exactly the
// 2 MiB-aligned inside of a buffer, and a 64 MiB buffer's first touch is served by huge pages, read from the
// kernel's own count (/proc/self/smaps_rollup). Every backend's allocBits gives zeroed bf16 storage.
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { meta } from '../../src/backends/meta.js';
import { nativeAddon } from '../../src/backends/cpu-native.js';
import { getBackend, nativeAvailable } from '../../src/backends/index.js';
import { BACKENDS } from '../backends-under-test.js';

const MiB = 2 ** 20;
const THP = '/sys/kernel/mm/transparent_hugepage/enabled';
// THP in 'always' or 'madvise' mode: advice is honoured ('never', or a kernel without THP, ignores it).
const thpOn = existsSync(THP) && !readFileSync(THP, 'utf8').includes('[never]');

/** The process's anonymous memory in huge pages, in bytes. */
function anonHugeBytes(): number {
  const m = /AnonHugePages:\s+(\d+) kB/.exec(readFileSync('/proc/self/smaps_rollup', 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

describe('allocBits', () => {
  it.each(BACKENDS)('%s: n zeroed bfloat16 bit patterns, a fresh array each time', (_, be) => {
    const a = be.allocBits(5 * MiB);
    expect(a).toBeInstanceOf(Uint16Array);
    expect(a.length).toBe(5 * MiB);
    expect(a.every((v) => v === 0)).toBe(true);
    expect(be.allocBits(3)).not.toBe(be.allocBits(3));
  });
  it('meta: no memory', () => {
    expect(meta.allocBits(1000).length).toBe(0);
  });
});

describe.skipIf(!nativeAvailable())('huge pages for large native buffers', () => {
  it('adviseHugePages advises the 2 MiB-aligned inside of a typed array, nothing of a small one', () => {
    const N = nativeAddon();
    const big = new Float32Array(3 * MiB); // 12 MiB: at least 10 MiB of whole aligned 2 MiB pages inside
    const advised = N.adviseHugePages(big);
    if (thpOn) {
      expect(advised % (2 * MiB)).toBe(0);
      expect(advised).toBeGreaterThanOrEqual(10 * MiB);
      expect(advised).toBeLessThanOrEqual(12 * MiB);
    }
    expect(N.adviseHugePages(new Float32Array(1000))).toBe(0);
    expect(N.adviseHugePages(new Uint16Array(big.buffer, 0, 100))).toBe(0);
  });

  it('adviseHugePages rejects what is not a typed array', () => {
    const N = nativeAddon() as unknown as { adviseHugePages(a: unknown): number };
    expect(() => N.adviseHugePages({ length: 5 })).toThrow(/adviseHugePages: expected a typed array/);
    expect(() => N.adviseHugePages(undefined)).toThrow(/expected a typed array/);
  });

  it.skipIf(!thpOn)('a 64 MiB buffer from cpu-native alloc is backed by huge pages once written', () => {
    const be = getBackend('cpu-native');
    const before = anonHugeBytes();
    const buf = be.alloc('float32', 16 * MiB);
    buf.fill(1);
    // The aligned inside is >= 62 MiB; allow the kernel to fall back for a few pages when memory is fragmented.
    expect(anonHugeBytes() - before).toBeGreaterThanOrEqual(48 * MiB);
    const bits = be.allocBits(32 * MiB); // 64 MiB of bf16 storage likewise
    const mid = anonHugeBytes();
    bits.fill(1);
    expect(anonHugeBytes() - mid).toBeGreaterThanOrEqual(48 * MiB);
  });
});
