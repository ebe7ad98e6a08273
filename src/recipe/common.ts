// What both recipe writers need: the recipe type and its error, the base model and its architecture, the LISA
// layer path and LoRA linear names per family, and the notes on what a lisa-tune run does that cannot be carried over.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../models/index.js';
import { LisaError } from '../util/errors.js';
import type { TrainConfig } from '../train/config.js';

export class RecipeError extends LisaError {}

/** A file the recipe needs written (converted data), with the text to write. */
export interface RecipeFile { path: string; text: string }

export interface Recipe {
  /** The YAML config (axolotl) or the command line (LMFlow). */
  text: string;
  files: RecipeFile[];
  /** What does not carry over, one sentence each. */
  notes: string[];
}

export interface BaseModel {
  /** The hub id or folder the other tool loads. */
  ref: string;
  /** gpt2 or llama family, when the config.json could be read (a local folder). */
  family?: 'gpt2' | 'llama';
  /** HF architecture class, e.g. LlamaForCausalLM. */
  architecture?: string;
  /** Whether its tokenizer_config.json has a chat_template (undefined: not known). */
  hasChatTemplate?: boolean;
  /** The model's context (positions), when the config.json could be read. */
  context?: number;
}

/** The base model of a run; a model built from `init` has no checkpoint another tool could load. */
export function baseModel(cfg: TrainConfig, source: string): BaseModel {
  const m = cfg.model;
  if (typeof m === 'object' && 'init' in m) {
    throw new RecipeError(`${source}: 'model' is built from 'model.init' (random weights), which another trainer cannot load; ` +
      'train it with lisa train first and point model at its exported final/ folder');
  }
  const ref = typeof m === 'string' ? m : m.path;
  if (!existsSync(join(ref, 'config.json'))) return { ref };
  const raw = JSON.parse(readFileSync(join(ref, 'config.json'), 'utf8')) as { architectures?: unknown };
  const config = parseConfig(raw, join(ref, 'config.json'));
  const archs = Array.isArray(raw.architectures) ? raw.architectures.filter((a): a is string => typeof a === 'string') : [];
  let hasChatTemplate = false;
  const tc = join(ref, 'tokenizer_config.json');
  if (existsSync(tc)) hasChatTemplate = (JSON.parse(readFileSync(tc, 'utf8')) as { chat_template?: unknown }).chat_template != null;
  return {
    ref, family: config.family, hasChatTemplate, context: config.family === 'gpt2' ? config.nPositions : config.maxPositions,
    architecture: archs[0] ?? (config.family === 'gpt2' ? 'GPT2LMHeadModel' : 'LlamaForCausalLM'),
  };
}

/** Where the transformer blocks live below the *ForCausalLM module, per family (HF module names). */
export function layersPath(family: BaseModel['family']): string {
  return family === 'gpt2' ? 'transformer.h' : 'model.layers';
}

/** LoRA's 'all-linear' as module names (the LM head excluded, as PEFT does). */
export function allLinear(family: BaseModel['family']): string[] {
  return family === 'gpt2' ? ['c_attn', 'c_proj', 'c_fc'] : ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];
}

/** Notes on settings of the run that the other tool has no equivalent for (or does differently). */
export function commonNotes(cfg: TrainConfig, tool: string, model: BaseModel): string[] {
  const notes: string[] = [];
  const m = cfg.method;
  if (m.kind === 'lisa') {
    if (m.stateOnSwitch === 'reset') {
      notes.push(`optimizer state: ${tool}'s LISA keeps the AdamW state of blocks that leave the active set (like our stateOnSwitch: keep); ` +
        'our stateOnSwitch: reset frees it, so memory is higher there and a re-activated block resumes its old moments');
    }
    if (m.sampling !== 'uniform') notes.push(`LISA sampling '${m.sampling}'${m.probabilities ? ' with probabilities' : ''}: ${tool} samples blocks uniformly only`);
    if (m.schedule) notes.push(`LISA schedule replay (method.schedule): ${tool} has no explicit block schedule; it samples uniformly`);
    if (m.profile) notes.push(`LISA weights from a layer-norm profile (method.profile) do not exist in ${tool}`);
    const all = ['embed', 'posEmbed', 'finalNorm', 'head'];
    if (!all.every((r) => m.alwaysTrain.includes(r as (typeof m.alwaysTrain)[number]))) {
      notes.push(`LISA alwaysTrain [${m.alwaysTrain.join(', ')}]: ${tool} trains every parameter outside the block list (embeddings, final norm, head)`);
    }
    notes.push(`LISA's block sampling uses ${tool}'s own RNG: the active blocks will differ from this run's, even with the same seed`);
    if (model.family === undefined) {
      notes.push(`the layer attribute path differs per architecture (Llama family: model.layers, GPT-2: transformer.h); ${model.ref} is not a local folder, so the Llama path was assumed`);
    }
  }
  if (m.kind === 'lora' && m.targets === 'all-linear' && model.family === undefined) {
    notes.push(`LoRA 'all-linear' was written as the Llama-family module names; ${model.ref} is not a local folder, so check them`);
  }
  if (cfg.optim.updateInBackward) notes.push(`optim.updateInBackward (AdamW inside backward) has no ${tool} equivalent; it trains with the ordinary step`);
  if (cfg.optim.weightDecay > 0) notes.push('weight decay: HF Trainer exempts biases and norm weights from weight decay; we decay every trainable tensor');
  if (cfg.optim.schedule !== 'cosine' && cfg.optim.minLrRatio > 0) notes.push(`optim.minLrRatio applies to cosine only; ignored for '${cfg.optim.schedule}'`);
  if (cfg.train.weightDtype === 'bfloat16') notes.push('bf16 here is mixed precision (autocast) with fp32 weights; our train.weightDtype: bfloat16 stores frozen weights in bf16');
  else notes.push('we compute in float32; bf16 is off to match (on GPUs bf16 mixed precision is the usual choice)');
  if (cfg.data.limit !== undefined) notes.push(`data.limit = ${cfg.data.limit}: the converted data keeps every record; trim the file to the first ${cfg.data.limit} if you need that`);
  if (!cfg.data.shuffle) notes.push(`data.shuffle: false: ${tool} shuffles the training set`);
  if (cfg.train.backend) notes.push(`train.backend '${cfg.train.backend}' is specific to lisa-tune`);
  return notes;
}
