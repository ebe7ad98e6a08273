// Tests for the float conversions: exhaustive F16 round trips, round-to-nearest-even at midpoints, BF16.

import { describe, expect, it } from 'vitest';
import {
  bf16BitsToF32, f16BitsToF32, f32ArrayToBf16Bits, f32ToBf16Bits, f32ToF16Bits, f8e4m3ToF32, f8e5m2ToF32, roundToF16,
} from '../../src/io/dtype.js';

const isNaNBits16 = (h: number): boolean => (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;

describe('F16', () => {
  it('every half value survives half -> float32 -> half exactly', () => {
    for (let h = 0; h < 65536; h++) {
      const x = f16BitsToF32(h);
      if (isNaNBits16(h)) {
        expect(Number.isNaN(x)).toBe(true);
        expect(isNaNBits16(f32ToF16Bits(x))).toBe(true);
      } else if (f32ToF16Bits(x) !== h) {
        throw new Error(`half 0x${h.toString(16)} -> ${x} -> 0x${f32ToF16Bits(x).toString(16)}`);
      }
    }
  });

  it('midpoints between neighbouring halves round to the even one; just off midpoints round to nearest', () => {
    for (let h = 0; h < 0x7bff; h++) {
      const lo = f16BitsToF32(h);
      const hi = f16BitsToF32(h + 1);
      const mid = (lo + hi) / 2; // exact in float64 and in float32 (one more mantissa bit)
      const even = (h & 1) === 0 ? h : h + 1;
      if (f32ToF16Bits(mid) !== even) throw new Error(`midpoint of 0x${h.toString(16)} rounded to 0x${f32ToF16Bits(mid).toString(16)}`);
      if (h % 97 === 0) {
        const step = (hi - lo) / 8;
        expect(f32ToF16Bits(mid - step)).toBe(h);
        expect(f32ToF16Bits(mid + step)).toBe(h + 1);
      }
    }
  });

  it('known values, overflow and underflow', () => {
    expect(f32ToF16Bits(1)).toBe(0x3c00);
    expect(f32ToF16Bits(-2.5)).toBe(0xc100);
    expect(f32ToF16Bits(65504)).toBe(0x7bff);
    expect(f32ToF16Bits(65519)).toBe(0x7bff);
    expect(f32ToF16Bits(65520)).toBe(0x7c00); // halfway to the next binade rounds to Inf
    expect(f32ToF16Bits(2 ** -24)).toBe(0x0001);
    expect(f32ToF16Bits(2 ** -25)).toBe(0x0000); // tie to even (zero)
    expect(f32ToF16Bits(2 ** -25 * 1.0001)).toBe(0x0001);
    expect(f32ToF16Bits(-1e-10)).toBe(0x8000);
    expect(f32ToF16Bits(-Infinity)).toBe(0xfc00);
    expect(roundToF16(new Float32Array([0.1]))[0]).toBe(f16BitsToF32(0x2e66));
  });
});

describe('BF16', () => {
  it('every non-NaN bf16 value round-trips; array and scalar conversions agree', () => {
    const all = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) all[h] = bf16BitsToF32(h);
    const bits = f32ArrayToBf16Bits(all);
    for (let h = 0; h < 65536; h++) {
      if (Number.isNaN(all[h])) expect(Number.isNaN(bf16BitsToF32(bits[h]!))).toBe(true);
      else if (bits[h] !== h || f32ToBf16Bits(all[h]!) !== h) throw new Error(`bf16 0x${h.toString(16)} changed`);
    }
  });

  it('rounds midpoints to even', () => {
    expect(f32ToBf16Bits(1 + 2 ** -8)).toBe(0x3f80);
    expect(f32ToBf16Bits(1 + 3 * 2 ** -8)).toBe(0x3f82);
    expect(f32ToBf16Bits(1 + 2 ** -8 + 2 ** -20)).toBe(0x3f81);
  });
});

describe('F8', () => {
  it('decodes E4M3 and E5M2 reference points', () => {
    expect(f8e4m3ToF32(0x38)).toBe(1);
    expect(f8e4m3ToF32(0x7e)).toBe(448);
    expect(Number.isNaN(f8e4m3ToF32(0x7f))).toBe(true);
    expect(f8e4m3ToF32(0x01)).toBe(2 ** -9);
    expect(f8e5m2ToF32(0x3c)).toBe(1);
    expect(f8e5m2ToF32(0x7b)).toBe(57344);
    expect(f8e5m2ToF32(0x7c)).toBe(Infinity);
  });
});
