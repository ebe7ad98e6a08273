// A lisa-tune config as an LMFlow finetune command line (argument names from LMFlow's src/lmflow/args.py and the
// HF TrainingArguments it extends), with our data converted into LMFlow's {"type", "instances"} JSON files.
import { join } from 'node:path';
import type { TrainConfig } from '../train/config.js';
import { RecipeError, allLinear, baseModel, commonNotes, layersPath, type BaseModel, type Recipe, type RecipeFile } from './common.js';
import { readSource, sourceFormat } from './data.js';

/** Converts one data file into an LMFlow dataset folder (dataDir/name/name.json); returns the folder. */
function dataset(path: string, cfg: TrainConfig, dataDir: string, name: string, files: RecipeFile[], notes: Set<string>): string {
  const format = sourceFormat(path, cfg.data.format, cfg.data.columns);
  const records = readSource(path, format, cfg.data.columns);
  let body: { type: string; instances: unknown[] };
  if (records.kind === 'pairs') {
    notes.add(`${format} records were written as text2text (input: our prompt, output: the answer); LMFlow tokenizes the two separately and adds no EOS after the output`);
    body = { type: 'text2text', instances: records.pairs.map((p) => ({ input: p.prompt, output: p.response })) };
  } else if (records.kind === 'chat') {
    if (records.note) notes.add(records.note);
    body = {
      type: 'conversation',
      instances: records.conversations.map((c) => {
        const system = c.messages[0]?.role === 'system' ? c.messages[0].content : undefined;
        const messages = system === undefined ? c.messages : c.messages.slice(1);
        messages.forEach((msg, i) => {
          if (msg.role !== 'user' && msg.role !== 'assistant') {
            throw new RecipeError(`${c.where}: message ${i + (system === undefined ? 0 : 1)} has role '${msg.role}'; LMFlow conversations take a leading system message, then user and assistant turns`);
          }
        });
        return { ...(system === undefined ? {} : { system }), messages };
      }),
    };
  } else if (records.kind === 'text') {
    body = { type: 'text_only', instances: records.texts.map((text) => ({ text })) };
  } else {
    throw new RecipeError(`${path}: LMFlow reads text (text_only, text2text or conversation JSON), not token ids; point data.path at the text source of these rows`);
  }
  if (!cfg.data.maskPrompt && body.type !== 'text_only') notes.add('data.maskPrompt: false: LMFlow trains on outputs (and assistant turns) only; pass --train_on_prompt 1 for conversations');
  const dir = join(dataDir, name);
  files.push({ path: join(dir, `${name}.json`), text: `${JSON.stringify(body, null, 1)}\n` });
  return dir;
}

const quote = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

function chatTemplate(model: BaseModel, notes: Set<string>): string {
  if (model.hasChatTemplate === false) return 'chatml'; // our fallback for models without one
  if (model.hasChatTemplate === undefined) notes.add("--conversation_template tokenizer assumes the model has a chat template; our fallback without one is ChatML ('chatml')");
  return 'tokenizer';
}

/** The LMFlow command for a run; converted data files go into dataDir. */
export function toLmflow(cfg: TrainConfig, source: string, dataDir: string): Recipe {
  const model = baseModel(cfg, source);
  const files: RecipeFile[] = [];
  const notes = new Set<string>();
  const o = cfg.optim;
  const t = cfg.train;
  const args: [string, string | number][] = [['--model_name_or_path', model.ref]];
  args.push(['--dataset_path', dataset(cfg.data.path, cfg, dataDir, 'train', files, notes)]);
  if (cfg.data.evalPath) args.push(['--eval_dataset_path', dataset(cfg.data.evalPath, cfg, dataDir, 'eval', files, notes)]);
  else args.push(['--validation_split_percentage', Math.round(cfg.data.evalSplit * 100)]);
  if (sourceFormat(cfg.data.path, cfg.data.format) === 'chat') args.push(['--conversation_template', chatTemplate(model, notes)]);
  const seq = cfg.data.maxLength ?? (model.context !== undefined ? Math.min(model.context, 2048) : undefined);
  if (seq !== undefined) args.push(['--block_size', seq]);
  args.push(['--disable_group_texts', cfg.data.packing ? 0 : 1]);
  const m = cfg.method;
  if (m.kind === 'lisa') {
    args.push(['--use_lisa', 1], ['--lisa_activated_layers', m.gamma], ['--lisa_interval_steps', m.period],
      ['--lisa_layers_attribute', `model.${layersPath(model.family)}`]);
  } else if (m.kind === 'lora') {
    args.push(['--use_lora', 1], ['--lora_r', m.rank], ['--lora_alpha', m.alpha], ['--lora_dropout', m.dropout],
      ['--lora_target_modules', (m.targets === 'all-linear' ? allLinear(model.family) : m.targets).join(',')]);
  }
  args.push(['--optim', 'adamw_torch'], ['--learning_rate', o.lr], ['--adam_beta1', o.beta1], ['--adam_beta2', o.beta2],
    ['--adam_epsilon', o.eps], ['--weight_decay', o.weightDecay]);
  const minLr = o.schedule === 'cosine' && o.minLrRatio > 0;
  args.push(['--lr_scheduler_type', minLr ? 'cosine_with_min_lr' : o.schedule === 'constant' && o.warmupSteps > 0 ? 'constant_with_warmup' : o.schedule]);
  if (minLr) args.push(['--lr_scheduler_kwargs', JSON.stringify({ min_lr_rate: o.minLrRatio })]);
  args.push(['--warmup_steps', o.warmupSteps], ['--max_grad_norm', o.maxGradNorm ?? 0]);
  if (t.steps !== undefined) args.push(['--max_steps', t.steps]);
  else args.push(['--num_train_epochs', t.epochs ?? 1]);
  args.push(['--per_device_train_batch_size', t.batchSize], ['--gradient_accumulation_steps', t.gradAccum]);
  if (t.weightDtype === 'bfloat16') args.push(['--bf16', 1], ['--torch_dtype', 'bfloat16']);
  args.push(['--gradient_checkpointing', t.gradientCheckpointing ? 1 : 0], ['--seed', t.seed], ['--logging_steps', t.logEvery]);
  if (t.saveEvery > 0) args.push(['--save_steps', t.saveEvery]);
  if (t.evalEvery > 0) args.push(['--eval_strategy', 'steps'], ['--eval_steps', t.evalEvery]);
  args.push(['--output_dir', cfg.out]);
  const lines = ['accelerate launch examples/finetune.py', ...args.map(([k, v]) => `${k} ${quote(String(v))}`)];
  const text = `# LMFlow command translated by \`lisa recipe --to lmflow\` from ${source}; run it in an LMFlow checkout\n${lines.join(' \\\n  ')}\n`;
  return { text, files, notes: [...commonNotes(cfg, 'LMFlow', model), ...notes] };
}
