// scope() keeps every tensor its callback returns, however deep it sits (arrays, Maps, Sets, objects, class
// instances, cycles), usable after the scope; everything else created inside is freed.
import { describe, expect, it } from 'vitest';
import { Tensor } from '../../src/tensor/tensor.js';
import { scope } from '../../src/tensor/scope.js';
import { memoryReport } from '../../src/tensor/memory.js';
import * as ops from '../../src/ops/index.js';
import { cpuJs } from '../../src/backends/cpu-js/index.js';

const t = (v: number) => ops.tensor([v, v + 1], [2], { backend: cpuJs });

class Holder { constructor(readonly inner: { deep: Tensor[] }) {} }

describe('scope result', () => {
  it('keeps tensors nested 10 levels deep and inside Maps, Sets, class instances and cycles', () => {
    const before = memoryReport().liveStorages;
    const r = scope(() => {
      ops.add(t(100), t(200)); // garbage: freed at the end of the scope
      let deep: unknown = t(1);
      for (let i = 0; i < 10; i++) deep = i % 2 ? [deep] : { next: deep };
      const cyclic: { self?: unknown; x: Tensor } = { x: t(2) };
      cyclic.self = cyclic;
      return { deep, map: new Map([['k', t(3)]]), set: new Set([t(4)]), holder: new Holder({ deep: [t(5)] }), cyclic };
    });
    let deep: unknown = r.deep;
    for (let i = 9; i >= 0; i--) deep = i % 2 ? (deep as unknown[])[0] : (deep as { next: unknown }).next;
    expect((deep as Tensor).toArray()).toEqual([1, 2]);
    expect(r.map.get('k')!.toArray()).toEqual([3, 4]);
    expect([...r.set][0]!.toArray()).toEqual([4, 5]);
    expect(r.holder.inner.deep[0]!.toArray()).toEqual([5, 6]);
    expect(r.cyclic.x.toArray()).toEqual([2, 3]);
    // The 5 returned tensors keep their storage; the discarded sum and its inputs are freed.
    expect(memoryReport().liveStorages - before).toBe(5);
  });
});
