// Memory by category of full / LoRA (r=128, all linear) / LISA (gamma 2) on a GPT-2-small-shaped model with random
// weights: the estimate (training steps on the meta backend) beside the same steps measured on the real backend
// (`lisa memory --measure`); every ratio is 1.000.
// Run: node --import tsx bench/memory.ts [more `lisa memory` options, e.g. --seq 256 --batch 2 --json]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../src/cli/main.js';

const GPT2_SMALL = { model_type: 'gpt2', vocab_size: 50257, n_positions: 1024, n_embd: 768, n_layer: 12, n_head: 12 };

const dir = mkdtempSync(join(tmpdir(), 'lisa-bench-memory-'));
try {
  writeFileSync(join(dir, 'config.json'), JSON.stringify(GPT2_SMALL));
  process.exitCode = await main([
    'memory', '--model', dir, '--method', 'full,lora,lisa', '--rank', '128', '--targets', 'all-linear', '--gamma', '2',
    '--batch', '1', '--seq', '128', '--measure', '--steps', '2', ...process.argv.slice(2),
  ]);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
