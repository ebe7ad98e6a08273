// Weight memory of weightDtype float32 vs bfloat16: a random Llama (C=512, 8 blocks, vocab 8000) trained two
// LISA steps (gamma 2), two LoRA steps and two full fine-tuning steps; prints live 'weights' bytes after the steps
// (bf16 weights + fp32 masters), optimizer bytes, the steps' peak total (the engine's own accounting) and the
// time of the second step.
// Run: node --import tsx bench/bf16-memory.ts
import { createModel, initWeights, parseConfig } from '../src/models/index.js';
import { castToBf16, masterBytes } from '../src/tensor/precision.js';
import { memoryReport, resetPeaks } from '../src/tensor/memory.js';
import { scope } from '../src/tensor/scope.js';
import { backward } from '../src/autograd/backward.js';
import { crossEntropy } from '../src/ops/index.js';
import { AdamW } from '../src/optim/adamw.js';
import { Lisa } from '../src/finetune/lisa.js';
import { LoraFineTune } from '../src/finetune/lora.js';
import { FullFineTune } from '../src/finetune/full.js';
import { Rng } from '../src/util/rng.js';

const cfg = parseConfig({ model_type: 'llama', vocab_size: 8000, hidden_size: 512, intermediate_size: 1376, num_hidden_layers: 8,
  num_attention_heads: 8, num_key_value_heads: 8, max_position_embeddings: 256, tie_word_embeddings: false });
const MiB = (b: number) => (b / 2 ** 20).toFixed(1).padStart(8);
console.log(`${'method'.padEnd(8)}${'dtype'.padEnd(10)}${'weights MiB'.padStart(12)}${'masters'.padStart(9)}${'optim'.padStart(9)}${'peak'.padStart(9)}${'loss'.padStart(9)}${'step s'.padStart(8)}`);
for (const kind of ['lisa', 'lora', 'full'] as const) {
  for (const dtype of ['float32', 'bfloat16'] as const) {
    const before = memoryReport().live.weights;
    const model = createModel(cfg);
    initWeights(model, new Rng(1));
    if (dtype === 'bfloat16') castToBf16(model.parameters());
    const opt = new AdamW({ lr: 1e-3 });
    const method = kind === 'lisa' ? new Lisa(model, opt, { gamma: 2, period: 1, seed: 3 })
      : kind === 'lora' ? new LoraFineTune(model, { rank: 8, alpha: 16, targets: 'all-linear' }) : new FullFineTune(model);
    const rng = new Rng(2);
    let loss = 0;
    let secs = 0;
    resetPeaks();
    for (let s = 0; s < 2; s++) {
      const t0 = performance.now();
      method.beginStep(s);
      const ids = Int32Array.from({ length: 2 * 64 }, () => rng.int(8000));
      loss = scope(() => {
        const l = crossEntropy(model.forward(ids, 2, 64), ids);
        backward(l);
        return l.item();
      });
      opt.step(method.trainableParameters());
      for (const p of model.parameters()) p.zeroGrad();
      secs = (performance.now() - t0) / 1000;
    }
    const r = memoryReport();
    console.log(`${kind.padEnd(8)}${dtype.padEnd(10)}${MiB(r.live.weights - before).padStart(12)}${MiB(masterBytes(model.parameters())).padStart(9)}${MiB(r.live.optimizer)}${MiB(r.peakTotal)}${loss.toFixed(4).padStart(9)}${secs.toFixed(2).padStart(8)}`);
    opt.dispose();
    model.dispose();
  }
}
