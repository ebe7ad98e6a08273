// Global-norm gradient clipping over the trainable parameters (torch.nn.utils.clip_grad_norm_).
import type { Parameter } from '../tensor/tensor.js';

/** The global L2 norm of the gradients of the trainable parameters. */
export function gradNorm(params: readonly Parameter[]): number {
  let sq = 0;
  for (const p of params) if (p.requiresGrad && p.grad) sq += p.backend.sumSquares(p.grad.buf, p.grad.size);
  return Math.sqrt(sq);
}

/** torch's clip coefficient min(1, maxNorm / (norm + 1e-6)): AdamW.step(params, lr, coef) applies it as it reads
 *  the gradients, which equals clipGradNorm followed by a plain step. */
export function clipCoefficient(norm: number, maxNorm: number): number {
  return Math.min(1, maxNorm / (norm + 1e-6));
}

/** Scales gradients by min(1, maxNorm / (norm + 1e-6)), as torch does; returns the norm before clipping. */
export function clipGradNorm(params: readonly Parameter[], maxNorm: number): number {
  const norm = gradNorm(params);
  const coef = clipCoefficient(norm, maxNorm);
  if (coef < 1) {
    for (const p of params) {
      if (!p.requiresGrad || !p.grad) continue;
      const g = p.grad.buf;
      p.backend.unary('affine', g, g, p.grad.size, coef, 0);
    }
  }
  return norm;
}
