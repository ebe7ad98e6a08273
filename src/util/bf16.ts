// bfloat16 <-> float32 bit conversions: round to nearest even (as torch's .to(torch.bfloat16)), exact widening.

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** float32 -> bfloat16 bits, round to nearest even; NaN stays NaN (sign kept, quiet bit set); Inf stays Inf. */
export function f32ToBf16Bits(x: number): number {
  f32Scratch[0] = x;
  const b = u32Scratch[0]!;
  if ((b & 0x7f800000) === 0x7f800000 && (b & 0x007fffff) !== 0) return (b >>> 16) | 0x0040;
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}

/** bfloat16 bits -> float32 value (exact). */
export function bf16BitsToF32(h: number): number {
  u32Scratch[0] = (h & 0xffff) << 16;
  return f32Scratch[0]!;
}

/** Rounds a float32 array to bfloat16 bits (RNE), into dst. */
export function f32ArrayToBf16Bits(src: Float32Array, dst: Uint16Array = new Uint16Array(src.length)): Uint16Array {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < src.length; i++) {
    const b = bits[i]!;
    dst[i] = (b & 0x7f800000) === 0x7f800000 && (b & 0x007fffff) !== 0
      ? (b >>> 16) | 0x0040
      : (b + 0x7fff + ((b >>> 16) & 1)) >>> 16;
  }
  return dst;
}

/** Widens bfloat16 bits to float32 values (exact), into dst. */
export function bf16BitsArrayToF32(src: Uint16Array, dst: Float32Array = new Float32Array(src.length)): Float32Array {
  const out = new Uint32Array(dst.buffer, dst.byteOffset, dst.length);
  for (let i = 0; i < src.length; i++) out[i] = src[i]! << 16;
  return dst;
}
