// cpu-js AdamW step in torch.optim.AdamW order: decoupled decay, moments, bias-corrected update.
import type { AdamWTensor, Buf } from '../backend.js';

export function adamw(p: Buf, g: Buf, m: Buf, v: Buf, n: number, lr: number, beta1: number, beta2: number,
  eps: number, weightDecay: number, step: number, gradScale = 1): void {
  const decay = 1 - lr * weightDecay;
  const bc1 = 1 - Math.pow(beta1, step);
  const bc2 = 1 - Math.pow(beta2, step);
  for (let i = 0; i < n; i++) {
    // g * gradScale as an in-place scaling of g would store it (float32 buffers round; 1 is exact).
    const gi = gradScale === 1 ? g[i]! : g instanceof Float32Array ? Math.fround(g[i]! * gradScale) : g[i]! * gradScale;
    const mi = beta1 * m[i]! + (1 - beta1) * gi;
    const vi = beta2 * v[i]! + (1 - beta2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] = p[i]! * decay - lr * (mi / bc1) / (Math.sqrt(vi / bc2) + eps);
  }
}

export function adamwMany(ts: readonly AdamWTensor[], lr: number, beta1: number, beta2: number, eps: number, gradScale: number): void {
  for (const t of ts) adamw(t.p, t.g, t.m, t.v, t.n, lr, beta1, beta2, eps, t.weightDecay, t.step, gradScale);
}
