// A caching allocator for tensor buffers (like PyTorch's): freed buffers of 64 KiB or more are kept by exact
// length and handed out again, so a training step reuses last step's memory instead of faulting in fresh pages.
// A buffer is zeroed on reuse unless the caller will overwrite every element (an op's output: zeroing 1.2 GB
// per GPT-2 step cost 5-7% of it). LISA_POISON_UNINIT=1 fills such buffers with NaN instead (test:sanitize
// runs with it), so a kernel that reads an output it did not write shows up as NaN. Cached bytes are not live:
// accounting counts only buffers in use. Meta buffers hold no memory, so they are never cached (their logical
// bytes would crowd out real buffers).
import type { Backend, Buf, DType } from '../backends/backend.js';

const MIN_BYTES = 64 * 1024;
const pools = new Map<string, Buf[]>();
let cachedBytes = 0;
const limitBytes = Number(process.env.LISA_POOL_BYTES ?? 2 * 1024 ** 3);

const key = (backend: Backend, dtype: DType, n: number) => `${backend.name}:${dtype}:${n}`;

const poison = process.env.LISA_POISON_UNINIT === '1';

/** A buffer of n elements, a cached one when available, else a new one from the backend: zeroed, or with
 *  unspecified contents when `zeroed` is false (the caller writes every element before reading any). */
export function allocBuffer(backend: Backend, dtype: DType, n: number, zeroed = true): Buf {
  if (!backend.holdsData) return backend.alloc(dtype, n);
  const buf = pools.get(key(backend, dtype, n))?.pop();
  if (buf) cachedBytes -= buf.byteLength;
  const out = buf ?? backend.alloc(dtype, n); // a new buffer is zeroed
  if (!zeroed && poison) out.fill(NaN);
  else if (zeroed && buf) out.fill(0);
  return out;
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
