// Peak activation bytes and step time of one training step (full fine-tuning): unfused logits + cross-entropy vs
// the fused chunked head (lmLoss), each with and without gradient checkpointing. Prints a table.
// Run: node --import tsx bench/memory-ckpt.ts [V] [layers] [B] [T]
import { createModel, initWeights, lmLoss, parseConfig } from '../src/models/index.js';
import { crossEntropy } from '../src/ops/index.js';
import { backward } from '../src/autograd/backward.js';
import { scope } from '../src/tensor/scope.js';
import { memoryReport, resetPeaks } from '../src/tensor/memory.js';
import { Rng } from '../src/util/rng.js';

const [V, L, B, T] = process.argv.slice(2).map(Number);
const vocab = V || 32000;
const model = createModel(parseConfig({
  model_type: 'llama', vocab_size: vocab, hidden_size: 64, intermediate_size: 176, num_hidden_layers: L || 4,
  num_attention_heads: 4, num_key_value_heads: 4, max_position_embeddings: 1024,
}));
initWeights(model, new Rng(0));
const rng = new Rng(1);
const [b, t] = [B || 4, T || 512];
const ids = Int32Array.from({ length: b * t }, () => rng.int(vocab));
const targets = Int32Array.from({ length: b * t }, () => rng.int(vocab));
const MiB = (n: number) => (n / 2 ** 20).toFixed(1);
console.log(`llama C=64 layers=${L || 4} V=${vocab} B=${b} T=${t}: full logits ${MiB(b * t * vocab * 4)} MiB`);
// A warm-up step: the buffer pool and the GEMM threads start warm for every configuration.
scope(() => backward(lmLoss(model, ids, targets, b, t)));
for (const p of model.parameters()) p.zeroGrad();
console.log('loss path          checkpointing  peak activations (MiB)  best step (s)  loss');
for (const fused of [false, true]) {
  for (const ck of [false, true]) {
    model.gradientCheckpointing = ck;
    // The fastest of 3 steps (the machine is shared); the activation peak is the same every step.
    let s = Infinity;
    let peak = 0;
    let loss = NaN;
    for (let rep = 0; rep < 3; rep++) {
      const before = memoryReport().live.activations;
      resetPeaks();
      const t0 = performance.now();
      loss = scope(() => {
        const l = fused ? lmLoss(model, ids, targets, b, t) : crossEntropy(model.forward(ids, b, t), targets);
        backward(l);
        return l.item();
      });
      s = Math.min(s, (performance.now() - t0) / 1000);
      peak = memoryReport().peak.activations - before;
      for (const p of model.parameters()) p.zeroGrad();
    }
    console.log(`${(fused ? 'fused chunked' : 'logits + CE').padEnd(19)}${String(ck).padEnd(15)}${MiB(peak).padStart(22)}  ${s.toFixed(2).padStart(13)}  ${loss.toFixed(6)}`);
  }
}
