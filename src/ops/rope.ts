// Rotary position embedding in both layouts: HF rotate-half and interleaved pairs (llama2.c, GGUF),
// plus the cos/sin table for given positions.
import type { Tensor } from '../tensor/tensor.js';
import { record } from '../autograd/tape.js';
import { ArgumentError, ShapeError } from '../util/errors.js';
import { fmtShape } from '../util/shape.js';
import { checkMinRank, checkNumber, checkSame, checkTensor } from './validate.js';
import { copies, dense, outputLike, release } from './alloc.js';
import { tensor, type CreateOpts } from './creation.js';

export type RopeLayout = 'half' | 'interleaved';

/** cos and sin tables (T, hs/2) for positions start..start+T-1: angle = pos * invFreq[i], by default
 *  invFreq[i] = theta^(-2i/hs). */
export function ropeTables(T: number, hs: number, theta: number, start = 0, opts: CreateOpts & { invFreq?: Float64Array } = {}): { cos: Tensor; sin: Tensor } {
  checkNumber('ropeTables', 'T', T, { integer: true, min: 0 });
  checkNumber('ropeTables', 'headSize', hs, { integer: true, min: 2 });
  checkNumber('ropeTables', 'start', start, { integer: true, min: 0 });
  if (hs % 2 !== 0) throw new ArgumentError(`ropeTables: head size ${hs} must be even`);
  if (opts.invFreq && opts.invFreq.length !== hs / 2) throw new ArgumentError(`ropeTables: invFreq has ${opts.invFreq.length} entries, expected ${hs / 2}`);
  const half = hs / 2;
  const c = new Float64Array(T * half);
  const s = new Float64Array(T * half);
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < half; i++) {
      const angle = (start + t) * (opts.invFreq ? opts.invFreq[i] : Math.pow(theta, (-2 * i) / hs));
      c[t * half + i] = Math.cos(angle);
      s[t * half + i] = Math.sin(angle);
    }
  }
  const create = { dtype: opts.dtype, backend: opts.backend, category: opts.category };
  return { cos: tensor(c, [T, half], create), sin: tensor(s, [T, half], create) };
}

/** Rotates x (..., T, hs) by the angles in cos/sin (T, hs/2). */
export function rope(x: Tensor, cos: Tensor, sin: Tensor, layout: RopeLayout = 'half'): Tensor {
  checkTensor('rope', 'x', x);
  checkTensor('rope', 'cos', cos);
  checkTensor('rope', 'sin', sin);
  checkSame('rope', { x, cos, sin });
  checkMinRank('rope', 'x', x, 2);
  if (layout !== 'half' && layout !== 'interleaved') throw new ArgumentError(`rope: unknown layout '${String(layout)}'`);
  const [T, hs] = x.shape.slice(-2);
  if (hs % 2 !== 0) throw new ShapeError(`rope: head size ${hs} of x ${fmtShape(x.shape)} must be even`);
  for (const [n, t] of [['cos', cos], ['sin', sin]] as const) {
    if (t.rank !== 2 || t.shape[0] !== T || t.shape[1] !== hs / 2) {
      throw new ShapeError(`rope: ${n} ${fmtShape(t.shape)} must be [${T}, ${hs / 2}] for x ${fmtShape(x.shape)}`);
    }
  }
  const outer = x.size / (T * hs || 1);
  const cd = dense(cos);
  const sd = dense(sin);
  const apply = (src: Tensor, inverse: boolean): Tensor => {
    const d = dense(src);
    const out = outputLike(src);
    x.backend.rope(d.buf, cd.buf, sd.buf, outer, T, hs, layout === 'half', inverse, out.buf);
    release(d, src);
    return out;
  };
  const y = apply(x, false);
  // d rope: the inverse rotation of g (rotation matrices are orthogonal)
  return record(y, 'rope', [x], (g) => [apply(g, true)], [cd, sd], copies([cd, cos], [sd, sin]));
}
