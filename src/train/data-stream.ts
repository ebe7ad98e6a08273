// The training stream: examples visited epoch by epoch in a seeded order (or file order), batched; its
// position is one number (examples consumed), saved in checkpoints so a resumed run sees the same batches.
import type { Example } from '../data/example.js';
import { Rng } from '../util/rng.js';
import { ArgumentError } from '../util/errors.js';

export class DataStream {
  cursor = 0;
  private orderEpoch = -1;
  private order: number[] = [];

  constructor(private readonly examples: readonly Example[], private readonly opts: { batchSize: number; shuffle: boolean; seed: number }) {
    if (examples.length === 0) throw new ArgumentError('the training set is empty');
  }

  get size(): number { return this.examples.length; }

  /** The next batchSize examples (wrapping into the next epoch). */
  next(): Example[] {
    const out: Example[] = [];
    for (let i = 0; i < this.opts.batchSize; i++) {
      const n = this.examples.length;
      const epoch = Math.floor(this.cursor / n);
      if (epoch !== this.orderEpoch) {
        this.order = Array.from({ length: n }, (_, k) => k);
        if (this.opts.shuffle) new Rng(this.opts.seed * 1000003 + epoch).shuffle(this.order);
        this.orderEpoch = epoch;
      }
      out.push(this.examples[this.order[this.cursor % n]]);
      this.cursor++;
    }
    return out;
  }
}
