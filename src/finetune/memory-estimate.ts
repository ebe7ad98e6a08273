// Memory per category (weights, gradients, AdamW state, LoRA adapters, activations) of one training step for
// full fine-tuning, LoRA and LISA at batch x seq: estimated from shapes alone, or measured on a real step.
import type { Backend } from '../backends/backend.js';
import type { CausalLM, NonBlockRole } from '../models/causal-lm.js';
import { createModel, initWeights, type ModelConfig } from '../models/index.js';
import { memoryReport, resetPeaks } from '../tensor/memory.js';
import { scope } from '../tensor/scope.js';
import { backward } from '../autograd/backward.js';
import { lmLoss } from '../models/lm-loss.js';
import { AdamW } from '../optim/adamw.js';
import { Rng } from '../util/rng.js';
import { ArgumentError } from '../util/errors.js';
import { FullFineTune } from './full.js';
import { LoraFineTune } from './lora.js';
import { Lisa } from './lisa.js';
import type { FineTuneMethod } from './method.js';
import { replayStep } from './memory-replay.js';

export type MemoryMethod =
  | { kind: 'full' }
  | { kind: 'lora'; rank: number; alpha: number; targets: string[] | 'all-linear'; dropout?: number }
  | { kind: 'lisa'; gamma: number; alwaysTrain?: NonBlockRole[] };

export interface MemoryShape { batch: number; seq: number }

/** Bytes per category. `total` is the sum of the categories' peaks. */
export interface MemoryBytes {
  weights: number;
  gradients: number;
  optimizer: number;
  adapters: number;
  activations: number;
  total: number;
}

export interface MemoryEstimate {
  method: MemoryMethod;
  label: string;
  batch: number;
  seq: number;
  params: { base: number; trainable: number; adapters: number };
  bytes: MemoryBytes;
  /** Bytes in use at once at the worst moment of a steady-state step (optimizer state already allocated). */
  peakTogether: number;
  /** Where the activation bytes come from. */
  activations: {
    embeddings: number; perBlock: number; blocks: number; finalNorm: number; logits: number; crossEntropy: number;
    /** Everything the scope keeps after forward and loss. */
    forward: number;
    /** The largest backward transient on top of `forward` (gradients in flight, weight-gradient temporaries). */
    backwardTransient: number;
    peakAt: string;
  };
  notes: string[];
}

/** Bytes measured with memoryReport over real training steps (peaks minus what was live before). */
export interface MeasuredMemory {
  bytes: MemoryBytes;
  /** The real simultaneous peak (memoryReport's peakTotal, weights and adapters included). */
  peakTogether: number;
  losses: number[];
  seconds: number;
}

const BYTES = 4; // float32: the dtype models are built and trained in

export function methodLabel(m: MemoryMethod): string {
  if (m.kind === 'lora') return `lora r=${m.rank}`;
  if (m.kind === 'lisa') return `lisa gamma=${m.gamma}${m.alwaysTrain ? ` always=${m.alwaysTrain.join(',') || 'none'}` : ''}`;
  return 'full';
}

/** Applies a method to a model (real or shape-only) as training does. */
export function applyMethod(model: CausalLM, m: MemoryMethod, opt: AdamW, opts: { period?: number; seed?: number } = {}): FineTuneMethod {
  if (m.kind === 'full') return new FullFineTune(model);
  if (m.kind === 'lora') {
    return new LoraFineTune(model, { rank: m.rank, alpha: m.alpha, targets: m.targets, dropout: m.dropout, seed: opts.seed });
  }
  if (m.kind === 'lisa') {
    return new Lisa(model, opt, { gamma: m.gamma, period: opts.period ?? 1, alwaysTrain: m.alwaysTrain, seed: opts.seed });
  }
  throw new ArgumentError(`memory: unknown method '${String((m as { kind: unknown }).kind)}' (expected full, lora or lisa)`);
}

function checkShape(config: ModelConfig, shape: MemoryShape): void {
  for (const k of ['batch', 'seq'] as const) {
    const v = shape[k];
    if (!Number.isSafeInteger(v) || v < 1) throw new ArgumentError(`memory: ${k} must be an integer >= 1, got ${String(v)}`);
  }
  const max = config.family === 'gpt2' ? config.nPositions : config.maxPositions;
  if (shape.seq > max) throw new ArgumentError(`memory: seq ${shape.seq} exceeds the model's context size ${max}`);
}

const count = (ps: readonly { size: number }[]) => ps.reduce((n, p) => n + p.size, 0);

/** Estimates memory of `method` on a model (or its config; only shapes are used) at batch x seq. The method is
 *  applied to a fresh shape-only copy (trainable counts come from the method classes), then one step's
 *  allocations are replayed on shapes (memory-replay.ts) for the activation peak. */
