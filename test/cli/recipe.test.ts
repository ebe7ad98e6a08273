// `lisa recipe --to axolotl|lmflow`: examples/alpaca-lisa.yaml gives axolotl's lisa_n_layers/lisa_step_interval and
// LMFlow's --lisa_activated_layers/--lisa_interval_steps; LoRA gives adapter: lora and lora_* keys; every key written
// is one the upstream sources define (lists below, with the file each came from); data is converted where needed;
// an unknown tool, a model from init and an LMFlow chat role it lacks are clear errors.
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { runCli, tempDirs } from '../cli-helpers.js';
import { repoRoot } from '../helpers.js';

const tmp = tempDirs('lisa-cli-recipe');
const EXAMPLE = join(repoRoot, 'examples/alpaca-lisa.yaml');

/** Keys of axolotl's config schema (axolotl-ai-cloud/axolotl, commit 067b021c), by file. */
const AXOLOTL_KEYS = new Set([
  // src/axolotl/utils/schemas/integrations.py (LISAConfig)
  'lisa_n_layers', 'lisa_step_interval', 'lisa_layers_attribute',
  // src/axolotl/utils/schemas/peft.py (LoraConfig)
  'adapter', 'lora_r', 'lora_alpha', 'lora_dropout', 'lora_target_modules', 'lora_target_linear',
  // src/axolotl/utils/schemas/model.py
  'base_model', 'output_dir',
  // src/axolotl/utils/schemas/training.py
  'gradient_accumulation_steps', 'micro_batch_size', 'train_on_inputs', 'learning_rate', 'weight_decay', 'optimizer',
  'lr_scheduler', 'cosine_min_lr_ratio', 'adam_epsilon', 'adam_beta1', 'adam_beta2', 'max_grad_norm', 'num_epochs',
  // src/axolotl/utils/schemas/config.py (AxolotlInputConfig)
  'datasets', 'test_datasets', 'val_set_size', 'seed', 'bf16', 'gradient_checkpointing', 'sequence_len', 'sample_packing',
  'max_steps', 'warmup_steps', 'eval_steps', 'save_steps', 'logging_steps',
]);
/** Keys of a `datasets:` entry: src/axolotl/utils/schemas/datasets.py (SFTDataset). */
const AXOLOTL_DATASET_KEYS = new Set(['path', 'ds_type', 'type', 'field_messages', 'chat_template', 'roles_to_train', 'train_on_eos']);
/** LMFlow's own arguments: OptimalScale/LMFlow src/lmflow/args.py (ModelArguments, DatasetArguments, FinetunerArguments). */
const LMFLOW_KEYS = new Set([
  'model_name_or_path', 'torch_dtype', 'use_lora', 'lora_r', 'lora_alpha', 'lora_dropout', 'lora_target_modules',
  'dataset_path', 'eval_dataset_path', 'block_size', 'validation_split_percentage', 'disable_group_texts', 'conversation_template',
  'use_lisa', 'lisa_activated_layers', 'lisa_interval_steps', 'lisa_layers_attribute',
  // FinetunerArguments extends transformers' TrainingArguments: huggingface/transformers src/transformers/training_args.py
  'output_dir', 'per_device_train_batch_size', 'num_train_epochs', 'max_steps', 'learning_rate', 'lr_scheduler_type',
  'lr_scheduler_kwargs', 'warmup_steps', 'optim', 'weight_decay', 'adam_beta1', 'adam_beta2', 'adam_epsilon',
  'gradient_accumulation_steps', 'max_grad_norm', 'bf16', 'gradient_checkpointing', 'logging_steps', 'eval_strategy',
  'eval_steps', 'save_steps', 'seed',
]);

/** A folder with the example's data file (a small Alpaca file) and an optional local model folder. */
function workspace(records = [{ instruction: 'Add 2 and 3.', input: '', output: '5' }, { instruction: 'Name a colour.', input: 'sky', output: 'blue' }]) {
  const dir = tmp();
  const data = join(dir, 'alpaca.json');
  writeFileSync(data, JSON.stringify(records));
  return { dir, data };
}

