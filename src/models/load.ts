// HF model folders in and out: config.json + safetensors (single or sharded) <-> a CausalLM. Every parameter
// is read straight into its buffer, tensor by tensor; shapes are checked against config.json.
import { join } from 'node:path';
import type { Backend, DType } from '../backends/backend.js';
import { readConfig, readGenerationConfig, openModelWeights, writeHfFolder, CONFIG_FILE, type ModelWeights } from '../io/hf-folder.js';
import { FormatError } from '../io/errors.js';
import type { WriteDtype } from '../io/safetensors.js';
import { fmtShape, shapesEqual } from '../util/shape.js';
import { parseConfig, toHfConfig, type ModelConfig } from './config.js';
import type { CausalLM } from './causal-lm.js';
import { createModel } from './create.js';
import { memoryReport, restorePeaks } from '../tensor/memory.js';

/** Buffers that HF checkpoints may carry and that are not parameters. */
const IGNORED = /(\.attn\.(masked_)?bias|rotary_emb\.inv_freq)$/;

/** Checkpoint names to try for a parameter (GPT-2 hub checkpoints omit the 'transformer.' prefix). */
function candidates(name: string): string[] {
  return name.startsWith('transformer.') ? [name, name.slice('transformer.'.length)] : [name];
}

export interface LoadedModel {
  model: CausalLM;
  generationConfig?: Record<string, unknown>;
}

/** dtype float64 (cpu-js only) is for reference checks; checkpoints are read as float32 and widened. dtype
 *  bfloat16 stores every weight in bf16: BF16 checkpoints load as stored (never a float32 copy of the model),
 *  F32 is rounded (RNE) tensor by tensor, F16 is converted (onNotice says so once). */
export function loadModel(dir: string, opts: { backend?: Backend; dtype?: DType; onNotice?: (msg: string) => void } = {}): LoadedModel {
  const configFile = join(dir, CONFIG_FILE);
  const config = parseConfig(readConfig(dir), configFile);
  const weights = openModelWeights(dir);
  let model: CausalLM;
  try {
    checkConfigAgainstWeights(configFile, config, weights);
    model = createModel(config, { backend: opts.backend, dtype: opts.dtype });
  } catch (e) {
    weights.close();
    throw e;
  }
  let f16Noticed = false;
  try {
    const used = new Set<string>();
    for (const [name, p] of model.namedParameters()) {
      const key = candidates(name).find((k) => weights.has(k));
      if (!key) throw new FormatError(dir, `is missing from the checkpoint (the ${config.family} config needs it, shape ${fmtShape(p.shape)})`, name);
      const info = weights.info(key);
      if (!shapesEqual(info.shape, p.shape)) {
        throw new FormatError(info.file, `has shape ${fmtShape(info.shape)} but config.json implies ${fmtShape(p.shape)}`, key);
      }
      if (p.dtype === 'bfloat16') {
        const stored = weights.readIntoBf16(key, p.bits);
        if (stored === 'F16' && !f16Noticed) {
          f16Noticed = true;
          (opts.onNotice ?? ((m: string) => console.warn(m)))(`${dir}: F16 weights converted to bfloat16 (weightDtype: bfloat16); values below bf16 precision are rounded`);
        }
      } else if (p.buf instanceof Float32Array) weights.readInto(key, p.buf);
      else p.buf.set(weights.read(key));
      used.add(key);
    }
    const tiedHead = (n: string) => n === 'lm_head.weight' && !model.namedParameters().some(([m]) => m === 'lm_head.weight');
    for (const n of weights.names()) {
      if (used.has(n) || IGNORED.test(n) || tiedHead(n)) continue;
      throw new FormatError(weights.info(n).file, `is not a parameter of a ${config.family} model with this config.json`, n);
    }
  } catch (e) {
    model.dispose();
    throw e;
  } finally {
    weights.close();
  }
  return { model, generationConfig: readGenerationConfig(dir) };
}

