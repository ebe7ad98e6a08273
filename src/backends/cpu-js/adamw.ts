// cpu-js AdamW step in torch.optim.AdamW order: decoupled decay, moments, bias-corrected update.
import type { Buf } from '../backend.js';

export function adamw(p: Buf, g: Buf, m: Buf, v: Buf, n: number, lr: number, beta1: number, beta2: number,
  eps: number, weightDecay: number, step: number): void {
  const decay = 1 - lr * weightDecay;
  const bc1 = 1 - Math.pow(beta1, step);
  const bc2 = 1 - Math.pow(beta2, step);
  for (let i = 0; i < n; i++) {
    const gi = g[i]!;
    const mi = beta1 * m[i]! + (1 - beta1) * gi;
    const vi = beta2 * v[i]! + (1 - beta2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] = p[i]! * decay - lr * (mi / bc1) / (Math.sqrt(vi / bc2) + eps);
  }
}
