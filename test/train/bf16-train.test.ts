// weightDtype bfloat16 through `lisa train`: kill -9 + resume ends bit-identical (checkpoints hold masters and
// bf16 weights as they are), export writes BF16 with torch_dtype bfloat16, BF16/F16/F32 HF checkpoints load
// into bf16 storage (F16 with a notice), and an unknown weightDtype is a config error naming the key.
import { describe, it, expect } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../helpers.js';
import { runCli } from '../cli-helpers.js';
import { writeFixtureRun, readMetrics, lisaFixture as fx } from './fixture-run.js';
import { openSafetensors, writeSafetensors } from '../../src/io/safetensors.js';
import { loadModel } from '../../src/models/index.js';
import { memoryReport, resetPeaks } from '../../src/tensor/memory.js';
import { f32ArrayToBf16Bits, f32ArrayToF16Bits, f16BitsArrayToF32 } from '../../src/io/dtype.js';
import { validateConfig, ConfigError } from '../../src/train/config.js';

function run(configPath: string, args: string[], killAtStep?: number): Promise<{ code: number | null; killed: boolean; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'test/train/run-cli.ts'), 'train', configPath, ...args],
      { cwd: repoRoot, env: { ...process.env, CI: 'true' } });
    let killed = false;
    let buf = '';
    child.stdout.on('data', (d) => {
      buf += d;
      const m = [...buf.matchAll(/step (\d+)\//g)].pop();
      if (killAtStep !== undefined && !killed && m && Number(m[1]) >= killAtStep) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.stderr.on('data', (d) => { buf += d; });
    child.on('close', (code) => resolve({ code, killed, out: buf }));
  });
}

describe('weightDtype bfloat16 in lisa train', () => {
  it('killed with SIGKILL and resumed twice, ends bit-identical; export is BF16 with torch_dtype bfloat16', async () => {
    const STEPS = 16;
    const train = { steps: STEPS, batchSize: 2, seed: 1, logEvery: 1, saveEvery: 3, weightDtype: 'bfloat16' };
    const method = { kind: 'lisa', gamma: 2, period: 3, seed: 5, stateOnSwitch: 'keep' };
    const ref = writeFixtureRun({ train, method });
    const r0 = await run(ref.configPath, []);
    expect(r0.code, r0.out).toBe(0);
    const refWeights = readFileSync(join(ref.out, 'final', 'model.safetensors'));
    const refLosses = readMetrics(ref.out).map((m) => m.loss);
    expect(refLosses).toHaveLength(STEPS);
    const cfg = JSON.parse(readFileSync(join(ref.out, 'final', 'config.json'), 'utf8'));
    expect(cfg.torch_dtype).toBe('bfloat16');
    const f = openSafetensors(join(ref.out, 'final', 'model.safetensors'));
    for (const n of f.names()) expect(f.info(n).dtype, n).toBe('BF16');
    f.close();
    // The checkpoint holds fp32 masters (trainable now) and bf16 weights (frozen) as they are.
    const ck = openSafetensors(join(ref.out, 'checkpoint', 'weights.safetensors'));
    const dtypes = new Set(ck.names().map((n) => ck.info(n).dtype));
    expect(dtypes).toEqual(new Set(['F32', 'BF16']));
    expect(ck.info('model.embed_tokens.weight').dtype).toBe('F32');
    ck.close();
    for (const killAt of [4, 11]) {
      const r = writeFixtureRun({ train, method });
      const first = await run(r.configPath, [], killAt);
      expect(first.killed).toBe(true);
      const resumed = await run(r.configPath, ['--resume']);
      expect(resumed.code, resumed.out).toBe(0);
      expect(readFileSync(join(r.out, 'final', 'model.safetensors')).equals(refWeights)).toBe(true);
      expect(readMetrics(r.out).map((m) => m.loss)).toEqual(refLosses);
    }
  }, 240_000);

  it('an HF BF16 checkpoint loads straight into bf16 storage (weights peak = 2 bytes/element); F32 is rounded', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bf16-load-'));
    const src = writeFixtureRun().root; // a model folder with F32 weights
    const f32 = loadModel(join(src, 'model'), { dtype: 'bfloat16' }).model;
    const tensors = f32.namedParameters().map(([name, p]) => ({ name, shape: p.shape, data: p.bits, dtype: 'BF16' as const }));
    for (const [name, p] of f32.namedParameters()) expect(Array.from(p.bits), name).toEqual(Array.from(f32ArrayToBf16Bits(Float32Array.from(fx.init[name]))));
    writeFileSync(join(dir, 'config.json'), JSON.stringify(fx.config));
    writeSafetensors(join(dir, 'model.safetensors'), tensors);
    const numel = f32.parameters().reduce((n, p) => n + p.size, 0);
    resetPeaks();
    const before = memoryReport();
    const m = loadModel(dir, { dtype: 'bfloat16' }).model;
    const after = memoryReport();
    expect(after.peakTotal - before.liveTotal).toBe(2 * numel);
    for (const [name, p] of m.namedParameters()) expect(Array.from(p.bits), name).toEqual(Array.from(f32.getParameter(name).bits));
    m.dispose();
    f32.dispose();
  });

  it('F16 weights are converted to bf16 with one notice', () => {
    const dir = mkdtempSync(join(tmpdir(), 'f16-load-'));
    const src = loadModel(join(writeFixtureRun().root, 'model')).model;
    writeFileSync(join(dir, 'config.json'), JSON.stringify(fx.config));
    writeSafetensors(join(dir, 'model.safetensors'), src.namedParameters().map(([name, p]) => ({ name, shape: p.shape, data: p.buf as Float32Array })), { dtype: 'F16' });
    const notices: string[] = [];
    const m = loadModel(dir, { dtype: 'bfloat16', onNotice: (s) => notices.push(s) }).model;
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatch(/F16 weights converted to bfloat16/);
    for (const [name, p] of m.namedParameters()) {
      const f16 = f16BitsArrayToF32(f32ArrayToF16Bits(src.getParameter(name).buf as Float32Array));
      expect(Array.from(p.bits), name).toEqual(Array.from(f32ArrayToBf16Bits(f16)));
    }
    m.dispose();
    src.dispose();
  });

  it('with optim.updateInBackward (AdamW on each master inside backward): the same run bit for bit', async () => {
    const runWith = async (updateInBackward: boolean) => {
      const r = writeFixtureRun({
        method: { kind: 'lisa', gamma: 2, period: 2, seed: 4 },
        optim: { lr: 1e-2, weightDecay: 0.1, maxGradNorm: null, updateInBackward },
        train: { steps: 6, batchSize: 2, seed: 1, logEvery: 1, weightDtype: 'bfloat16' },
      });
      const res = await runCli(['train', r.configPath]);
      expect(res.code, res.err).toBe(0);
      return { losses: readMetrics(r.out).map((m) => m.loss), weights: readFileSync(join(r.out, 'final', 'model.safetensors')) };
    };
    const after = await runWith(false);
    const inside = await runWith(true);
    expect(inside.losses).toEqual(after.losses);
    expect(inside.weights.equals(after.weights)).toBe(true);
  }, 60_000);

  it('an unknown weightDtype is a config error naming train.weightDtype', () => {
    const base = { model: 'x', data: { path: 'd.jsonl' }, out: 'o' };
    expect(() => validateConfig({ ...base, train: { weightDtype: 'fp16' } }, 'run.yaml')).toThrow(ConfigError);
    expect(() => validateConfig({ ...base, train: { weightDtype: 'fp16' } }, 'run.yaml')).toThrow(/run\.yaml: 'train\.weightDtype' = "fp16".*'float32' \| 'bfloat16'/);
    expect(validateConfig({ ...base, train: { weightDtype: 'bfloat16' } }).train.weightDtype).toBe('bfloat16');
    expect(validateConfig(base).train.weightDtype).toBe('float32');
  });
});
