// Packing: concatenates short examples into rows of exactly maxLength tokens so batches waste less on padding.
import { ArgumentError } from '../util/errors.js';
import { IGNORE_INDEX, type Example } from './example.js';

/**
 * Greedy, order-preserving packing. Examples are appended to the current row while they fit; an example that does
 * not fit closes the row, which is padded to maxLength (ids padId, labels IGNORE_INDEX), and starts the next one.
 * Examples are never split across rows (truncate them to maxLength first; a longer one is an ArgumentError).
 * Inside a row an example's first label is set to IGNORE_INDEX: on its own that position is never a target (position
 * t predicts labels[t + 1]), so the row has exactly the targets of its examples, and nothing is learned across the
 * seam from the previous example's last token. Attention is not reset at the seams (examples see earlier ones),
 * as in the usual concatenation packing.
 */
export function packExamples(examples: readonly Example[], maxLength: number, padId: number): Example[] {
  if (!Number.isInteger(maxLength) || maxLength < 1) throw new ArgumentError(`packExamples: maxLength must be a positive integer, got ${maxLength}`);
  const rows: Example[] = [];
  let ids: number[] = [];
  let labels: number[] = [];
  const close = () => {
    if (ids.length === 0) return;
    while (ids.length < maxLength) {
      ids.push(padId);
      labels.push(IGNORE_INDEX);
    }
    rows.push({ ids, labels });
    ids = [];
    labels = [];
  };
  examples.forEach((e, i) => {
    if (e.ids.length > maxLength) throw new ArgumentError(`packExamples: example ${i} has ${e.ids.length} tokens, more than maxLength ${maxLength}; truncate first`);
    if (e.ids.length === 0) return;
    if (ids.length + e.ids.length > maxLength) close();
    ids.push(...e.ids);
    labels.push(IGNORE_INDEX, ...e.labels.slice(1, e.ids.length));
  });
  close();
  return rows;
}
