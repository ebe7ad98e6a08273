// One case of bench/memory-big.ts in its own process: builds the model from its config (weights created in
// their dtype, filled by tiling a block of random values: no file, no float32 copy of a bf16 model), runs the
// training steps with the engine's accounting, and prints peak RSS (VmHWM) and the Node baseline as JSON.
import { readFileSync } from 'node:fs';
import { parseConfig, type CausalLM } from '../src/models/index.js';
import { measureMemory, type MemoryMethod, type RunOptions } from '../src/finetune/memory-estimate.js';
import { f32ToBf16Bits } from '../src/util/bf16.js';
import { Rng } from '../src/util/rng.js';

const statusKb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync('/proc/self/status', 'utf8'))![1]) * 1024;

/** Random N(0, 0.02) weights by tiling one block of 2^20 values (bf16 or f32), norms 1, biases 0: the values
 *  do not matter for memory and speed, and drawing 7e9 normals in JS would take minutes. */
function tiledFill(model: CausalLM): void {
  const rng = new Rng(1);
  const block = Float32Array.from({ length: 1 << 20 }, () => 0.02 * rng.normal());
  const bits = Uint16Array.from(block, (x) => f32ToBf16Bits(x));
  for (const [name, p] of model.namedParameters()) {
    const one = /norm|ln_/.test(name) && name.endsWith('weight');
    const zero = name.endsWith('bias');
    const dst = p.dtype === 'bfloat16' ? p.bits : p.buf as Float32Array;
    const src = p.dtype === 'bfloat16' ? bits : block;
    if (one || zero) {
      dst.fill(p.dtype === 'bfloat16' ? (one ? 0x3f80 : 0) : one ? 1 : 0);
      continue;
    }
    let at = 0;
    let shift = rng.int(src.length); // each tensor starts at another place in the block
    while (at < dst.length) {
      const n = Math.min(src.length - shift, dst.length - at);
      (dst as Uint16Array).set((src as Uint16Array).subarray(shift, shift + n), at);
      at += n;
      shift = 0;
    }
  }
}

const c = JSON.parse(process.argv[2]) as { config: object; method: MemoryMethod; batch: number; seq: number; opts: RunOptions };
const baseline = statusKb('VmRSS');
const t0 = performance.now();
const run = measureMemory(parseConfig(c.config), c.method, { batch: c.batch, seq: c.seq }, { ...c.opts, fill: tiledFill });
const total = (performance.now() - t0) / 1000;
console.log(JSON.stringify({
  baseline, peakRss: statusKb('VmHWM'), peakTogether: run.peakTogether, bytes: run.bytes, losses: run.losses,
  secondsPerStep: run.seconds / (c.opts.steps ?? 2), buildSeconds: total - run.seconds,
}));