/**
 * Refuses a config.json that the weights do not back, before any parameter memory is allocated: every size it
 * declares must fit in the checkpoint's elements, and the shape-only model it describes must find each of its
 * parameters, with the same shape, in the weights. So a config declaring a huge vocabulary or 10^9 layers
 * beside small weights is an error naming config.json, not an allocation.
 */
function checkConfigAgainstWeights(configFile: string, config: ModelConfig, weights: ModelWeights): void {
  const names = weights.names();
  let elements = 0;
  for (const n of names) elements += weights.info(n).numel;
  const sizes: [string, number][] = config.family === 'gpt2'
    ? [['vocab_size', config.vocabSize], ['n_positions', config.nPositions], ['n_embd', config.nEmbd], ['n_inner', config.nInner], ['n_head', config.nHead]]
    : [['vocab_size', config.vocabSize], ['hidden_size', config.hiddenSize], ['intermediate_size', config.intermediateSize],
      ['num_attention_heads', config.numHeads], ['num_key_value_heads', config.numKvHeads], ['head_dim', config.headDim]];
  for (const [key, v] of sizes) {
    if (v > elements) throw new FormatError(configFile, `${key} = ${v} is larger than all ${elements} elements of the checkpoint's weights; config.json does not match them`, key, 'key');
  }
  const layers = config.family === 'gpt2' ? config.nLayer : config.numLayers;
  if (layers > names.length) {
    throw new FormatError(configFile, `declares ${layers} layers but the checkpoint holds only ${names.length} tensors`, config.family === 'gpt2' ? 'n_layer' : 'num_hidden_layers', 'key');
  }
  const peaks = memoryReport(); // the shape-only model's logical bytes are counted but never held
  const meta = createModel(config, { shapeOnly: true });
  try {
    const used = new Set<string>();
    for (const [name, p] of meta.namedParameters()) {
      const key = candidates(name).find((k) => weights.has(k));
      if (!key) throw new FormatError(weights.dir, `is missing from the checkpoint (the ${config.family} config ${configFile} needs it, shape ${fmtShape(p.shape)})`, name);
      const info = weights.info(key);
      if (!shapesEqual(info.shape, p.shape)) {
        throw new FormatError(info.file, `has shape ${fmtShape(info.shape)} but config.json implies ${fmtShape(p.shape)} (${configFile})`, key);
      }
      used.add(key);
    }
    const tied = !meta.namedParameters().some(([m]) => m === 'lm_head.weight');
    for (const n of names) {
      if (used.has(n) || IGNORED.test(n) || (tied && n === 'lm_head.weight')) continue;
      throw new FormatError(weights.info(n).file, `is not a parameter of a ${config.family} model with this config.json (${configFile})`, n);
    }
  } finally {
    meta.dispose();
    restorePeaks(peaks);
  }
}

/** Writes model as an HF folder that transformers loads unchanged (config.json, model.safetensors). A model
 *  stored in bf16 (weightDtype: bfloat16) is written as BF16 with torch_dtype bfloat16 unless dtype says
 *  otherwise; its masters are rounded (RNE) as they are written. */
export function saveModel(dir: string, model: CausalLM, opts: { dtype?: WriteDtype; maxShardSize?: number | string;
  generationConfig?: Record<string, unknown> } = {}): string[] {
  const params = model.namedParameters();
  const bf16 = params.some(([, p]) => p.bf16Rest);
  const dtype = opts.dtype ?? (bf16 ? 'BF16' : undefined);
  const tensors = params.map(([name, p]) => ({ name, shape: p.shape, data: p.dtype === 'bfloat16' ? p.bits : p.buf as Float32Array }));
  const torchDtype = { F32: 'float32', BF16: 'bfloat16', F16: 'float16' }[dtype ?? 'F32'];
  return writeHfFolder(dir, {
    config: { ...toHfConfig(model.config), torch_dtype: torchDtype }, tensors, dtype, maxShardSize: opts.maxShardSize,
    generationConfig: opts.generationConfig,
  });
}
