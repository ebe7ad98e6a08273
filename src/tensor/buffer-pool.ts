// A caching allocator for tensor buffers (like PyTorch's): freed buffers of 64 KiB or more are kept by exact
// length and handed out again, zeroed, so a training step reuses last step's memory instead of faulting in
// fresh pages. Cached bytes are not live: accounting counts only buffers in use. Meta buffers hold no memory,
// so they are never cached (their logical bytes would crowd out real buffers).
import type { Backend, Buf, DType } from '../backends/backend.js';

const MIN_BYTES = 64 * 1024;
const pools = new Map<string, Buf[]>();
let cachedBytes = 0;
const limitBytes = Number(process.env.LISA_POOL_BYTES ?? 2 * 1024 ** 3);

const key = (backend: Backend, dtype: DType, n: number) => `${backend.name}:${dtype}:${n}`;

/** A zeroed buffer of n elements: a cached one when available, else a new one from the backend. */
export function allocBuffer(backend: Backend, dtype: DType, n: number): Buf {
  if (!backend.holdsData) return backend.alloc(dtype, n);
  const list = pools.get(key(backend, dtype, n));
  const buf = list?.pop();
  if (!buf) return backend.alloc(dtype, n);
  cachedBytes -= buf.byteLength;
  buf.fill(0);
  return buf;
}

/** Takes back a buffer nobody uses any more. */
export function releaseBuffer(backend: Backend, dtype: DType, buf: Buf): void {
  if (!backend.holdsData) return;
  if (buf.byteLength < MIN_BYTES || cachedBytes + buf.byteLength > limitBytes) return;
  const k = key(backend, dtype, buf.length);
  const list = pools.get(k);
  if (list) list.push(buf);
  else pools.set(k, [buf]);
  cachedBytes += buf.byteLength;
}

/** Bytes held in the cache (not in use). */
export function pooledBytes(): number {
  return cachedBytes;
}
