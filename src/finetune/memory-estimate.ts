// Memory per category (weights, gradients, AdamW state, LoRA adapters, activations) of training steps for full
// fine-tuning, LoRA and LISA at batch x seq: the engine's own accounting of real steps, run on the meta backend
// (an estimate from shapes alone, any model size, in seconds) or on a real backend (a measurement).
import type { Backend, WeightDtype } from '../backends/backend.js';
import { defaultBackend, meta } from '../backends/index.js';
import type { CausalLM, NonBlockRole } from '../models/causal-lm.js';
import { createModel, initWeights, type ModelConfig } from '../models/index.js';
import { CATEGORIES, memoryReport, resetPeaks, restorePeaks, type MemoryCategory } from '../tensor/memory.js';
import { BYTES_PER_ELEMENT } from '../tensor/tensor.js';
import { scope } from '../tensor/scope.js';
import { backward } from '../autograd/backward.js';
import { scale } from '../ops/index.js';
import { lmLoss } from '../models/lm-loss.js';
import { AdamW } from '../optim/adamw.js';
import { clipGradNorm } from '../optim/clip.js';
import { updateInBackward } from '../optim/update-in-backward.js';
import { Rng } from '../util/rng.js';
import { ArgumentError } from '../util/errors.js';
import { LoraFineTune } from './lora.js';
import { Lisa } from './lisa.js';
import { createMethod, type MethodSpec } from './create.js';

export type MemoryMethod =
  | { kind: 'full' }
  | { kind: 'lora'; rank: number; alpha: number; targets: string[] | 'all-linear'; dropout?: number }
  /** schedule: explicit active sets instead of seeded sampling (placements the estimate compares). */
  | { kind: 'lisa'; gamma: number; alwaysTrain?: NonBlockRole[]; schedule?: number[][] };

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

/** Where the activation peak comes from, as the run measured it. */
export interface ActivationBreakdown {
  /** Activations live once forward and loss have run: what the graph keeps for backward (largest over steps). */
  forward: number;
  /** How far the activation peak rises above `forward` (gradients in flight, backward temporaries). */
  backwardTransient: number;
  /** The phase of the step where activations peak: 'forward', 'backward' or 'optimizer'. */
  peakAt: string;
}

/** The accounting of `steps` training steps (forward, loss, backward, clip, AdamW, zero grads). */
export interface MemoryRun {
  bytes: MemoryBytes;
  /** The simultaneous peak (memoryReport's peakTotal over the steps, weights and adapters included). */
  peakTogether: number;
  activations: ActivationBreakdown;
  params: { base: number; trainable: number; adapters: number };
  /** Bytes per element of the model's parameters (from the dtype table). */
  bytesPerElement: number;
  /** LISA: the blocks active in the run (the first sampling). */
  activeBlocks?: number[];
  losses: number[];
  seconds: number;
}

export interface MemoryEstimate extends MemoryRun {
  method: MemoryMethod;
  label: string;
  batch: number;
  seq: number;
  /** LISA: the placement of the active blocks with the highest simultaneous peak (sampled or extreme). */
  worstPlacement?: { activeBlocks: number[]; activations: number; peakTogether: number };
  notes: string[];
}

/** A measurement on a real backend: the same run as the estimate. */
export type MeasuredMemory = MemoryRun;

export interface RunOptions {
  /** Training steps (default 2: the second one has optimizer state, the steady state). */
  steps?: number;
  /** Seeds weights, token ids, LoRA init and dropout, LISA sampling. */
  seed?: number;
  /** LISA period (default: steps, so one active set; 1 switches at every step). */
  period?: number;
  /** AdamW inside backward, each gradient freed once applied (the trainer's optim.updateInBackward; no clipping). */
  updateInBackward?: boolean;
  /** The trainer's train.weightDtype: bfloat16 stores weights in bf16, trainable tensors as fp32 masters. */
  weightDtype?: WeightDtype;
  /** Fills the weights (default: initWeights, seeded); e.g. a fast tiled fill for a 7B-sized measurement. */
  fill?: (model: CausalLM) => void;
  /** Blocks recomputed in backward (the trainer's train.gradientCheckpointing). */
  gradientCheckpointing?: boolean;
  backend?: Backend;
}

export function methodLabel(m: MemoryMethod): string {
  if (m.kind === 'lora') return `lora r=${m.rank}`;
  if (m.kind === 'lisa') return `lisa gamma=${m.gamma}${m.alwaysTrain ? ` always=${m.alwaysTrain.join(',') || 'none'}` : ''}`;
  return 'full';
}

