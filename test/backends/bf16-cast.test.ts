// Backend.castBf16 / widenBf16 (a bf16-weight LISA switch's casts): every backend rounds exactly as
// util/bf16.ts's f32ToBf16Bits (round to nearest even, ties, NaN payloads and signs, infinities, denormals, the
// largest finite values rounding to infinity) and widens exactly, over sizes that split across the thread pool;
// the native bindings reject short or mistyped arrays.
import { describe, expect, it } from 'vitest';
import { bf16BitsToF32, f32ToBf16Bits } from '../../src/util/bf16.js';
import { nativeAddon } from '../../src/backends/cpu-native.js';
import { nativeAvailable } from '../../src/backends/index.js';
import { meta } from '../../src/backends/meta.js';
import { BACKENDS } from '../backends-under-test.js';
import { Rng } from '../../src/util/rng.js';

const SPECIAL_BITS = [0x00000000, 0x80000000, 0x3f800000, 0x3f808000, 0x3f818000, 0x3f808001, 0x3f80ffff, 0xbf808000,
  0x7f800000, 0xff800000, 0x7f7fffff, 0xff7fffff, 0x7f7f8000, 0x7fc00000, 0xffc00001, 0x7f800001, 0xff812345,
  0x00000001, 0x80000001, 0x007fffff, 0x00008000, 0x00018000, 0x00800000, 0x0080ffff];

/** The special patterns, then random bit patterns (every exponent, NaNs included), n values in all. */
function inputs(n: number): Float32Array {
  const bits = new Uint32Array(n);
  const rng = new Rng(7);
  for (let i = 0; i < n; i++) bits[i] = i < SPECIAL_BITS.length ? SPECIAL_BITS[i]! : Math.floor(rng.uniform() * 2 ** 32) >>> 0;
  return new Float32Array(bits.buffer);
}

describe('castBf16 / widenBf16', () => {
  it.each(BACKENDS)('%s: rounds every pattern as f32ToBf16Bits and widens exactly', (_, be) => {
    for (const n of [SPECIAL_BITS.length, 200_003]) { // the larger spans several pool tasks
      const x = inputs(n);
      const bits = new Uint16Array(n + 1).fill(0xabcd);
      be.castBf16(x, bits, n);
      const want = Uint16Array.from(x, (v) => f32ToBf16Bits(v));
      expect(bits.subarray(0, n)).toEqual(want);
      expect(bits[n]).toBe(0xabcd); // nothing past n
      const back = new Float32Array(n + 1).fill(5);
      be.widenBf16(bits, back, n);
      const wantBack = Float32Array.from(bits.subarray(0, n), (h) => bf16BitsToF32(h));
      expect(new Uint32Array(back.buffer, 0, n)).toEqual(new Uint32Array(wantBack.buffer)); // bits, NaNs too
      expect(back[n]).toBe(5);
    }
  });

  it('meta: no-ops', () => {
    expect(() => meta.castBf16(new Float32Array(0), new Uint16Array(0), 10)).not.toThrow();
    expect(() => meta.widenBf16(new Uint16Array(0), new Float32Array(0), 10)).not.toThrow();
  });

  it.skipIf(!nativeAvailable())('native bindings reject short or mistyped arrays, naming the argument', () => {
    const N = nativeAddon() as unknown as Record<'castBf16' | 'widenBf16', (...a: unknown[]) => void>;
    expect(() => N.castBf16(new Float32Array(4), new Uint16Array(3), 4)).toThrow(/castBf16.*argument 1/);
    expect(() => N.castBf16(new Float32Array(3), new Uint16Array(4), 4)).toThrow(/castBf16.*argument 0/);
    expect(() => N.widenBf16(new Float32Array(4), new Float32Array(4), 4)).toThrow(/widenBf16.*Uint16Array/);
    expect(() => N.widenBf16(new Uint16Array(4), new Float32Array(4), -1)).toThrow(/widenBf16.*size/);
  });
});
