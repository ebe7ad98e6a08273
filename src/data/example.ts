// Training examples and batches: token ids with labels (-100 masks a position from the loss), padded into
// (B, T) batches whose targets are the labels shifted by one.
import { ArgumentError } from '../util/errors.js';

export const IGNORE_INDEX = -100;

/** One tokenized example. labels[t] is the token expected at position t (or IGNORE_INDEX). */
export interface Example { ids: number[]; labels: number[] }

/** A (B, T) batch: ids row-major, targets[b, t] = labels[b, t + 1] (the next token), padding ignored. */
export interface Batch { ids: Int32Array; targets: Int32Array; B: number; T: number; tokens: number }

export function makeBatch(examples: readonly Example[], padId = 0): Batch {
  if (examples.length === 0) throw new ArgumentError('makeBatch: no examples');
  const B = examples.length;
  const T = Math.max(...examples.map((e) => e.ids.length));
  const ids = new Int32Array(B * T).fill(padId);
  const targets = new Int32Array(B * T).fill(IGNORE_INDEX);
  let tokens = 0;
  examples.forEach((e, b) => {
    for (let t = 0; t < e.ids.length; t++) {
      ids[b * T + t] = e.ids[t];
      if (t + 1 < e.labels.length && e.labels[t + 1] !== IGNORE_INDEX) {
        targets[b * T + t] = e.labels[t + 1];
        tokens++;
      }
    }
  });
  return { ids, targets, B, T, tokens };
}
