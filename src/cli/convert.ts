// `lisa convert llama2c --checkpoint F --tokenizer T --out DIR`: a llama2.c legacy checkpoint and its tokenizer
// to an HF Llama folder (config.json, generation_config.json, model.safetensors, tokenizer.json, tokenizer_config.json).
import type { Command } from 'commander';
import { convertLlama2cCheckpoint } from '../io/llama2c.js';
import { convertLlama2cTokenizer, writeTokenizerFiles } from '../data/tokenizer.js';

export function registerConvert(program: Command): void {
  const convert = program.command('convert').description('convert a checkpoint from another format to an HF model folder');
  convert.command('llama2c')
    .description('llama2.c legacy .bin checkpoint (export version 0) + tokenizer .bin -> HF Llama folder')
    .requiredOption('--checkpoint <file>', 'llama2.c model .bin (e.g. stories260K.bin)')
    .requiredOption('--tokenizer <file>', 'llama2.c tokenizer .bin (e.g. tok512.bin)')
    .requiredOption('--out <dir>', 'output folder (created; existing weight files are replaced)')
    .action((o: { checkpoint: string; tokenizer: string; out: string }) => {
      // Read the tokenizer first: a bad tokenizer then leaves no half-written folder behind.
      const tok = convertLlama2cTokenizer(o.tokenizer);
      const { header: h, files } = convertLlama2cCheckpoint(o.checkpoint, o.out);
      writeTokenizerFiles(o.out, tok);
      const shape = `${h.nLayers} layers, dim ${h.dim}, ${h.nHeads}/${h.nKvHeads} heads, vocab ${h.vocabSize}, context ${h.seqLen}`;
      process.stdout.write(`converted ${o.checkpoint} (${shape}) to ${o.out}: config.json, generation_config.json, ${files.join(', ')}, tokenizer.json, tokenizer_config.json\n`);
    });
}
