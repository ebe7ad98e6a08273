// The training loop: gradient accumulation (token-weighted, so it equals one large batch), clipping, the
// schedule, periodic eval, metrics.jsonl, atomic checkpoints with exact resume, and the final export.
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { memoryReport } from '../tensor/memory.js';
import { setMatmulPrecision } from '../ops/matmul.js';
import type { Schedule } from '../optim/schedule.js';
import { validateConfig, type TrainConfig, type TrainConfigInput } from './config.js';
import { setupRun, type GivenParts, type RunParts } from './setup.js';
import { toHfConfig } from '../models/config.js';
import { DataStream } from './data-stream.js';
import { evaluate, type EvalResult } from './evaluate.js';
import { chooseCheckpoint, loadCheckpoint, saveCheckpoint, savedConfig, type RunState } from './checkpoint.js';
import { comparableConfig, configDifferences, lockRunFolder, prepareFreshRun, RESUME_MAY_CHANGE, RunFolderError } from './run-folder.js';
import { exportRun } from './export.js';
import { TrainingError, totalStepsOf, trainStep, type StepContext } from './step.js';
import { startTrajectory } from './norms-trajectory.js';

export interface StepMetrics {
  step: number;
  loss: number;
  lr: number;
  gradNorm: number;
  tokensPerSec: number;
  /** Seconds of the step's compute (forward, backward, optimizer; eval excluded). */
  seconds: number;
  activeLayers?: number[];
  memory: Record<string, number>;
  evalLoss?: number;
  evalPerplexity?: number;
}

export interface TrainEvents {
  onStart?(info: { totalSteps: number; startStep: number; trainExamples: number; evalExamples: number }): void;
  onStep?(m: StepMetrics, totalSteps: number): void;
  onEval?(step: number, r: EvalResult): void;
  onSave?(step: number, dir: string): void;
  /** Something the user should know that does not stop the run (e.g. a damaged checkpoint passed over). */
  onWarning?(message: string): void;
  /** Before an evaluation, a checkpoint save or the final export (logs; a kill test aims at these). */
  onPhase?(phase: 'eval' | 'save' | 'export', step: number): void;
}

export interface TrainOptions extends TrainEvents, GivenParts {
  /** Continue from the checkpoint in config.out. */
  resume?: boolean;
  /** Replace a previous run's results in cfg.out (otherwise a fresh run there is refused). */
  overwrite?: boolean;
  /** Checked after every step: when it returns true the run saves a checkpoint and stops. */
  shouldStop?: () => boolean;
  /** Aborting it stops the run after the current step, with a checkpoint (result.stopped = 'interrupted'). */
  signal?: AbortSignal;
}

/** A config for train(): `model` may be left out when options.model is given, `data` when options.examples is. */
export type TrainInput = Omit<TrainConfigInput, 'model' | 'data'> & {
  model?: TrainConfigInput['model'];
  data?: TrainConfigInput['data'];
};

/** The config with what the options give in code filled in: the model's architecture (so a resume with another
 *  model is refused) and a name for examples passed in memory. */
function withGivenParts(config: TrainInput, opts: TrainOptions): unknown {
  if (config === null || typeof config !== 'object') return config;
  return {
    ...config,
    ...(config.model === undefined && opts.model ? { model: { init: toHfConfig(opts.model.config) } } : {}),
    ...(config.data === undefined && opts.examples ? { data: { path: '(examples passed to train())' } } : {}),
  };
}

export interface TrainResult { steps: number; stopped: 'done' | 'interrupted'; lastLoss: number; evalLoss?: number; exportDir?: string }

/** Trains with cfg, holding cfg.out's lock for the whole run (one run per output folder); the model and
 *  optimizer state it built are freed when it returns or throws. */
export async function train(config: TrainInput, opts: TrainOptions = {}): Promise<TrainResult> {
  const cfg = validateConfig(withGivenParts(config, opts), 'train() config');
  const release = lockRunFolder(cfg.out);
  let parts: RunParts | undefined;
  const prevPrecision = setMatmulPrecision(cfg.train.matmulPrecision);
  try {
    return await trainLocked(cfg, opts, (p) => (parts = p));
  } finally {
    setMatmulPrecision(prevPrecision);
    parts?.optimizer.dispose();
    if (!opts.model) parts?.model.dispose();
    release();
  }
}