/** The method spec training would use for m (LISA: the given period, default 1). */
function methodSpec(m: MemoryMethod, opts: { period?: number; seed?: number }): MethodSpec {
  switch (m.kind) {
    case 'full': return m;
    case 'lora': return { kind: 'lora', rank: m.rank, alpha: m.alpha, targets: m.targets, dropout: m.dropout, seed: opts.seed };
    case 'lisa': return { kind: 'lisa', gamma: m.gamma, period: opts.period ?? 1, alwaysTrain: m.alwaysTrain, schedule: m.schedule, seed: opts.seed };
    default:
      m satisfies never;
      throw new ArgumentError(`memory: unknown method '${String((m as { kind: unknown }).kind)}' (expected full, lora or lisa)`);
  }
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

/** Peaks folded over consecutive windows of the run (each window ends with resetPeaks). */
class PeakWindows {
  readonly peak: Record<MemoryCategory, number>;
  peakTotal: number;
  activationsAt = '';
  constructor() {
    resetPeaks();
    const r = memoryReport();
    this.peak = { ...r.peak };
    this.peakTotal = r.peakTotal;
  }
  /** Closes the window that ends now (named after the phase that ran in it). */
  close(phase: string): void {
    const r = memoryReport();
    if (r.peak.activations > this.peak.activations) this.activationsAt = phase;
    for (const c of CATEGORIES) this.peak[c] = Math.max(this.peak[c], r.peak[c]);
    this.peakTotal = Math.max(this.peakTotal, r.peakTotal);
    resetPeaks();
  }
}

/** Builds the model on the backend (meta: shapes only), applies the method with AdamW and runs `steps` training
 *  steps as the trainer does on random token ids, reading peaks by category from the engine's accounting. */
export function runMemorySteps(config: ModelConfig, method: MemoryMethod, shape: MemoryShape, opts: RunOptions = {}): MemoryRun {
  checkShape(config, shape);
  const steps = opts.steps ?? 2;
  if (!Number.isSafeInteger(steps) || steps < 1) throw new ArgumentError(`memory: steps must be an integer >= 1, got ${String(steps)}`);
  const seed = opts.seed ?? 0;
  const { batch: B, seq: T } = shape;
  const before = memoryReport();
  // bf16 weights are created as bf16 (never a float32 copy of the whole model), as a bf16 checkpoint loads.
  const model = createModel(config, { backend: opts.backend ?? defaultBackend(), dtype: opts.weightDtype === 'bfloat16' ? 'bfloat16' : undefined });
  model.gradientCheckpointing = opts.gradientCheckpointing ?? false;
  const opt = new AdamW({ lr: 1e-4 });
  try {
    (opts.fill ?? ((m: CausalLM) => initWeights(m, new Rng(seed))))(model);
    const afterModel = memoryReport();
    const ft = createMethod(model, methodSpec(method, { period: opts.period ?? steps, seed }), opt);
    const afterMethod = memoryReport();
    const rng = new Rng(seed + 1);
    const V = config.vocabSize;
    const losses: number[] = [];
    const t0 = performance.now();
    let trainable = 0;
    let forwardKept = 0;
    const windows = new PeakWindows();
    const base = memoryReport();
    const lr = opt.lr;
    for (let step = 0; step < steps; step++) {
      ft.beginStep(step);
      const params = ft.trainableParameters();
      const n = count(params);
      if (n === 0) throw new ArgumentError(`memory: ${methodLabel(method)} trains no parameter (empty alwaysTrain set and gamma 0)`);
      if (step === 0) trainable = n;
      const ids = Int32Array.from({ length: B * T }, () => rng.int(V));
      const targets = Int32Array.from({ length: B * T }, () => rng.int(V));
      const inBackward = opts.updateInBackward ? updateInBackward(params, opt, lr) : null;
      // As the trainer's micro-step: sum(CE) scaled by 1 / tokens, backward, then clip, AdamW, zero grads.
      losses.push(scope(() => {
        const sum = lmLoss(model, ids, targets, B, T, { reduction: 'sum' });
        windows.close('forward');
        forwardKept = Math.max(forwardKept, memoryReport().live.activations - base.live.activations);
        backward(scale(sum, 1 / (B * T)), undefined, inBackward ?? {});
        return sum.item() / (B * T);
      }));
      windows.close('backward');
      if (!inBackward) {
        clipGradNorm(params, 1);
        opt.step(params, lr);
      }
      for (const p of model.parameters()) p.zeroGrad();
      windows.close('optimizer');
    }
    const seconds = (performance.now() - t0) / 1000;
    // Weights at their peak over the steps (bf16: LISA's masters come and go), LoRA's adapters apart.
    const adapterBytes = ft instanceof LoraFineTune ? afterMethod.live.weights - afterModel.live.weights : 0;
    const bytes: MemoryBytes = {
      weights: Math.max(afterMethod.live.weights, windows.peak.weights) - before.live.weights - adapterBytes,
      adapters: adapterBytes,
      gradients: windows.peak.gradients - base.live.gradients,
      optimizer: windows.peak.optimizer - base.live.optimizer,
      activations: windows.peak.activations - base.live.activations,
      total: 0,
    };
    bytes.total = bytes.weights + bytes.gradients + bytes.optimizer + bytes.adapters + bytes.activations;
    const adapters = ft instanceof LoraFineTune ? count(ft.adapters.flatMap(([, a]) => a.parameters())) : 0;
    return {
      bytes,
      peakTogether: windows.peakTotal - before.liveTotal,
      activations: { forward: forwardKept, backwardTransient: bytes.activations - forwardKept, peakAt: windows.activationsAt || 'forward' },
      params: { base: count(model.parameters()) - adapters, trainable, adapters },
      bytesPerElement: opts.weightDtype === 'bfloat16' ? 2 : BYTES_PER_ELEMENT[model.parameters()[0].dtype],
      ...(ft instanceof Lisa ? { activeBlocks: ft.history[0]?.active ?? [] } : {}),
      losses,
      seconds,
    };
  } finally {
    opt.dispose();
    model.dispose();
  }
}

/** Estimates memory of `method` on a model (or its config; only shapes are used) at batch x seq: the same
 *  steps as measureMemory, run on the meta backend. For LISA, the extreme placements of the active blocks are
 *  run as well and the worst is reported beside the sampled one. */
export function estimateMemory(modelOrConfig: CausalLM | ModelConfig, method: MemoryMethod, shape: MemoryShape,
  opts: Omit<RunOptions, 'backend'> = {}): MemoryEstimate {
  const config: ModelConfig = 'family' in modelOrConfig ? modelOrConfig : modelOrConfig.config;
  const saved = memoryReport();
  const t0 = performance.now();
  try {
    const run = runMemorySteps(config, method, shape, { ...opts, backend: meta });
    const notes = ['total is the sum of each category\'s peak: an upper bound of what is in use at once (see peak together)'];
    const est: MemoryEstimate = {
      ...run, method, label: methodLabel(method), batch: shape.batch, seq: shape.seq, notes,
    };
    if (method.kind === 'lisa' && !method.schedule) {
      const L = config.family === 'gpt2' ? config.nLayer : config.numLayers;
      const g = method.gamma;
      const range = (a: number, n: number) => Array.from({ length: n }, (_, i) => a + i);
      // The lowest blocks record the most graph when the embedding is frozen; the highest hold their gradients
      // through most of the backward.
      const placements = [run.activeBlocks ?? [], range(0, g), range(L - g, g), g > 0 ? [0, ...range(L - g + 1, g - 1)] : []];
      let worst = { activeBlocks: run.activeBlocks ?? [], activations: run.bytes.activations, peakTogether: run.peakTogether };
      for (const active of placements.slice(1)) {
        const r = runMemorySteps(config, { ...method, schedule: [active] }, shape, { ...opts, backend: meta });
        if (r.peakTogether > worst.peakTogether || (r.peakTogether === worst.peakTogether && r.bytes.activations > worst.activations)) {
          worst = { activeBlocks: active, activations: r.bytes.activations, peakTogether: r.peakTogether };
        }
      }
      est.worstPlacement = worst;
      notes.push('optimizer state is one active set\'s (stateOnSwitch reset; keep grows with every block visited)');
    }
    est.seconds = (performance.now() - t0) / 1000; // all of the estimate: model, steps, placements
    return est;
  } finally {
    restorePeaks(saved); // meta bytes were never in use
  }
}

/** Builds the model with random weights on a real backend and measures `steps` training steps (runMemorySteps). */
export function measureMemory(config: ModelConfig, method: MemoryMethod, shape: MemoryShape, opts: RunOptions = {}): MeasuredMemory {
  const backend = opts.backend ?? defaultBackend();
  if (!backend.holdsData) throw new ArgumentError('memory: measureMemory needs a backend that holds data (use estimateMemory for meta)');
  return runMemorySteps(config, method, shape, { ...opts, backend });
}