/** The --name value pairs of a command (comment lines skipped). */
const flags = (cmd: string) => [...cmd.split('\n').filter((l) => !l.startsWith('#')).join('\n').matchAll(/--(\w+) (\S+)/g)].map((m) => [m[1]!, m[2]!] as const);

describe('lisa recipe', () => {
  it('--to axolotl on examples/alpaca-lisa.yaml: LISA keys, schema keys only, the notes on stderr', async () => {
    const { dir, data } = workspace();
    const out = join(dir, 'axolotl.yaml');
    const r = await runCli(['recipe', '--to', 'axolotl', EXAMPLE, '--set', `data.path=${data}`, '--out', out]);
    expect(r.err).toContain('not carried over to axolotl');
    expect(r.code).toBe(0);
    const text = readFileSync(out, 'utf8');
    expect(text).toMatch(/^lisa_n_layers: 2$/m);
    expect(text).toMatch(/^lisa_step_interval: 20$/m);
    const y = parseYaml(text) as Record<string, unknown>;
    for (const k of Object.keys(y)) expect(AXOLOTL_KEYS, `axolotl key ${k}`).toContain(k);
    for (const k of Object.keys((y.datasets as object[])[0]!)) expect(AXOLOTL_DATASET_KEYS).toContain(k);
    expect(y).toMatchObject({
      lisa_layers_attribute: 'model.layers', micro_batch_size: 2, gradient_accumulation_steps: 8, learning_rate: 1e-5,
      lr_scheduler: 'cosine', warmup_steps: 10, num_epochs: 1, seed: 42, val_set_size: 0.05, sequence_len: 512,
      datasets: [{ path: data, ds_type: 'json', type: 'alpaca' }], train_on_inputs: false, bf16: false,
    });
    expect(r.err).toMatch(/keeps the AdamW state .* stateOnSwitch: reset frees it/);
    expect(r.err).toMatch(/layer attribute path differs per architecture/);
  });

  it('--to lmflow on examples/alpaca-lisa.yaml: LISA flags, known argument names, data as text2text', async () => {
    const { dir, data } = workspace();
    const r = await runCli(['recipe', '--to', 'lmflow', EXAMPLE, '--set', `data.path=${data}`, '--data-dir', join(dir, 'lm')]);
    expect(r.code).toBe(0);
    expect(r.out).toContain('--lisa_activated_layers 2');
    expect(r.out).toContain('--lisa_interval_steps 20');
    expect(r.out.replace(/ \\\n\s*/g, ' ')).toContain('--use_lisa 1 --lisa_activated_layers 2 --lisa_interval_steps 20');
    for (const [k] of flags(r.out)) expect(LMFLOW_KEYS, `LMFlow argument --${k}`).toContain(k);
    const converted = JSON.parse(readFileSync(join(dir, 'lm', 'train', 'train.json'), 'utf8')) as { type: string; instances: { input: string; output: string }[] };
    expect(converted.type).toBe('text2text');
    expect(converted.instances).toHaveLength(2);
    expect(converted.instances[1]!.input).toBe('Below is an instruction that describes a task, paired with an input that provides further context. ' +
      'Write a response that appropriately completes the request.\n\n### Instruction:\nName a colour.\n\n### Input:\nsky\n\n### Response:\n');
    expect(converted.instances[1]!.output).toBe('blue');
    expect(r.out).toContain(`--dataset_path ${join(dir, 'lm', 'train')}`);
  });

  it('LoRA: adapter: lora with lora_* keys (axolotl) and --use_lora with --lora_* (LMFlow)', async () => {
    const { dir, data } = workspace();
    const set = ['--set', `data.path=${data}`, 'method={kind: lora, rank: 16, alpha: 32, dropout: 0.05, targets: [q_proj, v_proj]}', 'train.steps=300'];
    const a = await runCli(['recipe', '--to', 'axolotl', EXAMPLE, ...set]);
    expect(a.code).toBe(0);
    const y = parseYaml(a.out) as Record<string, unknown>;
    expect(y).toMatchObject({ adapter: 'lora', lora_r: 16, lora_alpha: 32, lora_dropout: 0.05, lora_target_modules: ['q_proj', 'v_proj'], max_steps: 300 });
    expect(y).not.toHaveProperty('lisa_n_layers');
    for (const k of Object.keys(y)) expect(AXOLOTL_KEYS).toContain(k);
    const l = await runCli(['recipe', '--to', 'lmflow', EXAMPLE, ...set, '--data-dir', join(dir, 'lm')]);
    expect(l.code).toBe(0);
    const f = Object.fromEntries(flags(l.out));
    expect(f).toMatchObject({ use_lora: '1', lora_r: '16', lora_alpha: '32', lora_dropout: '0.05', lora_target_modules: 'q_proj,v_proj', max_steps: '300' });
    for (const k of Object.keys(f)) expect(LMFLOW_KEYS).toContain(k);
    const all = await runCli(['recipe', '--to', 'axolotl', EXAMPLE, '--set', `data.path=${data}`, 'method={kind: lora}']);
    expect(parseYaml(all.out)).toMatchObject({ adapter: 'lora', lora_r: 8, lora_alpha: 16, lora_target_linear: true });
  });

  it('chat and pre-tokenized data: chat_template for axolotl, conversation files for LMFlow, token rows converted', async () => {
    const dir = tmp();
    const chat = join(dir, 'chat.jsonl');
    writeFileSync(chat, `${JSON.stringify({ messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello' }] })}\n`);
    const a = await runCli(['recipe', '--to', 'axolotl', EXAMPLE, '--set', `data.path=${chat}`, 'data.format=chat']);
    expect(parseYaml(a.out)).toMatchObject({ datasets: [{ path: chat, type: 'chat_template', field_messages: 'messages', roles_to_train: ['assistant'] }] });
    const l = await runCli(['recipe', '--to', 'lmflow', EXAMPLE, '--set', `data.path=${chat}`, 'data.format=chat', '--data-dir', join(dir, 'lm')]);
    expect(l.code).toBe(0);
    expect(l.out).toContain('--conversation_template tokenizer');
    expect(JSON.parse(readFileSync(join(dir, 'lm', 'train', 'train.json'), 'utf8'))).toEqual({
      type: 'conversation', instances: [{ system: 'Be brief.', messages: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello' }] }],
    });
    const rows = join(dir, 'rows.jsonl');
    writeFileSync(rows, `${JSON.stringify({ input_ids: [1, 5, 6, 2], labels: [-100, -100, 6, 2] })}\n`);
    const t = await runCli(['recipe', '--to', 'axolotl', EXAMPLE, '--set', `data.path=${rows}`, 'data.format=pretokenized', '--out', join(dir, 'ax.yml')]);
    expect(t.code).toBe(0);
    const ds = (parseYaml(readFileSync(join(dir, 'ax.yml'), 'utf8')) as { datasets: { path: string; type: unknown }[] }).datasets[0]!;
    expect(ds.type).toBeNull();
    expect(ds.path).toBe(join(dir, 'ax-data', 'train.jsonl'));
    expect(JSON.parse(readFileSync(ds.path, 'utf8'))).toEqual({ input_ids: [1, 5, 6, 2], attention_mask: [1, 1, 1, 1], labels: [-100, -100, 6, 2] });
  });

  it('files the other tool would misread are converted: ShareGPT, Alpaca with history, renamed columns', async () => {
    const dir = tmp();
    const readRows = (path: string) => readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as unknown);
    const entry = async (data: string, name: string, ...set: string[]) => {
      const out = join(dir, `${name}.yml`);
      const r = await runCli(['recipe', '--to', 'axolotl', EXAMPLE, '--set', `data.path=${data}`, 'data.format=auto', ...set, '--out', out]);
      expect(r.code, r.err).toBe(0);
      return { ds: (parseYaml(readFileSync(out, 'utf8')) as { datasets: Record<string, unknown>[] }).datasets[0]!, err: r.err };
    };
    // ShareGPT: axolotl's chat_template reads `messages` of role/content, so the turns are written that way.
    const share = join(dir, 'share.jsonl');
    writeFileSync(share, `${JSON.stringify({ conversations: [{ from: 'human', value: 'Hi' }, { from: 'gpt', value: 'Hello' }] })}\n`);
    const s = await entry(share, 'share');
    expect(s.ds).toMatchObject({ path: join(dir, 'share-data', 'train.jsonl'), type: 'chat_template', field_messages: 'messages' });
    expect(readRows(s.ds['path'] as string)).toEqual([{ messages: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello' }] }]);
    // Alpaca with history trains as a conversation here; axolotl's alpaca type would drop the earlier turns.
    const hist = join(dir, 'hist.json');
    writeFileSync(hist, JSON.stringify([{ instruction: 'And 3 more?', input: '', output: '8', history: [['What is 2 + 3?', '5']] },
      { instruction: 'Name a colour.', input: 'sky', output: 'blue' }]));
    const h = await entry(hist, 'hist');
    expect(h.ds).toMatchObject({ type: 'chat_template' });
    expect(readRows(h.ds['path'] as string)).toEqual([
      { messages: [{ role: 'user', content: 'What is 2 + 3?' }, { role: 'assistant', content: '5' }, { role: 'user', content: 'And 3 more?' }, { role: 'assistant', content: '8' }] },
      { messages: [{ role: 'user', content: 'Name a colour.\nsky' }, { role: 'assistant', content: 'blue' }] },
    ]);
    expect(h.err).toContain("Alpaca records with 'history' were written as conversations");
    const lm = await runCli(['recipe', '--to', 'lmflow', EXAMPLE, '--set', `data.path=${hist}`, 'data.format=auto', '--data-dir', join(dir, 'lm')]);
    expect(lm.code, lm.err).toBe(0);
    expect((JSON.parse(readFileSync(join(dir, 'lm', 'train', 'train.json'), 'utf8')) as { type: string; instances: unknown[] }).instances[0])
      .toEqual({ messages: [{ role: 'user', content: 'What is 2 + 3?' }, { role: 'assistant', content: '5' }, { role: 'user', content: 'And 3 more?' }, { role: 'assistant', content: '8' }] });
    // data.columns renames: the other tool would look for our names, so the pairs are written as segments.
    const renamed = join(dir, 'renamed.json');
    writeFileSync(renamed, JSON.stringify([{ q: 'Add 2 and 3.', a: '5' }]));
    const c = await entry(renamed, 'renamed', 'data.format=alpaca', 'data.columns={instruction: q, output: a}');
    expect(c.ds).toMatchObject({ type: 'input_output' });
    expect(readRows(c.ds['path'] as string)).toEqual([{ segments: [{ label: false, text: expect.stringContaining('Add 2 and 3.') as string }, { label: true, text: '5' }] }]);
  });

  it('errors: an unknown tool, a model from init, a chat role LMFlow lacks', async () => {
    const { data, dir } = workspace();
    const bad = await runCli(['recipe', '--to', 'deepspeed', EXAMPLE]);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain("--to: unknown tool 'deepspeed'; expected one of axolotl, lmflow");
    const init = await runCli(['recipe', '--to', 'axolotl', EXAMPLE, '--set', `data.path=${data}`, 'model={init: {model_type: llama}}']);
    expect(init.code).toBe(1);
    expect(init.err).toMatch(/model\.init.*cannot load/);
    const chat = join(dir, 'tool.jsonl');
    writeFileSync(chat, `${JSON.stringify({ messages: [{ role: 'user', content: 'x' }, { role: 'tool', content: 'y' }] })}\n`);
    const role = await runCli(['recipe', '--to', 'lmflow', EXAMPLE, '--set', `data.path=${chat}`, 'data.format=chat', '--data-dir', join(dir, 'lm')]);
    expect(role.code).toBe(1);
    expect(role.err).toMatch(/tool\.jsonl:1: message 1 has role 'tool'/);
    expect(existsSync(join(dir, 'lm'))).toBe(false);
  });
});
