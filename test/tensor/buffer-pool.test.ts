// The tensor buffer pool: freed buffers come back, zeroed unless the caller asked for an unfilled output.
import { describe, expect, it } from 'vitest';
import { Tensor } from '../../src/tensor/tensor.js';
import { pooledBytes } from '../../src/tensor/buffer-pool.js';
import { BACKENDS } from '../backends-under-test.js';

// Under LISA_POISON_UNINIT=1 (test:sanitize) an unfilled buffer reads NaN instead of its stale values.
const poisoned = process.env.LISA_POISON_UNINIT === '1';

describe.each(BACKENDS)('buffer pool on %s', (_name, backend) => {
  const shape = [257, 255]; // 262 KB: above the pool's 64 KiB floor; a length no other test uses
  const fillOnes = (t: Tensor) => backend.fill(t.buf, 1);

  it('hands a freed buffer out again, zeroed for Tensor.empty', () => {
    const a = Tensor.empty(shape, { backend });
    fillOnes(a);
    const buf = a.buf;
    const pooled = pooledBytes();
    a.dispose();
    expect(pooledBytes()).toBe(pooled + 257 * 255 * 4);
    const b = Tensor.empty(shape, { backend });
    expect(b.buf).toBe(buf); // the same memory, reused
    expect(pooledBytes()).toBe(pooled);
    expect(b.toArray().every((v) => v === 0)).toBe(true);
    b.dispose();
  });

  it('leaves an uninitialized output unfilled: stale values (NaN under LISA_POISON_UNINIT=1)', () => {
    const a = Tensor.empty(shape, { backend });
    fillOnes(a);
    const buf = a.buf;
    a.dispose();
    const b = Tensor.empty(shape, { backend, uninitialized: true });
    expect(b.buf).toBe(buf);
    const values = b.toArray();
    expect(values.every((v) => (poisoned ? Number.isNaN(v) : v === 1))).toBe(true);
    b.dispose();
  });
});
