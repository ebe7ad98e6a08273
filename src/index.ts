// The public API of lisa-tune: `import { ... } from 'lisa-tune'`. Everything a program needs to train, load,
// save, generate and estimate memory; the layers below stay internal.
export { train, type TrainOptions, type TrainEvents, type TrainResult, type StepMetrics } from './train/trainer.js';
export { TrainingError } from './train/step.js';
export { loadConfig, validateConfig, ConfigError, type TrainConfig, type MethodConfig } from './train/config.js';
export { CheckpointError } from './train/checkpoint.js';
export { RunFolderError } from './train/run-folder.js';
export type { EvalResult } from './train/evaluate.js';
export {
  createModel, loadModel, saveModel, parseConfig, toHfConfig, lmLoss, initWeights, KVCache, Gpt2Model, LlamaModel,
  type CausalLM, type ModelConfig, type Gpt2Config, type LlamaConfig, type LoadedModel, type LmLossOpts, type NonBlockRole,
} from './models/index.js';
export { generate, type GenerateOptions, type GenerateResult, type StopReason } from './models/generate.js';
export { loadTokenizer, Tokenizer } from './data/tokenizer.js';
export { AdamW, type AdamWOptions } from './optim/adamw.js';
export { lrAt, validateSchedule, type Schedule, type ScheduleKind } from './optim/schedule.js';
export { Lisa, type LisaOptions } from './finetune/lisa.js';
export { LoraFineTune, type LoraOptions } from './finetune/lora.js';
export { FullFineTune } from './finetune/full.js';
export type { FineTuneMethod, MethodKind } from './finetune/method.js';
export { estimateMemory, type MemoryEstimate, type MemoryMethod, type MemoryShape } from './finetune/memory-estimate.js';
export { LisaError, ShapeError, DTypeError, IndexError, ArgumentError, DisposedError, BackendError } from './util/errors.js';
export { FormatError, UnsupportedDtypeError, MissingFileError, HubError } from './io/errors.js';
