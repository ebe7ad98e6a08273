// lisa-tune from TypeScript: build a tiny Llama in code, estimate its training memory, train it with LISA for
// 3 steps with step and eval callbacks, stop a second run with an AbortSignal, and generate from the result.
// Run (after `npm run build`): node --import tsx examples/api.ts [OUT_DIR]
// Prints one JSON object with what happened.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createModel, estimateMemory, generate, train, ConfigError,
  type EvalResult, type Example, type StepMetrics,
} from 'lisa-tune';

const out = process.argv[2] ?? mkdtempSync(join(tmpdir(), 'lisa-api-'));

// An HF config.json object (a parsed ModelConfig works too); weights are drawn from the seed.
const model = createModel({
  model_type: 'llama', vocab_size: 64, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 4,
  num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 64, tie_word_embeddings: false,
}, { seed: 1 });

// A counting task: each example is 16 consecutive token ids (mod 64); labels[t] is the token at position t.
const examples: Example[] = Array.from({ length: 40 }, (_, k) => {
  const ids = Array.from({ length: 16 }, (_, t) => (3 * k + t) % 64);
  return { ids, labels: ids };
});

// Memory of a LISA step with 1 active block at batch 4 x 16 tokens, from the engine's shape-only run.
const mem = estimateMemory(model, { kind: 'lisa', gamma: 1 }, { batch: 4, seq: 16 });

// 3 LISA steps: 1 of the 4 blocks trains, resampled every 2 steps; callbacks see every step and eval.
const steps: StepMetrics[] = [];
const evals: { step: number; result: EvalResult }[] = [];
const run = await train({
  method: { kind: 'lisa', gamma: 1, period: 2, seed: 7 },
  optim: { lr: 3e-3 },
  train: { steps: 3, batchSize: 4 },
  data: { evalSplit: 0.1, path: '(in memory)' },
  out: join(out, 'lisa'),
}, {
  model,
  examples: { train: examples },
  onStep: (m) => steps.push(m),
  onEval: (step, result) => evals.push({ step, result }),
});
const metricsFile = readFileSync(join(out, 'lisa', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as StepMetrics);

// A second run, stopped from outside after its first step: it saves a checkpoint and reports 'interrupted'.
const controller = new AbortController();
const stopped = await train({
  method: { kind: 'lisa', gamma: 1, period: 2 }, train: { steps: 50, batchSize: 4 }, out: join(out, 'stopped'),
}, { model, examples: { train: examples }, signal: controller.signal, onStep: () => controller.abort() });

// Bad input is a typed error naming the key.
let configError = '';
try {
  await train({ method: { kind: 'lisa', gamma: -1, period: 2 }, out: join(out, 'bad') }, { model, examples: { train: examples } });
} catch (e) {
  if (e instanceof ConfigError) configError = e.message;
  else throw e;
}

const continuation = generate(model, [5, 6, 7, 8], { maxNewTokens: 4, temperature: 0 });

console.log(JSON.stringify({
  memoryPeakBytes: mem.peakTogether,
  steps: steps.map((m) => ({ step: m.step, loss: m.loss, lr: m.lr, activeLayers: m.activeLayers })),
  metricsFile: metricsFile.map((m) => ({ step: m.step, loss: m.loss, activeLayers: m.activeLayers })),
  evals: evals.map((e) => ({ step: e.step, loss: e.result.loss })),
  result: run,
  stopped: { steps: stopped.steps, stopped: stopped.stopped },
  configError,
  generated: continuation.tokens,
}, null, 2));