async function trainLocked(cfg: TrainConfig, opts: TrainOptions, built: (p: RunParts) => void): Promise<TrainResult> {
  const chosen = opts.resume ? chooseCheckpoint(cfg.out) : { dir: null, skipped: [] };
  for (const why of chosen.skipped) opts.onWarning?.(`${why}; resuming from the previous checkpoint instead`);
  const ckpt = chosen.dir;
  if (opts.resume && !ckpt) {
    throw new RunFolderError(`--resume: ${cfg.out} has no checkpoint (checkpoint/ or checkpoint.old/ with state.json) to resume; run without --resume to start afresh`);
  }
  if (ckpt) {
    const saved = savedConfig(ckpt);
    const differ = saved === undefined ? [] : configDifferences(saved, comparableConfig(cfg));
    if (differ.length > 0) {
      throw new RunFolderError(`--resume: the config differs from the one ${ckpt} was saved with in ${differ.map((k) => `'${k}'`).join(', ')} ` +
        `(only ${RESUME_MAY_CHANGE.map((k) => `'${k}'`).join(' and ')} may change on resume); use the original config, or start a new run in another 'out'`);
    }
  } else prepareFreshRun(cfg.out, opts.overwrite ?? false);
  const parts = await setupRun(cfg, (msg) => opts.onWarning?.(msg), opts);
  built(parts);
  const { model, method, optimizer } = parts;
  const t = cfg.train;
  const totalSteps = totalStepsOf(cfg, parts.train.length);
  const schedule: Schedule = { kind: cfg.optim.schedule, lr: cfg.optim.lr, warmupSteps: cfg.optim.warmupSteps, totalSteps, minLrRatio: cfg.optim.minLrRatio };
  const stream = new DataStream(parts.train, { batchSize: t.batchSize, shuffle: cfg.data.shuffle, seed: t.seed });
  const padId = parts.tokenizer?.padId ?? 0;
  mkdirSync(cfg.out, { recursive: true });
  const metricsPath = join(cfg.out, 'metrics.jsonl');
  if (t.batchSize > parts.train.length) {
    throw new TrainingError(`'train.batchSize' = ${t.batchSize} is larger than the ${parts.train.length} training examples of ${cfg.data.path}; use at most ${parts.train.length}`);
  }
  let startStep = 0;
  let metricsLines = 0;
  if (ckpt) {
    const s = loadCheckpoint(ckpt, method.checkpointParameters(), optimizer, method);
    stream.cursor = s.dataCursor;
    startStep = s.step;
    metricsLines = s.metricsLines;
    const kept = existsSync(metricsPath) ? readFileSync(metricsPath, 'utf8').split('\n').filter(Boolean).slice(0, metricsLines) : [];
    writeFileSync(metricsPath, kept.map((l) => `${l}\n`).join(''));
  } else writeFileSync(metricsPath, '');
  // eval.jsonl: one line per evaluation (step 0 = before training); on resume, lines after the checkpoint go.
  const evalPath = join(cfg.out, 'eval.jsonl');
  const keptEval = (l: string) => {
    try {
      return (JSON.parse(l) as { step: number }).step <= startStep;
    } catch {
      opts.onWarning?.(`${evalPath}: dropped a damaged line (${l.slice(0, 40)}...)`);
      return false;
    }
  };
  const evalLines = existsSync(evalPath) && ckpt ? readFileSync(evalPath, 'utf8').split('\n').filter((l) => l && keptEval(l)) : [];
  writeFileSync(evalPath, evalLines.map((l) => `${l}\n`).join(''));
  const runEval = (step: number): EvalResult => {
    opts.onPhase?.('eval', step);
    const r = evaluate(model, parts.eval, t.batchSize, padId);
    appendFileSync(evalPath, `${JSON.stringify({ step, loss: r.loss, perplexity: r.perplexity, tokens: r.tokens })}\n`);
    opts.onEval?.(step, r);
    return r;
  };
  // train.normsEvery: the per-layer weight-norm trajectory (OUT/norms.jsonl), cut back to the checkpoint on resume.
  const norms = startTrajectory(cfg.out, t.normsEvery, model, cfg.method.kind === 'lora' ? cfg.method.alpha / cfg.method.rank : null, startStep, (msg) => opts.onWarning?.(msg));
  opts.onStart?.({ totalSteps, startStep, trainExamples: parts.train.length, evalExamples: parts.eval.length });
  if (startStep === 0 && t.evalEvery > 0 && parts.eval.length > 0) runEval(0);

  const save = (step: number) => {
    const state: RunState = {
      version: 1, step, dataCursor: stream.cursor, metricsLines, methodState: method.saveState(), config: comparableConfig(cfg),
      rngStates: method.rngStates(),
    };
    opts.onPhase?.('save', step);
    saveCheckpoint(cfg.out, method.checkpointParameters(), optimizer, state);
    opts.onSave?.(step, join(cfg.out, 'checkpoint'));
  };

  const ctx: StepContext = { cfg, parts, stream, schedule, padId };
  let lastLoss = NaN;
  let lastEval: EvalResult | undefined;
  // Between steps the loop yields to the event loop, so signal handlers and timers can run.
  const stopRequested = async () => { await new Promise((r) => setImmediate(r)); return (opts.signal?.aborted ?? false) || (opts.shouldStop?.() ?? false); };
  if (await stopRequested()) return { steps: startStep, stopped: 'interrupted', lastLoss };
  for (let step = startStep; step < totalSteps; step++) {
    const started = performance.now();
    const { loss, gradNorm: norm, tokens, lr } = trainStep(ctx, step);
    const mem = memoryReport();
    const seconds = (performance.now() - started) / 1000;
    norms?.afterStep(step + 1); // after the step's memory peaks are read (LoRA's merged norms use temporaries)
    const m: StepMetrics = {
      step: step + 1, loss, lr, gradNorm: norm, tokensPerSec: tokens / seconds, seconds,
      ...method.stepMetrics(),
      memory: { ...mem.peak, total: mem.peakTotal },
    };
    lastLoss = loss;
    if (t.evalEvery > 0 && parts.eval.length > 0 && (step + 1) % t.evalEvery === 0) {
      lastEval = runEval(step + 1);
      m.evalLoss = lastEval.loss;
      m.evalPerplexity = lastEval.perplexity;
    }
    appendFileSync(metricsPath, `${JSON.stringify(m)}\n`);
    metricsLines++;
    opts.onStep?.(m, totalSteps);
    const stop = await stopRequested();
    if ((t.saveEvery > 0 && (step + 1) % t.saveEvery === 0) || stop) save(step + 1);
    if (stop) return { steps: step + 1, stopped: 'interrupted', lastLoss, evalLoss: lastEval?.loss };
  }
  if (parts.eval.length > 0 && !(t.evalEvery > 0 && totalSteps % t.evalEvery === 0)) lastEval = runEval(totalSteps);
  opts.onPhase?.('export', totalSteps);
  const exportDir = exportRun(cfg, parts);
  return { steps: totalSteps, stopped: 'done', lastLoss, evalLoss: lastEval?.loss, exportDir };
}
