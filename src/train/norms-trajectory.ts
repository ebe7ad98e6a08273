// The per-layer weight-norm trajectory that `lisa train` records with train.normsEvery: OUT/norms.jsonl holds one
// row per recording, {"step": s, "norms": {"embed": x, "block.0": x, ..., "finalNorm": x, "head": x}}, at step 0
// and every normsEvery optimizer steps. ||theta(l)|| is the Frobenius norm of all the layer's weight tensors
// concatenated; under LoRA the weights are the merged ones, W + scale * B @ A. A resume keeps the rows up to the
// checkpoint's step and drops the rest, so no row is duplicated or missing.
import { existsSync, readFileSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CausalLM } from '../models/causal-lm.js';
import type { Parameter } from '../tensor/tensor.js';
import { bf16BitsArrayToF32 } from '../util/bf16.js';
import { partitionLayers, type LayerPartition } from '../models/layer-partition.js';
import { loraDelta, mergedSquares } from '../finetune/lora-delta.js';
import { FormatError } from '../io/errors.js';

export const NORMS_FILE = 'norms.jsonl';

interface TrajectoryRow { step: number; norms: Record<string, number> }

function squares(p: Parameter): number {
  if (p.dtype === 'bfloat16') {
    const v = bf16BitsArrayToF32(p.bits);
    return p.backend.sumSquares(v, v.length);
  }
  return p.backend.sumSquares(p.buf, p.size);
}

/** ||theta(l)|| of every layer of a live model; loraScale (alpha / r) when LoRA adapters are attached. */
function layerWeightNorms(model: CausalLM, parts: LayerPartition, loraScale: number | null): Record<string, number> {
  const params = new Map(model.namedParameters());
  const sq = new Map<string, number>(parts.layers.map((l) => [l, 0]));
  for (const [name, layer] of parts.layerOf) {
    const p = params.get(name)!;
    const module = name.slice(0, -'.weight'.length);
    const a = params.get(`${module}.lora_A.weight`);
    const b = params.get(`${module}.lora_B.weight`);
    let s: number;
    if (a && b && loraScale !== null) {
      const info = parts.tensors.get(layer)!.find((t) => t.name === name)!;
      const inF = a.shape[1]; // A: (r, in), B: (out, r)
      const outF = b.shape[0];
      const w = p.dtype === 'bfloat16' ? bf16BitsArrayToF32(p.bits) : p.buf;
      s = mergedSquares(w, loraDelta(a, b, loraScale), outF, inF, info.layout ?? 'out_in').merged;
    } else s = squares(p);
    sq.set(layer, sq.get(layer)! + s);
  }
  return Object.fromEntries([...sq].map(([l, s]) => [l, Math.sqrt(s)]));
}

/** Records the trajectory of a run into OUT/norms.jsonl (the trainer's normsEvery hook). */
class NormsRecorder {
  private readonly path: string;
  private readonly parts: LayerPartition;

  constructor(out: string, private readonly every: number, private readonly model: CausalLM, private readonly loraScale: number | null) {
    this.path = join(out, NORMS_FILE);
    this.parts = partitionLayers(model);
  }

  /** Before the first step of this process: a fresh run starts the file with step 0; a resume at startStep keeps
   *  the rows with step <= startStep (rows after the checkpoint are recorded again), dropping damaged lines. */
  start(startStep: number, warn: (msg: string) => void): void {
    if (startStep === 0) {
      writeFileSync(this.path, '');
      this.record(0);
      return;
    }
    if (!existsSync(this.path)) warn(`${this.path} is missing; the norms trajectory of steps 0..${startStep} is lost and recording resumes after step ${startStep}`);
    const kept = existsSync(this.path) ? readFileSync(this.path, 'utf8').split('\n').filter((l) => {
      if (!l) return false;
      try {
        return (JSON.parse(l) as TrajectoryRow).step <= startStep;
      } catch {
        warn(`${this.path}: dropped a damaged line (${l.slice(0, 40)}...)`);
        return false;
      }
    }) : [];
    writeFileSync(this.path, kept.map((l) => `${l}\n`).join(''));
  }

  /** After optimizer step `step` (1-based count of completed steps). */
  afterStep(step: number): void {
    if (step % this.every === 0) this.record(step);
  }

  private record(step: number): void {
    const row: TrajectoryRow = { step, norms: layerWeightNorms(this.model, this.parts, this.loraScale) };
    appendFileSync(this.path, `${JSON.stringify(row)}\n`);
  }
}

/** The trainer's hook: a recorder started at startStep when every is set (null otherwise). A fresh run without
 *  normsEvery removes a norms.jsonl left by an earlier run, so lisa norms never reads a stale trajectory. */
export function startTrajectory(out: string, every: number | null | undefined, model: CausalLM, loraScale: number | null,
  startStep: number, warn: (msg: string) => void): NormsRecorder | null {
  if (!every) {
    if (startStep === 0) rmSync(join(out, NORMS_FILE), { force: true });
    return null;
  }
  const recorder = new NormsRecorder(out, every, model, loraScale);
  recorder.start(startStep, warn);
  return recorder;
}

/** Reads a trajectory and checks it against the model's layers; null when the file does not exist or is empty. */
export function readTrajectory(path: string, layers: readonly string[]): TrajectoryRow[] | null {
  if (!existsSync(path)) return null;
  const rows: TrajectoryRow[] = [];
  readFileSync(path, 'utf8').split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch (e) {
      throw new FormatError(path, `line ${i + 1} is not JSON (${(e as Error).message})`);
    }
    const r = row as Partial<TrajectoryRow>;
    if (!r || typeof r !== 'object' || !Number.isSafeInteger(r.step) || !r.norms || typeof r.norms !== 'object') {
      throw new FormatError(path, `line ${i + 1} must be {"step": integer, "norms": {layer: number}}`);
    }
    const have = Object.keys(r.norms);
    const missing = layers.filter((l) => typeof r.norms![l] !== 'number' || !Number.isFinite(r.norms![l]));
    const extra = have.filter((l) => !layers.includes(l));
    if (missing.length > 0 || extra.length > 0) {
      throw new FormatError(path, `line ${i + 1} has layers [${have.join(', ')}] but the base model has [${layers.join(', ')}]` +
        `${missing.length ? `; missing or not a number: ${missing.join(', ')}` : ''}${extra.length ? `; unknown: ${extra.join(', ')}` : ''}`);
    }
    rows.push(r as TrajectoryRow);
  });
  return rows.length > 0 ? rows : null;
}

/** w(l) = (1/T) sum_t ||theta_t(l)|| over the recorded rows. */
export function meanTrajectoryNorms(rows: readonly TrajectoryRow[], layers: readonly string[]): Record<string, number> {
  return Object.fromEntries(layers.map((l) => [l, rows.reduce((s, r) => s + r.norms[l], 0) / rows.length]));
}
