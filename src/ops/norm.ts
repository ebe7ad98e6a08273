// LayerNorm (GPT-2) and RMSNorm (Llama) over the last dim, with fused forward and backward kernels.
import type { Tensor } from '../tensor/tensor.js';
import { record } from '../autograd/tape.js';
import { ShapeError } from '../util/errors.js';
import { fmtShape } from '../util/shape.js';
import { checkMinRank, checkNumber, checkTensor, checkWeight } from './validate.js';
import { copies, dense, denseF32, emptyLike, outputLike, release } from './alloc.js';

function checkNormArgs(op: string, x: Tensor, w: Tensor, b: Tensor | null, eps: number): number {
  checkTensor(op, 'x', x);
  checkTensor(op, 'weight', w);
  checkWeight(op, x, { weight: w });
  checkMinRank(op, 'x', x, 1);
  const C = x.shape[x.rank - 1];
  if (w.rank !== 1 || w.shape[0] !== C) throw new ShapeError(`${op}: weight${w.name ? ` '${w.name}'` : ''} ${fmtShape(w.shape)} must be [${C}] for x ${fmtShape(x.shape)}`);
  if (b) {
    checkTensor(op, 'bias', b);
    checkWeight(op, x, { bias: b });
    if (b.rank !== 1 || b.shape[0] !== C) throw new ShapeError(`${op}: bias${b.name ? ` '${b.name}'` : ''} ${fmtShape(b.shape)} must be [${C}]`);
  }
  checkNumber(op, 'eps', eps, { min: 0 });
  return C;
}

/** (x - mean) / sqrt(var + eps) * w + b over the last dim (biased variance, as torch). */
export function layerNorm(x: Tensor, w: Tensor, b: Tensor | null, eps = 1e-5): Tensor {
  const C = checkNormArgs('layerNorm', x, w, b, eps);
  const rows = x.size / C;
  const xd = dense(x);
  const wd = denseF32(w); // a bfloat16 weight is widened into a small (C) temporary
  const bd = b ? denseF32(b) : null;
  const y = outputLike(x);
  const mean = outputLike(x, [rows]);
  const rstd = outputLike(x, [rows]);
  x.backend.layerNorm(xd.buf, wd.buf, bd ? bd.buf : null, rows, C, eps, y.buf, mean.buf, rstd.buf);
  if (bd && b) release(bd, b);
  const inputs = b ? [x, w, b] : [x, w];
  // d layerNorm: dx = rstd * (gŵ - mean(gŵ) - x̂ mean(gŵ x̂)), ŵ = w; dw = sum g x̂; db = sum g
  return record(y, 'layerNorm', inputs, (g, needs) => {
    const gd = dense(g);
    const gx = needs[0] ? outputLike(x) : null;
    const gw = needs[1] ? emptyLike(w) : null; // dw and db accumulate
    const gb = b && needs[2] ? emptyLike(b) : null;
    x.backend.layerNormBackward(xd.buf, wd.buf, mean.buf, rstd.buf, gd.buf, rows, C,
      gx ? gx.buf : null, gw ? gw.buf : null, gb ? gb.buf : null);
    return [gx, gw, gb];
  }, [xd, wd, mean, rstd], [mean, rstd, ...copies([xd, x], [wd, w])]);
}

/** x / sqrt(mean(x^2) + eps) * w over the last dim (Llama's RMSNorm). */
export function rmsNorm(x: Tensor, w: Tensor, eps = 1e-6): Tensor {
  const C = checkNormArgs('rmsNorm', x, w, null, eps);
  const rows = x.size / C;
  const xd = dense(x);
  const wd = denseF32(w); // a bfloat16 weight is widened into a small (C) temporary
  const y = outputLike(x);
  const rstd = outputLike(x, [rows]);
  x.backend.rmsNorm(xd.buf, wd.buf, rows, C, eps, y.buf, rstd.buf);
  // d rmsNorm: dx = rstd * (g w - x̂ mean(g w x̂)), x̂ = x rstd; dw = sum g x̂
  return record(y, 'rmsNorm', [x, w], (g, needs) => {
    const gd = dense(g);
    const gx = needs[0] ? outputLike(x) : null;
    const gw = needs[1] ? emptyLike(w) : null; // dw accumulates
    x.backend.rmsNormBackward(xd.buf, wd.buf, rstd.buf, gd.buf, rows, C, gx ? gx.buf : null, gw ? gw.buf : null);
    return [gx, gw];
  }, [xd, wd, rstd], [rstd, ...copies([xd, x], [wd, w])]);
}
