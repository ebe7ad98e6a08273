// Load throughput of a TinyLlama-shaped random checkpoint (1.1B parameters, F32 and BF16) written by this
// bench, loaded in a fresh child process so its peak RSS is the load's alone. Prints a table.
//   node --import tsx bench/load.ts [--dir /tmp/lisa-bench-load]
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createModel, parseConfig, toHfConfig } from '../src/models/index.js';
import { writeSafetensors } from '../src/io/safetensors.js';
import { Rng } from '../src/util/rng.js';

const TINYLLAMA = {
  model_type: 'llama', vocab_size: 32000, hidden_size: 2048, intermediate_size: 5632, num_hidden_layers: 22,
  num_attention_heads: 32, num_key_value_heads: 4, rms_norm_eps: 1e-5, max_position_embeddings: 2048, tie_word_embeddings: false,
};
const root = process.argv.includes('--dir') ? process.argv[process.argv.indexOf('--dir') + 1] : '/tmp/lisa-bench-load';
const gib = (b: number) => (b / 2 ** 30).toFixed(2);

function writeCheckpoint(dir: string, dtype: 'F32' | 'BF16'): void {
  mkdirSync(dir, { recursive: true });
  const config = parseConfig(TINYLLAMA);
  const shapeModel = createModel(config, { shapeOnly: true }); // on the meta backend: no memory
  const shapes = shapeModel.namedParameters().map(([name, p]) => ({ name, shape: [...p.shape], n: p.size }));
  shapeModel.dispose();
  // One random pool, viewed per tensor: the values are random and the writer never holds a model copy.
  const pool = new Float32Array(Math.max(...shapes.map((s) => s.n)));
  const rng = new Rng(1);
  for (let i = 0; i < pool.length; i++) pool[i] = 0.02 * rng.normal();
  writeFileSync(join(dir, 'config.json'), JSON.stringify(toHfConfig(config)));
  writeSafetensors(join(dir, 'model.safetensors'), shapes.map((s) => ({ name: s.name, shape: s.shape, data: pool.subarray(0, s.n) })), { dtype });
}

function dropCaches(): boolean {
  try {
    execFileSync('sh', ['-c', 'sync && echo 3 > /proc/sys/vm/drop_caches'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const rows: string[][] = [];
for (const dtype of ['F32', 'BF16'] as const) {
  const dir = join(root, dtype);
  writeCheckpoint(dir, dtype);
  for (const cache of ['cold', 'warm'] as const) {
    if (cache === 'cold' && !dropCaches()) continue;
    const out = execFileSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'load-child.ts'), dir], { encoding: 'utf8' });
    const r = JSON.parse(out);
    rows.push([dtype, cache, gib(r.fileBytes), gib(r.weightBytes), r.seconds.toFixed(2), (r.fileBytes / r.seconds / 1e9).toFixed(2),
      (r.weightBytes / r.seconds / 1e9).toFixed(2), gib(r.maxRss), (r.maxRss / r.weightBytes).toFixed(2)]);
  }
  rmSync(dir, { recursive: true, force: true });
}
const head = ['file', 'cache', 'file GiB', 'weights GiB', 'seconds', 'file GB/s', 'weights GB/s', 'peak RSS GiB', 'RSS/weights'];
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i])).join('  ');
console.log('TinyLlama-1.1B-shaped random checkpoint, loaded into float32 parameters');
console.log(line(head));
for (const r of rows) console.log(line(r));
