// N-d strided iteration for cpu-js: alloc (and bf16 storage with its casts), fill, read/write/sum from TypeScript, copyStrided, and the odometer helper binary also uses.
import type { Buf, DType } from '../backend.js';
import { bf16BitsArrayToF32, bf16BitsToF32, f32ArrayToBf16Bits } from '../../util/bf16.js';

export function alloc(dtype: DType, n: number): Buf {
  return dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
}

export const allocBits = (n: number): Uint16Array => new Uint16Array(n);
export const castBf16 = (src: Buf, dst: Uint16Array, n: number): void => {
  f32ArrayToBf16Bits(src instanceof Float32Array ? src.subarray(0, n) : Float32Array.from(src.subarray(0, n)), dst.subarray(0, n));
};
export const widenBf16 = (src: Uint16Array, dst: Buf, n: number): void => {
  if (dst instanceof Float32Array) bf16BitsArrayToF32(src.subarray(0, n), dst.subarray(0, n));
  else for (let i = 0; i < n; i++) dst[i] = bf16BitsToF32(src[i]!);
};

export function fill(out: Buf, value: number): void {
  out.fill(value);
}

export const read = (buf: Buf, i: number): number => buf[i]!;

export function write(buf: Buf, offset: number, values: ArrayLike<number>): void {
  buf.set(values, offset);
}

export function sum(x: Buf, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += x[i]!;
  return s;
}

/** Advances counter over dims [0, dims) of shape like an odometer (last dim fastest). False when it wraps. */
export function nextIndex(counter: number[], shape: readonly number[], dims: number): boolean {
  for (let d = dims - 1; d >= 0; d--) {
    if (++counter[d]! < shape[d]!) return true;
    counter[d] = 0;
  }
  return false;
}

/** offset + sum(counter[d] * strides[d]) over dims [0, dims). */
export function offsetOf(offset: number, counter: readonly number[], strides: readonly number[], dims: number): number {
  let o = offset;
  for (let d = 0; d < dims; d++) o += counter[d]! * strides[d]!;
  return o;
}

export function copyStrided(src: Buf, srcOffset: number, srcStrides: readonly number[],
  dst: Buf, dstOffset: number, dstStrides: readonly number[], shape: readonly number[]): void {
  const r = shape.length;
  if (r === 0) { dst[dstOffset] = src[srcOffset]!; return; }
  if (shape.some((s) => s === 0)) return;
  const inner = shape[r - 1]!, ss = srcStrides[r - 1]!, ds = dstStrides[r - 1]!;
  const counter = new Array<number>(r - 1).fill(0);
  do {
    let si = offsetOf(srcOffset, counter, srcStrides, r - 1);
    let di = offsetOf(dstOffset, counter, dstStrides, r - 1);
    for (let i = 0; i < inner; i++, si += ss, di += ds) dst[di] = src[si]!;
  } while (nextIndex(counter, shape, r - 1));
}
