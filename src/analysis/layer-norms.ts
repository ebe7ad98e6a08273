// `lisa norms`' statistics, per layer, for runs trained from one base: meanWeightNorm (the paper's
// w(l) = (1/T) sum_t ||theta_t(l)||, from the run's trajectory, else the final norm), updateNorm
// (||W_T(l) - W_0(l)||; W_0 is the base rounded to bf16 for a run exported in BF16) and adapterNorm (LoRA only). Every norm of a layer is the Frobenius norm of all its tensors
// concatenated, i.e. the square root of the sum of their squared Frobenius norms. Weights stream tensor by tensor.
// (src/analysis sits above train and report in the layer order; the trajectory it reads is train's, norms-trajectory.ts.)
import { join } from 'node:path';
import { openModelWeights, readConfig, CONFIG_FILE, type ModelWeights } from '../io/hf-folder.js';
import { parseConfig } from '../models/config.js';
import { fmtShape, shapesEqual } from '../util/shape.js';
import { bf16BitsArrayToF32, f32ArrayToBf16Bits } from '../util/bf16.js';
import { partitionConfig, type LayerPartition, type LayerTensor } from '../models/layer-partition.js';
import { loraDeltaFromValues, mergedSquares, sumSquares } from '../finetune/lora-delta.js';
import { meanTrajectoryNorms, readTrajectory } from '../train/norms-trajectory.js';
import { openRuns, type RunFolder, type RunMethod } from './run.js';
import { readAdapter, type Adapter } from './adapter.js';
import { NormsError } from './errors.js';

export interface LayerNorms { layer: string; meanWeightNorm: number; updateNorm: number; adapterNorm: number | null }
export interface RunNorms { run: string; method: RunMethod; layers: LayerNorms[] }
export interface NormsReport { runs: RunNorms[] }

/** The checkpoint key of a parameter (GPT-2 hub checkpoints omit 'transformer.'). */
function keyIn(w: ModelWeights, name: string): string {
  for (const k of name.startsWith('transformer.') ? [name, name.slice('transformer.'.length)] : [name]) if (w.has(k)) return k;
  throw new NormsError(`${w.dir}: tensor '${name}' is missing (the base model has it)`);
}

interface Sums { weight: number; update: number; adapter: number; adapted: boolean }

/** Adds one base tensor's contribution for a LoRA run: merged weight and update when the module is adapted. */
function loraTensor(t: LayerTensor, base: Float32Array, adapter: Adapter, s: Sums): void {
  const m = adapter.modules.get(t.name.slice(0, -'.weight'.length));
  if (!m) {
    s.weight += sumSquares(base);
    return;
  }
  const [outF, inF] = t.layout === 'in_out' ? [t.shape[1], t.shape[0]] : [t.shape[0], t.shape[1]];
  if (m.a.length !== m.r * inF || m.b.length !== outF * m.r) {
    throw new NormsError(`${adapter.file}: the adapter of '${t.name}' has A of ${m.a.length} and B of ${m.b.length} values; ` +
      `the base weight ${fmtShape(t.shape)} needs A (${m.r}, ${inF}) and B (${outF}, ${m.r})`);
  }
  const delta = loraDeltaFromValues(m.a, m.b, m.r, inF, outF, adapter.scale);
  const sq = mergedSquares(base, delta, outF, inF, t.layout ?? 'out_in');
  s.weight += sq.merged;
  s.update += sq.update;
  s.adapter += sumSquares(m.a) + sumSquares(m.b);
  s.adapted = true;
}

/** Per-layer norms of each run against the base model folder it was trained from. */
export function computeLayerNorms(baseDir: string, runDirs: readonly string[]): NormsReport {
  const config = parseConfig(readConfig(baseDir), join(baseDir, CONFIG_FILE));
  const parts: LayerPartition = partitionConfig(config);
  const runs: RunFolder[] = openRuns(runDirs);
  const sums = runs.map(() => new Map(parts.layers.map((l) => [l, { weight: 0, update: 0, adapter: 0, adapted: false } as Sums])));
  const adapters = runs.map((r) => (r.method === 'lora' ? readAdapter(r.resultDir, parts) : null));
  const base = openModelWeights(baseDir);
  const finals: (ModelWeights | null)[] = [];
  try {
    for (const r of runs) finals.push(r.method === 'lora' ? null : openModelWeights(r.resultDir));
    for (const layer of parts.layers) {
      for (const t of parts.tensors.get(layer)!) {
        const bk = keyIn(base, t.name);
        if (!shapesEqual(base.info(bk).shape, t.shape)) {
          throw new NormsError(`${base.info(bk).file}: tensor '${bk}' has shape ${fmtShape(base.info(bk).shape)}, but ${join(baseDir, CONFIG_FILE)} implies ${fmtShape(t.shape)}`);
        }
        const b = base.read(bk);
        runs.forEach((_, i) => {
          const s = sums[i].get(layer)!;
          const fin = finals[i];
          if (!fin) return loraTensor(t, b, adapters[i]!, s);
          const fk = keyIn(fin, t.name);
          if (!shapesEqual(fin.info(fk).shape, t.shape)) {
            throw new NormsError(`${fin.info(fk).file}: tensor '${fk}' has shape ${fmtShape(fin.info(fk).shape)}, but the base ${baseDir} has ${fmtShape(t.shape)}; was this run trained from another base?`);
          }
          const w = fin.read(fk);
          // A bf16 run (train.weightDtype: bfloat16) started from the base rounded to bf16: that is its W_0.
          const b0 = fin.info(fk).dtype === 'BF16' && base.info(bk).dtype !== 'BF16' ? bf16BitsArrayToF32(f32ArrayToBf16Bits(b)) : b;
          for (let j = 0; j < w.length; j++) {
            s.weight += w[j] * w[j];
            s.update += (w[j] - b0[j]) * (w[j] - b0[j]);
          }
        });
      }
    }
  } finally {
    base.close();
    for (const f of finals) f?.close();
  }
  return {
    runs: runs.map((r, i) => {
      const rows = readTrajectory(r.trajectory, parts.layers);
      const mean = rows ? meanTrajectoryNorms(rows, parts.layers) : null;
      return {
        run: r.name,
        method: r.method,
        layers: parts.layers.map((layer) => {
          const s = sums[i].get(layer)!;
          return {
            layer, meanWeightNorm: mean ? mean[layer] : Math.sqrt(s.weight), updateNorm: Math.sqrt(s.update),
            adapterNorm: s.adapted ? Math.sqrt(s.adapter) : null,
          };
        }),
      };
    }),
  };
}

/** The base model's layer names and whether its head is tied (for tables and captions). */
export function baseLayers(baseDir: string): { layers: string[]; tiedHead: boolean } {
  const p = partitionConfig(parseConfig(readConfig(baseDir), join(baseDir, CONFIG_FILE)));
  return { layers: p.layers, tiedHead: p.tiedHead };
}
