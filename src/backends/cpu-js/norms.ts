// cpu-js LayerNorm and RMSNorm over rows of C, forward and backward; statistics accumulate in float64.
import type { Buf } from '../backend.js';

export function layerNorm(x: Buf, w: Buf, b: Buf | null, rows: number, C: number, eps: number,
  y: Buf, mean: Buf, rstd: Buf): void {
  for (let r = 0; r < rows; r++) {
    const o = r * C;
    let sum = 0;
    for (let c = 0; c < C; c++) sum += x[o + c]!;
    const mu = sum / C;
    let ss = 0;
    for (let c = 0; c < C; c++) { const d = x[o + c]! - mu; ss += d * d; }
    const rs = 1 / Math.sqrt(ss / C + eps);
    mean[r] = mu;
    rstd[r] = rs;
    for (let c = 0; c < C; c++) y[o + c] = (x[o + c]! - mu) * rs * w[c]! + (b ? b[c]! : 0);
  }
}

// d layerNorm: xhat = (x-mean)*rstd, dxhat = gy*w; dx = rstd*(dxhat - mean(dxhat) - xhat*mean(dxhat*xhat));
// dw += gy*xhat; db += gy
export function layerNormBackward(x: Buf, w: Buf, mean: Buf, rstd: Buf, gy: Buf, rows: number, C: number,
  dx: Buf | null, dw: Buf | null, db: Buf | null): void {
  const dwAcc = new Float64Array(dw ? C : 0);
  const dbAcc = new Float64Array(db ? C : 0);
  for (let r = 0; r < rows; r++) {
    const o = r * C, mu = mean[r]!, rs = rstd[r]!;
    if (dx) {
      let sumD = 0, sumDX = 0;
      for (let c = 0; c < C; c++) {
        const dh = gy[o + c]! * w[c]!;
        sumD += dh;
        sumDX += dh * (x[o + c]! - mu) * rs;
      }
      const mD = sumD / C, mDX = sumDX / C;
      for (let c = 0; c < C; c++) {
        const xh = (x[o + c]! - mu) * rs;
        dx[o + c] = rs * (gy[o + c]! * w[c]! - mD - xh * mDX);
      }
    }
    if (dw) for (let c = 0; c < C; c++) dwAcc[c] += gy[o + c]! * (x[o + c]! - mu) * rs;
    if (db) for (let c = 0; c < C; c++) dbAcc[c] += gy[o + c]!;
  }
  if (dw) for (let c = 0; c < C; c++) dw[c] += dwAcc[c]!;
  if (db) for (let c = 0; c < C; c++) db[c] += dbAcc[c]!;
}

export function rmsNorm(x: Buf, w: Buf, rows: number, C: number, eps: number, y: Buf, rstd: Buf): void {
  for (let r = 0; r < rows; r++) {
    const o = r * C;
    let ss = 0;
    for (let c = 0; c < C; c++) ss += x[o + c]! * x[o + c]!;
    const rs = 1 / Math.sqrt(ss / C + eps);
    rstd[r] = rs;
    for (let c = 0; c < C; c++) y[o + c] = x[o + c]! * rs * w[c]!;
  }
}

// d rmsNorm: xhat = x*rstd, dxhat = gy*w; dx = rstd*(dxhat - xhat*mean(dxhat*xhat)); dw += gy*xhat
export function rmsNormBackward(x: Buf, w: Buf, rstd: Buf, gy: Buf, rows: number, C: number,
  dx: Buf | null, dw: Buf | null): void {
  const dwAcc = new Float64Array(dw ? C : 0);
  for (let r = 0; r < rows; r++) {
    const o = r * C, rs = rstd[r]!;
    if (dx) {
      let sumDX = 0;
      for (let c = 0; c < C; c++) sumDX += gy[o + c]! * w[c]! * x[o + c]! * rs;
      const mDX = sumDX / C;
      for (let c = 0; c < C; c++) dx[o + c] = rs * (gy[o + c]! * w[c]! - x[o + c]! * rs * mDX);
    }
    if (dw) for (let c = 0; c < C; c++) dwAcc[c] += gy[o + c]! * x[o + c]! * rs;
  }
  if (dw) for (let c = 0; c < C; c++) dw[c] += dwAcc[c]!;
}
