// One optimizer step of a run: the method's step hook, gradAccum micro-batches (token-weighted, so they equal one
// large batch), the loss check, clipping and AdamW (or AdamW inside backward); shared by the trainer and the dry run.
import { scope } from '../tensor/scope.js';
import { resetPeaks } from '../tensor/memory.js';
import { backward } from '../autograd/backward.js';
import { scale } from '../ops/index.js';
import { lmLoss } from '../models/lm-loss.js';
import { makeBatch } from '../data/example.js';
import { lrAt, type Schedule } from '../optim/schedule.js';
import { clipCoefficient, gradNorm } from '../optim/clip.js';
import { updateInBackward } from '../optim/update-in-backward.js';
import { LisaError } from '../util/errors.js';
import type { TrainConfig } from './config.js';
import type { RunParts } from './setup.js';
import type { DataStream } from './data-stream.js';
import { findCheckpoint } from './checkpoint.js';

export class TrainingError extends LisaError {}

export interface StepContext {
  cfg: TrainConfig;
  parts: RunParts;
  stream: DataStream;
  schedule: Schedule;
  padId: number;
}

export interface StepResult { loss: number; gradNorm: number; tokens: number; lr: number }

/** The optimizer steps of a run: the given count, or epochs over the training examples. */
export function totalStepsOf(cfg: TrainConfig, trainExamples: number): number {
  const t = cfg.train;
  return t.steps ?? Math.max(1, Math.ceil(((t.epochs ?? 1) * trainExamples) / (t.batchSize * t.gradAccum)));
}

/** Runs optimizer step `step` (0-based); throws TrainingError (and applies nothing) when the loss is not finite. */
export function trainStep(ctx: StepContext, step: number): StepResult {
  const { cfg, parts: { model, method, optimizer }, stream, schedule, padId } = ctx;
  method.beginStep(step);
  const micro = Array.from({ length: cfg.train.gradAccum }, () => makeBatch(stream.next(), padId));
  const tokens = micro.reduce((n, b) => n + b.tokens, 0);
  resetPeaks();
  const trainable = method.trainableParameters();
  const lr = lrAt(schedule, step);
  const badLoss = (l: number) => {
    for (const p of model.parameters()) p.zeroGrad();
    return new TrainingError(`step ${step + 1}: the loss is ${l}; stopping without applying this update. ` +
      (findCheckpoint(cfg.out) ? `The last good checkpoint is kept in ${findCheckpoint(cfg.out)}.` : 'No checkpoint was saved yet.'));
  };
  // optim.updateInBackward: AdamW runs on each tensor inside backward (so the loss is checked before it).
  const inBackward = cfg.optim.updateInBackward ? updateInBackward(trainable, optimizer, lr) : null;
  let lossSum = 0;
  for (const b of micro) {
    if (b.tokens === 0) continue;
    // Each micro-batch contributes sum(CE) / (tokens of the whole step): the gradients add up to the
    // gradient of one large batch's mean loss.
    lossSum += scope(() => {
      const sum = lmLoss(model, b.ids, b.targets, b.B, b.T, { reduction: 'sum' });
      if (inBackward && !Number.isFinite(sum.item())) throw badLoss(sum.item() / tokens);
      backward(scale(sum, 1 / tokens), undefined, inBackward ?? {});
      return sum.item();
    });
  }
  const loss = lossSum / tokens;
  if (!Number.isFinite(loss)) throw badLoss(loss);
  let norm: number;
  if (inBackward) norm = inBackward.norm();
  else {
    // The clip is folded into the fused AdamW call (the gradients are scaled as they are read).
    norm = gradNorm(trainable);
    optimizer.step(trainable, lr, cfg.optim.maxGradNorm ? clipCoefficient(norm, cfg.optim.maxGradNorm) : 1);
  }
  for (const p of model.parameters()) p.zeroGrad();
  return { loss, gradNorm: norm, tokens, lr };
}
