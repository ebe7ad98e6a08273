// Claim (c) of the LISA paper as a command: peak training memory of LISA (gamma 2) against LoRA (r=128, all linear
// layers) and full fine-tuning at five real model shapes, fp32 and bf16 weights, from `lisa memory` (the engine's
// own accounting on the shape-only backend). Prints a markdown table.
// Run: node --import tsx experiments/memory-claim.ts [--seq 512] [--batch 1]
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { seq: { type: 'string', default: '512' }, batch: { type: 'string', default: '1' } } });
const shapes = ['gpt2-small', 'tinyllama-1.1b', 'llama-2-7b', 'llama-3.1-8b', 'llama-2-70b'];
const dtypes = ['float32', 'bfloat16'] as const;

interface MethodResult {
  label: string;
  method: { kind: string };
  params: { base: number; trainable: number; adapters: number };
  estimate: { peakTogether: number };
}

function estimate(shape: string, dtype: string): MethodResult[] {
  const args = ['bin/lisa.js', 'memory', '--config', join('experiments/shapes', `${shape}.json`), '--method', 'full,lora,lisa',
    '--rank', '128', '--gamma', '2', '--seq', values.seq!, '--batch', values.batch!, '--weight-dtype', dtype, '--json'];
  const run = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (run.status !== 0) throw new Error(`lisa memory failed for ${shape} ${dtype}:\n${run.stderr}`);
  return (JSON.parse(run.stdout) as { methods: MethodResult[] }).methods;
}

const gib = (bytes: number): string => (bytes / 2 ** 30).toFixed(2);
console.log(`peak training memory (GiB, the most bytes in use at once), seq ${values.seq}, batch ${values.batch}, AdamW, no checkpointing\n`);
console.log('| shape | weights | full | LoRA r=128 | LISA γ=2 | LISA / LoRA | LISA trainable: embed+head share |');
console.log('|---|---|---|---|---|---|---|');
for (const shape of shapes) {
  for (const dtype of dtypes) {
    const results = estimate(shape, dtype);
    const by = (kind: string): MethodResult => results.find((r) => r.method.kind === kind)!;
    const [full, lora, lisa] = [by('full'), by('lora'), by('lisa')];
    // LISA's trainable set is the embedding, final norm, head and gamma blocks; the blocks' share follows from the
    // full model: all blocks = base parameters - non-block parameters.
    const blockParams = (full.params.trainable - nonBlock(shape)) / layers(shape);
    const nonBlockShare = (lisa.params.trainable - 2 * blockParams) / lisa.params.trainable;
    console.log(`| ${shape} | ${dtype} | ${gib(full.estimate.peakTogether)} | ${gib(lora.estimate.peakTogether)} | ` +
      `${gib(lisa.estimate.peakTogether)} | ${(lisa.estimate.peakTogether / lora.estimate.peakTogether).toFixed(2)}x | ` +
      `${(100 * nonBlockShare).toFixed(1)}% |`);
  }
}

function config(shape: string): Record<string, number> {
  return JSON.parse(readFileSync(join(root, 'experiments/shapes', `${shape}.json`), 'utf8')) as Record<string, number>;
}
function layers(shape: string): number {
  const c = config(shape);
  return c.num_hidden_layers ?? c.n_layer;
}
function nonBlock(shape: string): number {
  const c = config(shape);
  if (c.n_embd) return c.vocab_size * c.n_embd + c.n_positions * c.n_embd + 2 * c.n_embd; // wte (tied head), wpe, ln_f
  return 2 * c.vocab_size * c.hidden_size + c.hidden_size; // embed_tokens, lm_head, final norm
}
