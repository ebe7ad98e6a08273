// bf16 weight storage (train.weightDtype: bfloat16): a weight rests as bfloat16 bits; while it trains it is an
// fp32 master made from its bf16 value (AdamW updates the master; forward and backward use it); when it stops
// training the master is rounded back to bf16 (round to nearest even) and freed. Masters count as 'weights':
// a master replaces its bf16 copy (never both), so 'weights' is what the model's weights occupy right now.
import { Parameter, Storage, bf16Storage } from './tensor.js';
import type { DType } from '../backends/backend.js';
import { DTypeError } from '../util/errors.js';

/** Rounds a float32 parameter to bfloat16 storage (RNE) and marks it bf16Rest; no-op when already bf16. */
export function toBf16Rest(p: Parameter): void {
  if (p.dtype === 'bfloat16') {
    p.bf16Rest = true;
    return;
  }
  if (p.dtype !== 'float32') throw new DTypeError(`parameter ${p.describe()}: only float32 weights can be stored in bfloat16`);
  if (p.isShapeOnly) {
    p.swapStorage(bf16Storage(p.backend, p.size, 'weights'), 'bfloat16'); // meta: logical size only
  } else {
    const bits = p.backend.allocBits(p.size);
    p.backend.castBf16(p.buf, bits, p.size);
    p.swapStorage(new Storage(bits, 'weights'), 'bfloat16');
  }
  p.bf16Rest = true;
}

/** Gives a bf16Rest parameter its fp32 master, made from the bf16 value (exact); the bf16 bits are freed. */
export function makeMaster(p: Parameter): void {
  if (!p.bf16Rest || p.dtype === 'float32') return;
  const buf = p.backend.alloc('float32', p.size) as Float32Array; // empty on meta (logical size kept below)
  if (!p.isShapeOnly) p.backend.widenBf16(p.bits, buf, p.size);
  p.swapStorage(new Storage(buf, 'weights', null, 4 * p.size), 'float32');
}

/** Rounds a bf16Rest parameter's master back to bfloat16 (RNE) and frees the master. */
export function dropMaster(p: Parameter): void {
  if (!p.bf16Rest || p.dtype === 'bfloat16') return;
  p.zeroGrad();
  toBf16Rest(p);
}

/** Masters exactly for the parameters that train: trainable bf16Rest parameters get one, frozen ones lose it. */
export function syncMasters(params: Iterable<Parameter>): void {
  for (const p of params) {
    if (!p.bf16Rest) continue;
    if (p.requiresGrad) makeMaster(p);
    else dropMaster(p);
  }
}

/** Stores every parameter in bfloat16 (model.to(torch.bfloat16)), one tensor at a time. */
export function castToBf16(params: Iterable<Parameter>): void {
  for (const p of params) toBf16Rest(p);
}

/** Bytes of fp32 masters alive (bf16Rest parameters that currently train). */
export function masterBytes(params: Iterable<Parameter>): number {
  let n = 0;
  for (const p of params) if (p.bf16Rest && p.dtype === 'float32') n += p.bytes;
  return n;
}

/** The dtype compute and activations use next to weights of dtype d: float32 for bfloat16 weights. */
export function computeDtype(d: DType): DType {
  return d === 'bfloat16' ? 'float32' : d;
}
