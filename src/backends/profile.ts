// A Backend decorator that times every kernel call by kind (GEMM by shape, with its FLOPs; attention: the fused
// kernel, with its products' FLOPs, and softmax; norms; cross-entropy; AdamW; elementwise; other) and counts GEMM and
// attention FLOPs exactly.
import type { AttentionArgs, Backend, GemmArgs } from './backend.js';

export type OpKind = 'gemm' | 'attention' | 'norm' | 'cross-entropy' | 'adamw' | 'elementwise' | 'other';

export interface OpStat { kind: OpKind; key: string; calls: number; seconds: number; flops: number }

export interface Profile {
  /** The wrapped backend: use it wherever the inner one would be used (tensors compare backends by identity). */
  readonly backend: Backend;
  /** Per (kind, key): calls, seconds and FLOPs (GEMMs only) since the last reset. */
  stats(): OpStat[];
  reset(): void;
}

const KIND: Record<string, OpKind> = {
  softmax: 'attention', softmaxBackward: 'attention', attention: 'attention', attentionBackward: 'attention',
  layerNorm: 'norm', layerNormBackward: 'norm', rmsNorm: 'norm', rmsNormBackward: 'norm',
  crossEntropy: 'cross-entropy', crossEntropyBackward: 'cross-entropy',
  adamw: 'adamw', adamwMany: 'adamw',
  unary: 'elementwise', binary: 'elementwise', copyStrided: 'elementwise', fill: 'elementwise', sumReduce: 'elementwise',
};

/** "MxNxK" with the transposes and batch; the batched (batch > 1) GEMMs are attention's score and value products. */
function gemmKey(g: GemmArgs): string {
  return `${g.M}x${g.N}x${g.K}${g.transA ? ' Aᵀ' : ''}${g.transB ? ' Bᵀ' : ''}${g.batch > 1 ? ` x${g.batch}` : ''}${g.b instanceof Uint16Array ? ' bf16' : ''}`;
}

/** Key and model FLOPs of a fused attention call: the forward's two products (scores, P V) or the backward's four
 *  (dV, dP, dQ, dK), each counted over the whole (GT, Tk) as for an unmasked head. */
function attentionCost(k: string, a: AttentionArgs): [string, number] {
  const products = k === 'attention' ? 2 : 4;
  return [`fused ${k === 'attention' ? 'fwd' : 'bwd'} ${a.B * a.nkv} heads ${a.GT}x${a.Tk}x${a.hs}`, products * 2 * a.B * a.nkv * a.GT * a.Tk * a.hs];
}

/** Wraps `inner` so that every kernel call is timed (performance.now() around the synchronous native call). */
export function profileBackend(inner: Backend): Profile {
  const table = new Map<string, OpStat>();
  const add = (kind: OpKind, key: string, seconds: number, flops: number) => {
    const id = `${kind}\u0000${key}`;
    let s = table.get(id);
    if (!s) table.set(id, (s = { kind, key, calls: 0, seconds: 0, flops: 0 }));
    s.calls++;
    s.seconds += seconds;
    s.flops += flops;
  };
  const wrapped: Record<string, unknown> = { name: inner.name, holdsData: inner.holdsData };
  for (const k of Object.keys(inner) as (keyof Backend)[]) {
    const f = inner[k];
    if (typeof f !== 'function' || k === 'supports' || k === 'read' || k === 'write') {
      if (typeof f === 'function') wrapped[k] = f.bind(inner);
      continue;
    }
    const call = f as (...a: unknown[]) => unknown;
    if (k === 'gemm') {
      wrapped[k] = (g: GemmArgs) => {
        const t = performance.now();
        inner.gemm(g);
        const flops = 2 * g.M * g.N * g.K * g.batch;
        add(g.batch > 1 ? 'attention' : 'gemm', gemmKey(g), (performance.now() - t) / 1000, flops);
      };
      continue;
    }
    const kind = KIND[k] ?? 'other';
    wrapped[k] = (...a: unknown[]) => {
      const t = performance.now();
      const r = call.apply(inner, a);
      const seconds = (performance.now() - t) / 1000;
      if (k === 'attention' || k === 'attentionBackward') {
        const [key, flops] = attentionCost(k, a[0] as AttentionArgs);
        add(kind, key, seconds, flops);
      } else add(kind, k === 'unary' || k === 'binary' ? `${k} ${String(a[0])}` : k, seconds, 0);
      return r;
    };
  }
  return {
    backend: wrapped as unknown as Backend,
    stats: () => [...table.values()].map((s) => ({ ...s })),
    reset: () => table.clear(),
  };
}

/** A markdown table of a profile over `steps` steps of `stepSeconds` (mean) each: per kind, then the GEMMs by
 *  shape with achieved GFLOPS, then the time outside kernels (JS, allocation). */
export function formatProfile(stats: readonly OpStat[], steps: number, stepSeconds: number): string {
  const per = (s: number) => s / steps;
  const byKind = new Map<OpKind, { seconds: number; flops: number; calls: number }>();
  for (const s of stats) {
    const e = byKind.get(s.kind) ?? { seconds: 0, flops: 0, calls: 0 };
    e.seconds += s.seconds;
    e.flops += s.flops;
    e.calls += s.calls;
    byKind.set(s.kind, e);
  }
  const inKernels = per(stats.reduce((n, s) => n + s.seconds, 0));
  const pct = (x: number) => `${((100 * x) / stepSeconds).toFixed(1)}%`;
  const gf = (flops: number, sec: number) => (sec > 0 && flops > 0 ? (flops / sec / 1e9).toFixed(1) : '');
  const lines = ['| op kind | s/step | share | calls/step | GFLOP/step | GFLOPS |', '|---|---|---|---|---|---|'];
  for (const [kind, e] of [...byKind].sort((a, b) => b[1].seconds - a[1].seconds)) {
    lines.push(`| ${kind} | ${per(e.seconds).toFixed(3)} | ${pct(per(e.seconds))} | ${(e.calls / steps).toFixed(0)} | ${e.flops ? (per(e.flops) / 1e9).toFixed(1) : ''} | ${gf(e.flops, e.seconds)} |`);
  }
  lines.push(`| outside kernels (JS, allocation) | ${(stepSeconds - inKernels).toFixed(3)} | ${pct(stepSeconds - inKernels)} | | | |`);
  lines.push('', '| GEMM shape (M x N x K) | s/step | share | calls/step | GFLOP/step | GFLOPS |', '|---|---|---|---|---|---|');
  for (const s of stats.filter((x) => x.flops > 0).sort((a, b) => b.seconds - a.seconds)) {
    lines.push(`| ${s.kind === 'attention' ? 'attn ' : ''}${s.key} | ${per(s.seconds).toFixed(3)} | ${pct(per(s.seconds))} | ${(s.calls / steps).toFixed(0)} | ${(per(s.flops) / 1e9).toFixed(2)} | ${gf(s.flops, s.seconds)} |`);
  }
  lines.push('', '| other kernel | kind | s/step | share | calls/step |', '|---|---|---|---|---|');
  for (const s of stats.filter((x) => x.flops === 0).sort((a, b) => b.seconds - a.seconds).slice(0, 12)) {
    lines.push(`| ${s.key} | ${s.kind} | ${per(s.seconds).toFixed(3)} | ${pct(per(s.seconds))} | ${(s.calls / steps).toFixed(0)} |`);
  }
  return lines.join('\n');
}
