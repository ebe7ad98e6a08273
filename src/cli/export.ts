// `lisa export --model BASE --adapter DIR --merge --out DIR`: writes the base with a LoRA adapter merged in,
// as an HF folder (with the base's tokenizer files, converted to tokenizer.json when the base has only slow ones).
import type { Command } from 'commander';
import { loadModel, saveModel } from '../models/index.js';
import { loadLoraAdapter } from '../finetune/lora-io.js';
import { exportTokenizer } from '../data/tokenizer-export.js';
import { resolveModel } from '../io/hub.js';
import { ArgumentError } from '../util/errors.js';

export function registerExport(program: Command): void {
  program.command('export')
    .description('merge a LoRA adapter into its base model and write an HF folder')
    .requiredOption('--model <dir>', 'the base model the adapter was trained on: a folder or a hub id (org/name)')
    .requiredOption('--adapter <dir>', 'a PEFT adapter folder (adapter_config.json, adapter_model.safetensors)')
    .requiredOption('--out <dir>', 'output folder')
    .option('--merge', 'merge the adapter into the base weights (required: adapters are exported by lisa train already)', false)
    .option('--dtype <dtype>', 'F32 or BF16', 'F32')
    .action(async (o: { model: string; adapter: string; out: string; merge: boolean; dtype: string }) => {
      if (!o.merge) throw new ArgumentError('lisa export: pass --merge to write the merged model');
      const dtype = o.dtype.toUpperCase();
      if (dtype !== 'F32' && dtype !== 'BF16') throw new ArgumentError(`lisa export: --dtype must be F32 or BF16, got '${o.dtype}'`);
      const base = await resolveModel(o.model);
      const { model, generationConfig } = loadModel(base);
      const lora = loadLoraAdapter(o.adapter, model);
      lora.mergeAndUnload();
      saveModel(o.out, model, { dtype, generationConfig });
      exportTokenizer(o.out, base);
      process.stdout.write(`merged ${lora.adapters.length} adapted layers into ${o.out}\n`);
    });
}
