// A comparison's numbers (OUT/results.json): per method, trainable parameters, memory by category (the meta
// backend's estimate and the peaks the runs logged), median step time, final train loss and best eval loss,
// each as mean and spread over the seeds, read back from the run folders' logs.
import { join } from 'node:path';
import { readConfig, CONFIG_FILE } from '../io/hf-folder.js';
import { meta } from '../backends/index.js';
import { createModel, parseConfig, type ModelConfig } from '../models/index.js';
import type { NormsReport } from '../analysis/layer-norms.js';
import { estimateMemory, type MemoryMethod } from '../finetune/memory-estimate.js';
import { dataMaxLength, modelContext, type TrainConfig } from '../train/config.js';
import { readRunLogs } from '../report/run-logs.js';
import type { ComparePlan } from './config.js';

/** Mean and spread of one quantity over the seeds (sd: sample standard deviation, 0 for one seed). */
export interface Spread { mean: number; sd: number; min: number; max: number; n: number; values: number[] }

export function spread(values: number[]): Spread | null {
  if (values.length === 0) return null;
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, sd, min: Math.min(...values), max: Math.max(...values), n, values };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Memory categories as logged per step by the trainer (the engine's accounting; weights include adapters). */
export const MEASURED_CATEGORIES = ['weights', 'gradients', 'optimizer', 'activations', 'other'] as const;
/** Memory categories of the estimate (adapters apart from the base weights). */
export const ESTIMATE_CATEGORIES = ['weights', 'adapters', 'gradients', 'optimizer', 'activations'] as const;

export interface RunResult {
  method: string;
  seed: number;
  dir: string;
  steps: number;
  finalTrainLoss: number | null;
  bestEvalLoss: number | null;
  medianStepSeconds: number | null;
  /** Per category, the largest of the step peaks; `total` the largest simultaneous peak. */
  peakMemory: Record<string, number>;
}

export interface MethodResult {
  name: string;
  kind: string;
  /** Parameters that train at a step (LISA: the always-trained set plus gamma blocks; LoRA: the adapters). */
  trainableParams: number;
  totalParams: number;
  memory: {
    /** The meta-backend estimate at batchSize x maxLength (an upper bound on the run's sequences). */
    estimate: Record<string, number> & { peakTogether: number };
    measured: Record<string, Spread | null>;
  };
  medianStepSeconds: Spread | null;
  finalTrainLoss: Spread | null;
  bestEvalLoss: Spread | null;
  runs: RunResult[];
}

export interface CompareResults {
  source: string;
  out: string;
  seeds: number[];
  steps: number;
  model: { family: string; totalParams: number; blocks: number; embedHeadParams: number; blockParams: number };
  methods: MethodResult[];
  /** `lisa norms` statistics: every method's first-seed run and every LoRA run, named "METHOD seed S". */
  norms: NormsReport;
}

/** The base model's config, without loading weights. */
export function modelConfigOf(baseDir: string): ModelConfig {
  return parseConfig(readConfig(baseDir), join(baseDir, CONFIG_FILE));
}

function memoryMethod(cfg: TrainConfig): MemoryMethod {
  const m = cfg.method;
  if (m.kind === 'lora') return { kind: 'lora', rank: m.rank, alpha: m.alpha, targets: m.targets, dropout: m.dropout };
  if (m.kind === 'lisa') return { kind: 'lisa', gamma: m.gamma, alwaysTrain: m.alwaysTrain };
  return { kind: 'full' };
}

/** Parameter counts by part, from a shape-only model (no memory). */
function modelCounts(config: ModelConfig): CompareResults['model'] {
  const model = createModel(config, { backend: meta });
  try {
    const total = model.parameters().reduce((n, p) => n + p.size, 0);
    const embedHead = model.nonBlockParameters().filter((p) => p.role !== 'finalNorm').reduce((n, p) => n + p.param.size, 0);
    return { family: config.family, totalParams: total, blocks: model.blocks.length, embedHeadParams: embedHead, blockParams: (total - embedHead) };
  } finally {
    model.dispose();
  }
}

function runResult(method: string, seed: number, dir: string): RunResult {
  const logs = readRunLogs(dir);
  const peak: Record<string, number> = {};
  for (const s of logs.steps) for (const [k, v] of Object.entries(s.memory ?? {})) peak[k] = Math.max(peak[k] ?? 0, v);
  const secs = logs.steps.map((s) => s.seconds).filter((x): x is number => typeof x === 'number');
  return {
    method, seed, dir,
    steps: logs.steps.length,
    finalTrainLoss: logs.steps.length ? logs.steps[logs.steps.length - 1].loss : null,
    bestEvalLoss: logs.evals.length ? Math.min(...logs.evals.map((e) => e.loss)) : null,
    medianStepSeconds: secs.length ? median(secs) : null,
    peakMemory: peak,
  };
}

const nums = (xs: (number | null | undefined)[]) => xs.filter((x): x is number => typeof x === 'number' && Number.isFinite(x));

/** Reads the runs' logs and estimates each method's memory; `config` is the model's config. */
export function collectResults(plan: ComparePlan, config: ModelConfig, norms: NormsReport): CompareResults {
  const first = plan.runs[0].config;
  const methods = plan.methods.map((m): MethodResult => {
    const runs = plan.runs.filter((r) => r.method === m.name);
    const cfg = runs[0].config;
    const est = estimateMemory(config, memoryMethod(cfg), { batch: cfg.train.batchSize, seq: dataMaxLength(cfg, modelContext(config)) },
      { weightDtype: cfg.train.weightDtype, gradientCheckpointing: cfg.train.gradientCheckpointing, updateInBackward: cfg.optim.updateInBackward });
    const rr = runs.map((r) => runResult(r.method, r.seed, r.dir));
    const measured: Record<string, Spread | null> = {};
    for (const c of [...MEASURED_CATEGORIES, 'total']) measured[c] = spread(nums(rr.map((r) => r.peakMemory[c])));
    const estimate: Record<string, number> & { peakTogether: number } = { peakTogether: est.peakTogether };
    for (const c of [...ESTIMATE_CATEGORIES, 'total'] as const) estimate[c] = est.bytes[c];
    return {
      name: m.name, kind: cfg.method.kind,
      trainableParams: est.params.trainable,
      totalParams: est.params.base + est.params.adapters,
      memory: { estimate, measured },
      medianStepSeconds: spread(nums(rr.map((r) => r.medianStepSeconds))),
      finalTrainLoss: spread(nums(rr.map((r) => r.finalTrainLoss))),
      bestEvalLoss: spread(nums(rr.map((r) => r.bestEvalLoss))),
      runs: rr,
    };
  });
  return { source: plan.source, out: plan.out, seeds: plan.seeds, steps: first.train.steps ?? 0, model: modelCounts(config), methods, norms };
}
