// train.matmulPrecision bfloat16 against PyTorch (test/fixtures/autocast.json on bf16.json's model, scripts/gen_bf16_fixture.py):
// the tiny fp32 Llama's loss and every gradient on one batch through the training loss (lmLoss, fused head).
// Two references. "emulated" is this semantics in float64 (every linear/head GEMM, forward and both backward
// products, on bf16-rounded operands): the difference is only fp32 vs float64 arithmetic, which now and then
// flips one bf16 rounding (a 2^-8 relative step on one operand), so it is bounded by a small fraction of the
// bf16-vs-fp32 effect. "autocast" is torch.autocast('cpu', bfloat16) itself, which also rounds every GEMM's
// output and the elementwise ops between them to bf16; it differs from fp32 by 2-9% (relative gradient norm) on
// this 16-wide model, and from the emulation by as much, so it bounds us at that scale: each tensor's gradient
// within 10% of autocast's (relative norm) and pointing the same way (cosine > 0.99), the loss within 2^-7.
import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createModel, lmLoss, parseConfig } from '../../src/models/index.js';
import { backward } from '../../src/autograd/backward.js';
import { scope } from '../../src/tensor/scope.js';
import { setMatmulPrecision } from '../../src/ops/matmul.js';
import { BACKENDS } from '../backends-under-test.js';
import { repoRoot } from '../helpers.js';

const fx = JSON.parse(readFileSync(join(repoRoot, 'test/fixtures/bf16.json'), 'utf8'));
interface Ref { loss: number; grads: Record<string, number[]> }
const ref = JSON.parse(readFileSync(join(repoRoot, 'test/fixtures/autocast.json'), 'utf8')) as Record<'float32' | 'autocast' | 'emulated', Ref>;

const norm = (x: ArrayLike<number>) => Math.sqrt(Array.from(x).reduce((s, v) => s + v * v, 0));
const relErr = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  norm(Array.from(a, (v, i) => v - b[i]!)) / norm(b);
const cosine = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  Array.from(a).reduce((s, v, i) => s + v * b[i]!, 0) / (norm(a) * norm(b));

describe.each(BACKENDS)('matmulPrecision bfloat16 against PyTorch on %s', (_n, backend) => {
  afterEach(() => { setMatmulPrecision('float32'); });

  function run(precision: 'float32' | 'bfloat16'): Ref {
    const model = createModel(parseConfig(fx.config), { backend, dtype: 'float32' });
    for (const [name, p] of model.namedParameters()) p.buf.set(fx.init[name]);
    const prev = setMatmulPrecision(precision);
    const d = fx.data[0];
    const loss = scope(() => {
      const l = lmLoss(model, Int32Array.from(d.ids), Int32Array.from(d.targets), fx.B, fx.T);
      backward(l);
      return l.item();
    });
    setMatmulPrecision(prev);
    const grads: Record<string, number[]> = {};
    for (const [name, p] of model.namedParameters()) grads[name] = p.grad!.toArray();
    model.dispose();
    return { loss, grads };
  }

  it('matches the float64 emulation of its semantics closely, and torch autocast at bf16 scale', () => {
    const f32 = run('float32');
    const bf = run('bfloat16');
    const names = Object.keys(ref.emulated.grads);
    expect(Object.keys(bf.grads).sort()).toEqual([...names].sort());
    expect(Math.abs(f32.loss - ref.float32.loss) / ref.float32.loss).toBeLessThan(1e-5);
    expect(Math.abs(bf.loss - ref.emulated.loss) / ref.emulated.loss).toBeLessThan(2e-5);
    expect(Math.abs(bf.loss - ref.autocast.loss) / ref.autocast.loss).toBeLessThan(2 ** -7);
    let worstEmu = 0, worstEffect = Infinity, worstAc = 0, worstCos = 1;
    for (const name of names) {
      const emu = relErr(bf.grads[name]!, ref.emulated.grads[name]!);
      const effect = relErr(f32.grads[name]!, ref.emulated.grads[name]!); // what bf16 rounding changes here
      const ac = relErr(bf.grads[name]!, ref.autocast.grads[name]!);
      const cos = cosine(bf.grads[name]!, ref.autocast.grads[name]!);
      worstEmu = Math.max(worstEmu, emu);
      worstEffect = Math.min(worstEffect, effect);
      worstAc = Math.max(worstAc, ac);
      worstCos = Math.min(worstCos, cos);
      expect(emu, `${name}: ${emu} vs emulation (bf16 effect ${effect})`).toBeLessThan(Math.max(2e-4, effect / 20));
      expect(ac, `${name} vs autocast`).toBeLessThan(0.1);
      expect(cos, `${name} vs autocast`).toBeGreaterThan(0.99);
    }
    console.log(`matmulPrecision bfloat16 on ${backend.name}: loss ${bf.loss.toFixed(6)} (emulation ${ref.emulated.loss.toFixed(6)}, ` +
      `autocast ${ref.autocast.loss.toFixed(6)}, fp32 ${ref.float32.loss.toFixed(6)}); gradients vs emulation <= ${worstEmu.toExponential(2)} ` +
      `(bf16 effect >= ${worstEffect.toExponential(2)}), vs autocast <= ${worstAc.toExponential(2)}, cosine >= ${worstCos.toFixed(4)}`);
  });
});
