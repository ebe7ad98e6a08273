// A lisa-tune config as an axolotl YAML config (keys from axolotl's pydantic schema, src/axolotl/utils/schemas/):
// base model, datasets in axolotl's formats (converted files where ours have no direct equivalent), LISA or LoRA,
// AdamW and its schedule, steps or epochs, batch size, gradient accumulation and bf16.
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { TrainConfig } from '../train/config.js';
import { baseModel, commonNotes, layersPath, type BaseModel, type Recipe, type RecipeFile } from './common.js';
import { jsonl, readSource, readableAsIs, sourceFormat } from './data.js';

/** One entry of axolotl's `datasets:` list for our data file, converting it into dataDir when needed. */
function datasetEntry(path: string, cfg: TrainConfig, model: BaseModel, dataDir: string, name: string,
  files: RecipeFile[], notes: Set<string>): Record<string, unknown> {
  const columns = cfg.data.columns;
  const format = sourceFormat(path, cfg.data.format, columns);
  const records = readSource(path, format, columns);
  const asIs = readableAsIs(path, columns);
  const write = (rows: unknown[]) => {
    const out = join(dataDir, `${name}.jsonl`);
    files.push({ path: out, text: jsonl(rows) });
    return out;
  };
  if (format === 'alpaca' && records.kind === 'pairs' && asIs) return { path, ds_type: 'json', type: 'alpaca' }; // the same Stanford Alpaca prompt as ours
  if (records.kind === 'pairs') {
    notes.add(`${format} records were written as input_output segments (our prompt unlabelled, the answer labelled); add the BOS/EOS tokens as text if your tokenizer needs them`);
    return { path: write(records.pairs.map((p) => ({ segments: [{ label: false, text: p.prompt }, { label: true, text: p.response }] }))), ds_type: 'json', type: 'input_output' };
  }
  if (records.kind === 'chat') {
    if (model.hasChatTemplate === undefined) notes.add('chat_template: tokenizer_default assumes the model has a chat template; our fallback without one is ChatML (chat_template: chatml)');
    if (records.note) notes.add(records.note);
    return {
      path: format === 'chat' && asIs ? path : write(records.conversations.map((c) => ({ messages: c.messages }))), ds_type: 'json', type: 'chat_template', field_messages: 'messages',
      chat_template: model.hasChatTemplate === false ? 'chatml' : 'tokenizer_default',
      roles_to_train: ['assistant'], train_on_eos: 'turn',
    };
  }
  if (records.kind === 'text') {
    notes.add('text: we cut documents into data.maxLength windows; axolotl completion splits long texts into sequence_len pieces as well, at its own boundaries');
    return { path: asIs ? path : write(records.texts.map((text) => ({ text }))), ds_type: 'json', type: 'completion' };
  }
  notes.add('pre-tokenized rows were written with input_ids, attention_mask and labels (our masking) for axolotl\'s tokenized format (empty type)');
  return {
    path: write(records.examples.map((e) => ({ input_ids: e.ids, attention_mask: e.ids.map(() => 1), labels: e.labels }))),
    ds_type: 'json', type: null,
  };
}

/** The axolotl config for a run; converted data files go into dataDir. */
export function toAxolotl(cfg: TrainConfig, source: string, dataDir: string): Recipe {
  const model = baseModel(cfg, source);
  const files: RecipeFile[] = [];
  const notes = new Set<string>();
  const o = cfg.optim;
  const t = cfg.train;
  const c: Record<string, unknown> = { base_model: model.ref };
  c['datasets'] = [datasetEntry(cfg.data.path, cfg, model, dataDir, 'train', files, notes)];
  if (cfg.data.evalPath) c['test_datasets'] = [datasetEntry(cfg.data.evalPath, cfg, model, dataDir, 'eval', files, notes)];
  else c['val_set_size'] = cfg.data.evalSplit;
  // data.maxLength, else our default for this model (its context, at most 2048); unknown: axolotl's default.
  const seq = cfg.data.maxLength ?? (model.context !== undefined ? Math.min(model.context, 2048) : undefined);
  if (seq !== undefined) c['sequence_len'] = seq;
  c['sample_packing'] = cfg.data.packing;
  c['train_on_inputs'] = !cfg.data.maskPrompt;
  const m = cfg.method;
  if (m.kind === 'lisa') {
    c['lisa_n_layers'] = m.gamma;
    c['lisa_step_interval'] = m.period;
    c['lisa_layers_attribute'] = layersPath(model.family);
    notes.add('axolotl also resamples the active layers at step 1 (global_step == 1), besides every lisa_step_interval steps');
  } else if (m.kind === 'lora') {
    c['adapter'] = 'lora';
    c['lora_r'] = m.rank;
    c['lora_alpha'] = m.alpha;
    c['lora_dropout'] = m.dropout;
    if (m.targets === 'all-linear') c['lora_target_linear'] = true;
    else c['lora_target_modules'] = m.targets;
  }
  c['optimizer'] = 'adamw_torch';
  c['learning_rate'] = o.lr;
  c['adam_beta1'] = o.beta1;
  c['adam_beta2'] = o.beta2;
  c['adam_epsilon'] = o.eps;
  c['weight_decay'] = o.weightDecay;
  c['lr_scheduler'] = o.schedule === 'constant' && o.warmupSteps > 0 ? 'constant_with_warmup' : o.schedule;
  if (o.schedule === 'cosine' && o.minLrRatio > 0) c['cosine_min_lr_ratio'] = o.minLrRatio;
  c['warmup_steps'] = o.warmupSteps;
  c['max_grad_norm'] = o.maxGradNorm ?? 0; // 0 turns clipping off in HF Trainer
  if (t.steps !== undefined) c['max_steps'] = t.steps;
  else c['num_epochs'] = t.epochs;
  c['micro_batch_size'] = t.batchSize;
  c['gradient_accumulation_steps'] = t.gradAccum;
  c['bf16'] = t.weightDtype === 'bfloat16';
  c['gradient_checkpointing'] = t.gradientCheckpointing;
  c['seed'] = t.seed;
  c['logging_steps'] = t.logEvery;
  if (t.evalEvery > 0) c['eval_steps'] = t.evalEvery;
  if (t.saveEvery > 0) c['save_steps'] = t.saveEvery;
  c['output_dir'] = cfg.out;
  const header = `# axolotl config translated by \`lisa recipe --to axolotl\` from ${source}\n# run: axolotl train THIS_FILE\n`;
  return { text: header + stringify(c), files, notes: [...commonNotes(cfg, 'axolotl', model), ...notes] };
}