export function estimateMemory(modelOrConfig: CausalLM | ModelConfig, method: MemoryMethod, shape: MemoryShape): MemoryEstimate {
  const config: ModelConfig = 'family' in modelOrConfig ? modelOrConfig : modelOrConfig.config;
  checkShape(config, shape);
  const model = createModel(config, { shapeOnly: true });
  try {
    const base = model.numParameters();
    const ft = applyMethod(model, method, new AdamW({ lr: 1e-3 }));
    ft.beginStep(0);
    const trainable = count(ft.trainableParameters());
    if (trainable === 0) throw new ArgumentError(`memory: ${methodLabel(method)} trains no parameter (empty alwaysTrain set and gamma 0)`);
    const adapters = ft instanceof LoraFineTune ? count(ft.adapters.flatMap(([, a]) => a.parameters())) : 0;
    const notes = ['total is the sum of each category\'s peak: an upper bound of what is in use at once (see peak together)'];
    const replay = () => replayStep(model, { batch: shape.batch, seq: shape.seq, loraDropout: method.kind === 'lora' ? method.dropout : 0 });
    let r = replay();
    let peakWithGradients = r.peakWithGradients;
    if (method.kind === 'lisa') {
      // Which gamma blocks are active changes the step's peaks: the lowest ones record the most graph when the
      // embedding is frozen; the highest ones hold their gradients through most of the backward. Replay the
      // extreme placements and keep the worst of each.
      const L = model.blocks.length;
      const g = method.gamma;
      const placements = [(i: number) => i < g, (i: number) => i >= L - g, (i: number) => g > 0 && (i === 0 || i >= L - g + 1)];
      for (const active of placements) {
        model.blocks.forEach((b, i) => (active(i) ? b.unfreeze() : b.freeze()));
        const ri = replay();
        if (ri.peak > r.peak) r = ri;
        peakWithGradients = Math.max(peakWithGradients, ri.peakWithGradients);
      }
      notes.push('optimizer state assumes stateOnSwitch reset (keep grows with every block visited)');
      notes.push('activations and peak together are the worst over where the gamma active blocks sit');
    }
    const bytes: MemoryBytes = {
      weights: base * BYTES, gradients: r.gradients * BYTES, optimizer: 2 * r.gradients * BYTES, adapters: adapters * BYTES,
      activations: r.peak * BYTES, total: 0,
    };
    bytes.total = bytes.weights + bytes.gradients + bytes.optimizer + bytes.adapters + bytes.activations;
    const blocks = r.blocks.reduce((a, b) => a + b, 0);
    return {
      method, label: methodLabel(method), batch: shape.batch, seq: shape.seq,
      params: { base, trainable, adapters },
      bytes,
      peakTogether: bytes.weights + bytes.adapters + bytes.optimizer + peakWithGradients * BYTES,
      activations: {
        embeddings: r.embeddings * BYTES, perBlock: Math.max(0, ...r.blocks) * BYTES, blocks: blocks * BYTES,
        finalNorm: r.finalNorm * BYTES, logits: r.logits * BYTES, crossEntropy: r.crossEntropy * BYTES,
        forward: r.forward * BYTES, backwardTransient: (r.peak - r.forward) * BYTES, peakAt: r.peakAt,
      },
      notes,
    };
  } finally {
    model.dispose();
  }
}

/** Builds the model with random weights, applies the method with AdamW and runs `steps` real training steps on
 *  random token ids, measuring peaks by category with memoryReport. LISA samples once (no switch mid-run). */
export function measureMemory(config: ModelConfig, method: MemoryMethod, shape: MemoryShape,
  opts: { steps?: number; seed?: number; backend?: Backend } = {}): MeasuredMemory {
  checkShape(config, shape);
  const steps = opts.steps ?? 2;
  if (!Number.isSafeInteger(steps) || steps < 1) throw new ArgumentError(`memory: steps must be an integer >= 1, got ${String(steps)}`);
  const seed = opts.seed ?? 0;
  const { batch: B, seq: T } = shape;
  const before = memoryReport();
  const model = createModel(config, { backend: opts.backend });
  const opt = new AdamW({ lr: 1e-4 });
  try {
    initWeights(model, new Rng(seed));
    const afterModel = memoryReport();
    const ft = applyMethod(model, method, opt, { period: steps, seed });
    const afterMethod = memoryReport();
    const rng = new Rng(seed + 1);
    const V = config.vocabSize;
    const losses: number[] = [];
    const t0 = performance.now();
    resetPeaks();
    const base = memoryReport();
    for (let step = 0; step < steps; step++) {
      ft.beginStep(step);
      if (count(ft.trainableParameters()) === 0) throw new ArgumentError(`memory: ${methodLabel(method)} trains no parameter`);
      const ids = Int32Array.from({ length: B * T }, () => rng.int(V));
      const targets = Int32Array.from({ length: B * T }, () => rng.int(V));
      losses.push(scope(() => {
        const loss = lmLoss(model, ids, targets, B, T);
        backward(loss);
        return loss.item();
      }));
      opt.step(ft.trainableParameters());
      for (const p of model.parameters()) p.zeroGrad();
    }
    const seconds = (performance.now() - t0) / 1000;
    const r = memoryReport();
    const bytes: MemoryBytes = {
      weights: afterModel.live.weights - before.live.weights,
      adapters: afterMethod.live.weights - afterModel.live.weights,
      gradients: r.peak.gradients - base.live.gradients,
      optimizer: r.peak.optimizer - base.live.optimizer,
      activations: r.peak.activations - base.live.activations,
      total: 0,
    };
    bytes.total = bytes.weights + bytes.gradients + bytes.optimizer + bytes.adapters + bytes.activations;
    return { bytes, peakTogether: r.peakTotal - before.liveTotal, losses, seconds };
  } finally {
    opt.dispose();
    model.dispose();
  }
}
