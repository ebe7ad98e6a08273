// `lisa train --dry-run`: everything a run would do before its first step, and two real steps, with nothing
// written: the resolved config, the dataset summary, the trainable parameters, the memory estimate of this exact
// run and the measured time and tokens per step.
import { setupRun, type RunParts } from './setup.js';
import { dataMaxLength, type TrainConfig } from './config.js';
import { DataStream } from './data-stream.js';
import { memoryMethod } from './memory-check.js';
import { totalStepsOf, trainStep, type StepContext } from './step.js';
import { loadDataset, type DataStats } from '../data/load.js';
import { IGNORE_INDEX, type Example } from '../data/example.js';
import { estimateMemory, type MemoryEstimate } from '../finetune/memory-estimate.js';

export interface DatasetSummary {
  stats: DataStats;
  trainExamples: number;
  evalExamples: number;
  /** Tokens over the training and held-out examples. */
  tokens: number;
  maxTokens: number;
  /** Share of those tokens whose label is masked (-100): prompts, padding of packed rows. */
  maskedFraction: number;
}

export interface MeasuredStep { step: number; seconds: number; tokens: number; loss: number }

export interface DryRunReport {
  config: TrainConfig;
  data: DatasetSummary;
  params: { total: number; trainable: number; activeBlocks?: number[] };
  memory: MemoryEstimate;
  totalSteps: number;
  steps: MeasuredStep[];
}

function summarize(cfg: TrainConfig, parts: RunParts): DatasetSummary {
  // The rows setupRun kept are what training sees; the stats (truncation) come from reading the file once more.
  const { stats } = loadDataset({ ...cfg.data, maxLength: dataMaxLength(cfg, parts.model.maxPositions) }, parts.tokenizer, parts.model.config.vocabSize);
  const all: Example[] = [...parts.train, ...parts.eval];
  let tokens = 0;
  let masked = 0;
  let maxTokens = 0;
  for (const e of all) {
    tokens += e.ids.length;
    maxTokens = Math.max(maxTokens, e.ids.length);
    for (const l of e.labels) if (l === IGNORE_INDEX) masked++;
  }
  return { stats, trainExamples: parts.train.length, evalExamples: parts.eval.length, tokens, maxTokens, maskedFraction: tokens ? masked / tokens : 0 };
}

/** Builds the run as `lisa train` would, estimates its memory and times `measureSteps` optimizer steps; writes nothing. */
export async function dryRun(cfg: TrainConfig, warn: (msg: string) => void = () => {}, measureSteps = 2): Promise<DryRunReport> {
  const parts = await setupRun(cfg, warn);
  try {
    const t = cfg.train;
    const data = summarize(cfg, parts);
    const memory = estimateMemory(parts.model.config, memoryMethod(cfg), { batch: t.batchSize, seq: dataMaxLength(cfg, parts.model.maxPositions) }, {
      seed: t.seed, updateInBackward: cfg.optim.updateInBackward, weightDtype: t.weightDtype, gradientCheckpointing: t.gradientCheckpointing,
    });
    const totalSteps = totalStepsOf(cfg, parts.train.length);
    const ctx: StepContext = {
      cfg, parts, padId: parts.tokenizer?.padId ?? 0,
      stream: new DataStream(parts.train, { batchSize: t.batchSize, shuffle: cfg.data.shuffle, seed: t.seed }),
      schedule: { kind: cfg.optim.schedule, lr: cfg.optim.lr, warmupSteps: cfg.optim.warmupSteps, totalSteps, minLrRatio: cfg.optim.minLrRatio },
    };
    const steps: MeasuredStep[] = [];
    let params: DryRunReport['params'] = { total: 0, trainable: 0 };
    for (let step = 0; step < Math.min(measureSteps, totalSteps); step++) {
      const t0 = performance.now();
      const r = trainStep(ctx, step);
      steps.push({ step: step + 1, seconds: (performance.now() - t0) / 1000, tokens: r.tokens, loss: r.loss });
      if (step === 0) {
        const count = (ps: { size: number }[]) => ps.reduce((n, p) => n + p.size, 0);
        // LISA's active blocks at step 1: the blocks with a parameter that trains.
        const active = parts.model.blocks.flatMap((b, i) => (b.parameters().some((p) => p.requiresGrad) ? [i] : []));
        params = {
          total: count(parts.model.parameters()), trainable: count(parts.method.trainableParameters()),
          ...(parts.method.kind === 'lisa' ? { activeBlocks: active } : {}),
        };
      }
    }
    return { config: cfg, data, params, memory, totalSteps, steps };
  } finally {
    parts.optimizer.dispose();
    parts.model.dispose();
  }
}
