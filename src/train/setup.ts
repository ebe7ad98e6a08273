// Builds what a training run needs from its config: backend, model (HF folder, hub id or init), tokenizer,
// examples (train and eval split), fine-tuning method and optimizer.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setDefaultBackend } from '../backends/index.js';
import { createModel, initWeights, loadModel, parseConfig, type CausalLM, type ModelConfig } from '../models/index.js';
import { readConfig, CONFIG_FILE } from '../io/hf-folder.js';
import { memoryWarning } from './memory-check.js';
import { resolveModel } from '../io/hub.js';
import { loadTokenizer, type Tokenizer } from '../data/tokenizer.js';
import type { Example } from '../data/example.js';
import { loadExamples } from '../data/load.js';
import { AdamW } from '../optim/adamw.js';
import { createMethod } from '../finetune/create.js';
import type { FineTuneMethod } from '../finetune/method.js';
import { Rng } from '../util/rng.js';
import { castToBf16 } from '../tensor/precision.js';
import { ConfigError, dataMaxLength, type TrainConfig } from './config.js';
import { ArgumentError } from '../util/errors.js';

export interface RunParts {
  model: CausalLM;
  modelDir: string | null;
  tokenizer: Tokenizer | null;
  train: Example[];
  eval: Example[];
  method: FineTuneMethod;
  optimizer: AdamW;
}

/** Before any weight is allocated: warn when the run's memory estimate exceeds what the machine has. */
function checkMemory(config: ModelConfig, cfg: TrainConfig, warn: (msg: string) => void): void {
  let w: string | null;
  try {
    w = memoryWarning(config, cfg);
  } catch (e) {
    if (e instanceof ArgumentError) return; // a shape the run itself refuses below, with its own message
    throw e;
  }
  if (w) warn(w);
}

async function buildModel(cfg: TrainConfig, warn: (msg: string) => void): Promise<{ model: CausalLM; dir: string | null }> {
  const m = cfg.model;
  const bf16 = cfg.train.weightDtype === 'bfloat16';
  if (typeof m === 'object' && 'init' in m) {
    const config = parseConfig(m.init, 'model.init');
    checkMemory(config, cfg, warn);
    const model = createModel(config);
    initWeights(model, new Rng(cfg.train.seed));
    if (bf16) castToBf16(model.parameters()); // model.to(torch.bfloat16), tensor by tensor
    return { model, dir: null };
  }
  const ref = typeof m === 'string' ? m : m.path;
  const dir = await resolveModel(ref);
  checkMemory(parseConfig(readConfig(dir), join(dir, CONFIG_FILE)), cfg, warn);
  return { model: loadModel(dir, bf16 ? { dtype: 'bfloat16' } : {}).model, dir };
}

function buildTokenizer(cfg: TrainConfig, modelDir: string | null): Tokenizer | null {
  const explicit = typeof cfg.model === 'object' && 'init' in cfg.model ? cfg.model.tokenizer : undefined;
  const dir = explicit ?? modelDir;
  if (!dir) return null;
  if (explicit || existsSync(join(dir, 'tokenizer.json'))) return loadTokenizer(dir);
  return null;
}

/** Splits off a seeded eval fraction (at least one example when the fraction is > 0). */
function split(examples: Example[], fraction: number, seed: number): [Example[], Example[]] {
  if (fraction === 0 || examples.length < 2) return [examples, []];
  const order = new Rng(seed ^ 0x5eed).shuffle(examples.map((_, i) => i));
  const nEval = Math.max(1, Math.round(examples.length * fraction));
  const evalIdx = new Set(order.slice(0, nEval));
  return [examples.filter((_, i) => !evalIdx.has(i)), examples.filter((_, i) => evalIdx.has(i))];
}

/** Parts a program built itself and passes to train() instead of naming them in the config. */
export interface GivenParts {
  /** A model built in code (createModel, loadModel): trained in place, not disposed by the run. */
  model?: CausalLM;
  /** The tokenizer for data files (default: the one beside the config's model). */
  tokenizer?: Tokenizer;
  /** Tokenized examples instead of reading config.data.path; `eval` defaults to a split of `train`. */
  examples?: { train: readonly Example[]; eval?: readonly Example[] };
}

function givenModel(cfg: TrainConfig, model: CausalLM): { model: CausalLM; dir: string | null } {
  if (cfg.train.weightDtype === 'bfloat16') castToBf16(model.parameters());
  return { model, dir: null };
}

function checkContext(where: string, examples: readonly Example[], model: CausalLM): void {
  for (const [i, e] of examples.entries()) {
    if (e.ids.length > model.maxPositions) {
      throw new ConfigError(`${where}: example ${i + 1} has ${e.ids.length} tokens, longer than the model's context (${model.maxPositions}); lower data.maxLength`);
    }
  }
}

function readExamples(cfg: TrainConfig, tokenizer: Tokenizer | null, model: CausalLM, given: GivenParts): [Example[], Example[]] {
  if (given.examples) {
    const train = [...given.examples.train];
    const evalSet = given.examples.eval ? [...given.examples.eval] : null;
    checkContext('train(): examples.train', train, model);
    if (evalSet) checkContext('train(): examples.eval', evalSet, model);
    return evalSet ? [train, evalSet] : split(train, cfg.data.evalSplit, cfg.train.seed);
  }
  const data = { ...cfg.data, maxLength: dataMaxLength(cfg, model.maxPositions) };
  const all = loadExamples(data, tokenizer, model.config.vocabSize);
  checkContext(cfg.data.path, all, model);
  return cfg.data.evalPath
    ? [all, loadExamples({ ...data, path: cfg.data.evalPath }, tokenizer, model.config.vocabSize)]
    : split(all, cfg.data.evalSplit, cfg.train.seed);
}

export async function setupRun(cfg: TrainConfig, warn: (msg: string) => void = () => {}, given: GivenParts = {}): Promise<RunParts> {
  if (cfg.train.backend) setDefaultBackend(cfg.train.backend);
  const { model, dir } = given.model ? givenModel(cfg, given.model) : await buildModel(cfg, warn);
  model.gradientCheckpointing = cfg.train.gradientCheckpointing;
  const tokenizer = given.tokenizer ?? buildTokenizer(cfg, dir);
  if (!given.examples && cfg.data.maxLength !== undefined && cfg.data.maxLength > model.maxPositions) {
    throw new ConfigError(`data.maxLength = ${cfg.data.maxLength} is longer than the model's context (${model.maxPositions})`);
  }
  const [train, evalSet] = readExamples(cfg, tokenizer, model, given);
  if (train.length === 0) throw new ConfigError(`${cfg.data.path}: the training set is empty`);
  const o = cfg.optim;
  const optimizer = new AdamW({ lr: o.lr, beta1: o.beta1, beta2: o.beta2, eps: o.eps, weightDecay: o.weightDecay });
  const mc = cfg.method;
  const method = createMethod(model, mc.kind === 'full' ? mc
    : mc.kind === 'lora' ? { ...mc, seed: cfg.train.seed } : { ...mc, seed: mc.seed ?? cfg.train.seed }, optimizer);
  return { model, modelDir: dir, tokenizer, train, eval: evalSet, method, optimizer };
}
