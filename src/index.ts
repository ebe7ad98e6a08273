// The public API of lisa-tune (`import { ... } from 'lisa-tune'`): train, configs, models, tokenizers,
// generation, memory estimates, the fine-tuning methods, AdamW, schedules and the error classes.

/**
 * Training. {@link train} runs a whole fine-tuning run (the same loop as `lisa train`): it takes a config
 * (the YAML keys as an object) and options with callbacks for steps and evals, an AbortSignal that stops the
 * run after the current step with a checkpoint, and optionally a model, tokenizer or examples built in code.
 *
 * @example
 * ```ts
 * const ac = new AbortController();
 * const r = await train({ method: { kind: 'lisa', gamma: 1, period: 2 }, train: { steps: 3 }, out: 'run' },
 *   { model, examples: { train: examples }, signal: ac.signal, onStep: (m) => console.log(m.step, m.loss) });
 * ```
 */
export {
  train, type TrainInput, type TrainOptions, type TrainEvents, type TrainResult, type StepMetrics,
} from './train/trainer.js';
export { TrainingError } from './train/step.js';
export type { GivenParts } from './train/setup.js';
export type { EvalResult } from './train/evaluate.js';

/** Configs: {@link loadConfig} reads a YAML/JSON file (with `key.path=value` overrides), {@link validateConfig}
 *  checks an object; both fill the defaults and throw {@link ConfigError} naming the key. */
export {
  loadConfig, validateConfig, type TrainConfig, type TrainConfigInput, type MethodConfig,
} from './train/config.js';
export { CheckpointError } from './train/checkpoint.js';
export { RunFolderError } from './train/run-folder.js';

/** Models: {@link createModel} builds a GPT-2 or Llama-family model from a config with seeded initial
 *  weights; {@link loadModel} and {@link saveModel} read and write Hugging Face folders (safetensors). */
export { createInitialisedModel as createModel, type CreateModelOptions } from './models/create.js';
export {
  loadModel, saveModel, parseConfig, toHfConfig, lmLoss, KVCache, Gpt2Model, LlamaModel,
  type CausalLM, type ModelConfig, type Gpt2Config, type LlamaConfig, type LoadedModel, type LmLossOpts, type NonBlockRole,
} from './models/index.js';

/** Generation: greedy, temperature, top-k and top-p sampling with a KV cache. */
export { generate, type GenerateOptions, type GenerateResult, type StopReason } from './models/generate.js';

/** Tokenizers: {@link loadTokenizer} reads tokenizer.json (or converts GPT-2, SentencePiece, llama2.c files). */
export { loadTokenizer, Tokenizer, type EncodeOptions, type DecodeOptions } from './data/tokenizer.js';
/** A tokenized training example (labels of IGNORE_INDEX are left out of the loss). */
export { IGNORE_INDEX, type Example } from './data/example.js';

/** Fine-tuning methods behind one factory: {@link createMethod} applies full fine-tuning, LoRA or LISA to a
 *  model and returns the {@link FineTuneMethod} the trainer drives. */
export { createMethod, type MethodSpec } from './finetune/create.js';
export type { FineTuneMethod, MethodKind } from './finetune/method.js';
export { Lisa, type LisaOptions } from './finetune/lisa.js';
export { LoraFineTune, type LoraOptions } from './finetune/lora.js';
export { FullFineTune } from './finetune/full.js';
export { saveLoraAdapter, loadLoraAdapter } from './finetune/lora-io.js';

/** Memory: {@link estimateMemory} runs real training steps on the shape-only backend and reports the peak
 *  bytes per category (weights, gradients, optimizer state, adapters, activations) for any model size. */
export {
  estimateMemory, type MemoryEstimate, type MemoryMethod, type MemoryShape, type MemoryBytes,
} from './finetune/memory-estimate.js';

/** Optimisation: torch-compatible AdamW and the learning-rate schedules (pure functions of the step). */
export { AdamW, type AdamWOptions } from './optim/adamw.js';
export { lrAt, validateSchedule, type Schedule, type ScheduleKind } from './optim/schedule.js';

/** Errors: every error a user can cause is a {@link LisaError} subclass whose message names the file, key or
 *  tensor and what was expected. */
export { LisaError, ShapeError, DTypeError, IndexError, ArgumentError, ConfigError, DisposedError, BackendError } from './util/errors.js';
export { FormatError, UnsupportedDtypeError, MissingFileError, HubError } from './io/errors.js';
export { DataError } from './data/data-error.js';
