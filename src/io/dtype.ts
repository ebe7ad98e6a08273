// safetensors dtype table and bit-exact float conversions (BF16/F16/F8 <-> float32, round-to-nearest-even).

/** Every dtype name the safetensors format defines. */
export const SAFETENSORS_DTYPES = [
  'BOOL', 'U8', 'I8', 'F8_E5M2', 'F8_E4M3', 'F8_E8M0', 'I16', 'U16', 'F16', 'BF16',
  'I32', 'U32', 'F32', 'F64', 'I64', 'U64', 'F4', 'F6_E2M3', 'F6_E3M2',
] as const;
export type SafetensorsDtype = (typeof SAFETENSORS_DTYPES)[number];

/** Size of one element in bits (sub-byte dtypes F4/F6 pack several elements per byte). */
export const DTYPE_BITS: Readonly<Record<SafetensorsDtype, number>> = {
  BOOL: 8, U8: 8, I8: 8, F8_E5M2: 8, F8_E4M3: 8, F8_E8M0: 8, I16: 16, U16: 16, F16: 16, BF16: 16,
  I32: 32, U32: 32, F32: 32, F64: 64, I64: 64, U64: 64, F4: 4, F6_E2M3: 6, F6_E3M2: 6,
};

/**
 * Order used by the reference writer (Rust `safetensors`) to place tensors: larger dtype rank first,
 * then by name. This is the Rust `Dtype` enum declaration order.
 */
export const DTYPE_RANK: Readonly<Record<SafetensorsDtype, number>> = {
  BOOL: 0, F4: 1, F6_E2M3: 2, F6_E3M2: 3, U8: 4, I8: 5, F8_E5M2: 6, F8_E4M3: 7, F8_E8M0: 8,
  I16: 9, U16: 10, F16: 11, BF16: 12, I32: 13, U32: 14, F32: 15, F64: 16, I64: 17, U64: 18,
};

export function isSafetensorsDtype(s: unknown): s is SafetensorsDtype {
  return typeof s === 'string' && Object.prototype.hasOwnProperty.call(DTYPE_BITS, s);
}

import { bf16BitsArrayToF32, f32ArrayToBf16Bits } from '../util/bf16.js';
export { f32ToBf16Bits, bf16BitsToF32, f32ArrayToBf16Bits, bf16BitsArrayToF32 } from '../util/bf16.js';

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);



/** float32 -> IEEE half bits, round to nearest even, with subnormals; overflow gives +-Inf, NaN stays NaN. */
export function f32ToF16Bits(x: number): number {
  f32Scratch[0] = x;
  const b = u32Scratch[0]!;
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x0200 | (mant >>> 13) : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign; // below half the smallest subnormal: rounds to zero
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (h & 1) === 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1) === 1)) h++; // a carry into the exponent is correct rounding
  return sign | h;
}

/** IEEE half bits -> float32 value (exact). */
export function f16BitsToF32(h: number): number {
  const sign = (h & 0x8000) !== 0 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) {
    u32Scratch[0] = ((h & 0x8000) << 16) | 0x7f800000 | (mant << 13);
    return f32Scratch[0]!;
  }
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

let f16Table: Float32Array | undefined;
/** 65536-entry table half bits -> float32 (built on first use, 256 KiB). */
export function f16Table65536(): Float32Array {
  if (f16Table === undefined) {
    const t = new Float32Array(65536);
    for (let i = 0; i < 65536; i++) t[i] = f16BitsToF32(i);
    f16Table = t;
  }
  return f16Table;
}

/** F8_E5M2 byte -> float32 (it is the top byte of an IEEE half). */
export function f8e5m2ToF32(b: number): number {
  return f16BitsToF32((b & 0xff) << 8);
}

/** F8_E4M3 (the "fn" variant: bias 7, no infinities, S.1111.111 is NaN) byte -> float32. */
export function f8e4m3ToF32(b: number): number {
  const sign = (b & 0x80) !== 0 ? -1 : 1;
  const exp = (b >>> 3) & 0xf;
  const mant = b & 0x7;
  if (exp === 0xf && mant === 0x7) return NaN;
  if (exp === 0) return sign * mant * 2 ** -9;
  return sign * (1 + mant / 8) * 2 ** (exp - 7);
}

/** F8_E8M0 (exponent-only scale, bias 127, 0xFF is NaN) byte -> float32. */
export function f8e8m0ToF32(b: number): number {
  return (b & 0xff) === 0xff ? NaN : 2 ** ((b & 0xff) - 127);
}



/** Convert a whole array to IEEE half bits. */
export function f32ArrayToF16Bits(src: Float32Array, dst = new Uint16Array(src.length)): Uint16Array {
  for (let i = 0; i < src.length; i++) dst[i] = f32ToF16Bits(src[i]!);
  return dst;
}

/** Convert IEEE half bits to float32 values. */
export function f16BitsArrayToF32(src: Uint16Array, dst = new Float32Array(src.length)): Float32Array {
  const t = f16Table65536();
  for (let i = 0; i < src.length; i++) dst[i] = t[src[i]!]!;
  return dst;
}

/** The values float32 data takes after a trip through bfloat16 (what a BF16 save then load gives). */
export function roundToBf16(src: Float32Array): Float32Array {
  return bf16BitsArrayToF32(f32ArrayToBf16Bits(src));
}

/** The values float32 data takes after a trip through IEEE half. */
export function roundToF16(src: Float32Array): Float32Array {
  return f16BitsArrayToF32(f32ArrayToF16Bits(src));
}
