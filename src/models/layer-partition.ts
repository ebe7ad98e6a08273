// The layers of the layerwise norms analysis: embed (token and position embeddings), block.0..block.{L-1},
// finalNorm and head, and which parameter belongs to which. A tied head is the embedding's matrix: it is counted
// once, under 'embed', and the partition says the head is tied. Used by train.normsEvery and `lisa norms`.
import type { CausalLM, NonBlockRole } from './causal-lm.js';
import type { ModelConfig } from './config.js';
import { createModel } from './index.js';
import { Linear } from '../nn/layers.js';
import { memoryReport, restorePeaks } from '../tensor/memory.js';
import { ArgumentError } from '../util/errors.js';

/** What a parameter contributes to its layer: its name, shape and, for a linear weight, the layout it is stored in. */
export interface LayerTensor {
  name: string;
  shape: readonly number[];
  /** 'out_in' (nn.Linear) or 'in_out' (GPT-2 Conv1D) for a linear layer's weight; null for other tensors. */
  layout: 'out_in' | 'in_out' | null;
}

export interface LayerPartition {
  /** Layer names in model order: embed, block.0, ..., finalNorm, head (no head when tied). */
  layers: string[];
  /** True when the head is the embedding matrix (then it has no layer of its own). */
  tiedHead: boolean;
  /** Layer name of each weight tensor (LoRA adapter tensors are not weights and are not listed). */
  layerOf: Map<string, string>;
  /** The weight tensors of each layer. */
  tensors: Map<string, LayerTensor[]>;
}

const ROLE_LAYER: Record<NonBlockRole, string> = { embed: 'embed', posEmbed: 'embed', finalNorm: 'finalNorm', head: 'head' };

/** LoRA's own tensors inside an adapted linear (`<module>.lora_A.weight`, `<module>.lora_B.weight`). */
const LORA_TENSOR = /\.lora_[AB]\.weight$/;

/** The layer partition of a model's parameters (live, or shape-only). */
export function partitionLayers(model: CausalLM): LayerPartition {
  const layerOfParam = new Map<object, string>();
  model.blocks.forEach((b, i) => b.parameters().forEach((p) => layerOfParam.set(p, `block.${i}`)));
  const nonBlock = model.nonBlockParameters();
  for (const { role, param } of nonBlock) layerOfParam.set(param, ROLE_LAYER[role]);
  const tiedHead = !nonBlock.some((e) => e.role === 'head');
  const layouts = new Map<string, 'out_in' | 'in_out'>();
  for (const [name, m] of model.namedModules()) if (m instanceof Linear) layouts.set(`${name}.weight`, m.layout);
  const layers = ['embed', ...model.blocks.map((_, i) => `block.${i}`), 'finalNorm', ...(tiedHead ? [] : ['head'])];
  const tensors = new Map<string, LayerTensor[]>(layers.map((l) => [l, []]));
  const layerOf = new Map<string, string>();
  for (const [name, p] of model.namedParameters()) {
    if (LORA_TENSOR.test(name)) continue;
    const layer = layerOfParam.get(p);
    if (layer === undefined) throw new ArgumentError(`norms: parameter '${name}' is in no layer (not in a block and not an embedding, norm or head)`);
    layerOf.set(name, layer);
    tensors.get(layer)!.push({ name, shape: [...p.shape], layout: layouts.get(name) ?? null });
  }
  return { layers, tiedHead, layerOf, tensors };
}

/** The layer partition of the model a config describes, from a shape-only model (no weight memory). */
export function partitionConfig(config: ModelConfig): LayerPartition {
  const peaks = memoryReport(); // the shape-only model's logical bytes are never held
  const meta = createModel(config, { shapeOnly: true });
  try {
    return partitionLayers(meta);
  } finally {
    meta.dispose();
    restorePeaks(peaks);
  }
}
