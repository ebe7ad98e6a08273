// LISA's block samplers: uniform without replacement, weighted (given or from a layer-norm profile),
// reshuffle (each block once per pass) and an explicit cyclic schedule. Seeded; state saves and restores.
import { readFileSync } from 'node:fs';
import { Rng } from '../util/rng.js';
import { ArgumentError } from '../util/errors.js';

export const SAMPLING_KINDS = ['uniform', 'weighted', 'reshuffle'] as const;
export type SamplingKind = (typeof SAMPLING_KINDS)[number];

export interface SamplerOptions {
  numBlocks: number;
  gamma: number;
  sampling?: SamplingKind;
  /** Per-block probabilities for 'weighted' (length numBlocks, summing to 1). */
  probabilities?: number[];
  /** A norms profile for 'weighted' (NormsProfile, or a bare array of per-block norms); normalised to sum 1. */
  profile?: string;
  /** Explicit block lists, replayed cyclically (overrides sampling). */
  schedule?: number[][];
  seed?: number;
}

export interface SamplerState {
  rng: ReturnType<Rng['getState']>;
  queue: number[];
  draws: number;
}

export class LisaSampler {
  private readonly rng: Rng;
  private readonly kind: SamplingKind | 'schedule';
  private readonly probs: number[] | null;
  private queue: number[] = [];
  private draws = 0;

  constructor(private readonly opts: SamplerOptions) {
    const { numBlocks: n, gamma } = opts;
    if (!Number.isInteger(gamma) || gamma < 0) throw new ArgumentError(`lisa: gamma must be a non-negative integer, got ${gamma}`);
    if (gamma > n) throw new ArgumentError(`lisa: gamma ${gamma} is larger than the number of blocks (${n})`);
    this.rng = new Rng(opts.seed ?? 0);
    this.kind = opts.schedule ? 'schedule' : (opts.sampling ?? 'uniform');
    if (this.kind !== 'schedule' && !SAMPLING_KINDS.includes(this.kind)) {
      throw new ArgumentError(`lisa: unknown sampling '${String(this.kind)}' (${SAMPLING_KINDS.join(', ')})`);
    }
    this.probs = null;
    if (opts.schedule) validateSchedule(opts.schedule, n);
    if (this.kind === 'weighted') this.probs = validateProbabilities(opts.probabilities ?? readProfile(opts.profile, n), n, gamma);
  }

  /** The next active set (sorted block indices). */
  next(): number[] {
    const { numBlocks: n, gamma } = this.opts;
    let picked: number[];
    if (this.kind === 'schedule') {
      const s = this.opts.schedule as number[][];
      picked = [...s[this.draws % s.length]];
    } else if (this.kind === 'uniform') {
      picked = this.rng.shuffle(Array.from({ length: n }, (_, i) => i)).slice(0, gamma);
    } else if (this.kind === 'weighted') {
      picked = weightedWithoutReplacement(this.probs as number[], gamma, this.rng);
    } else {
      while (this.queue.length < gamma) {
        this.queue.push(...this.rng.shuffle(Array.from({ length: n }, (_, i) => i)).filter((b) => !this.queue.includes(b)));
      }
      picked = this.queue.splice(0, gamma);
    }
    this.draws++;
    return picked.sort((a, b) => a - b);
  }

  getState(): SamplerState {
    return { rng: this.rng.getState(), queue: [...this.queue], draws: this.draws };
  }

  setState(s: SamplerState): void {
    const n = this.opts.numBlocks;
    const q = s?.queue;
    if (s === null || typeof s !== 'object' || !Array.isArray(q) || q.length > n ||
      !q.every((b) => Number.isInteger(b) && b >= 0 && b < n) || new Set(q).size !== q.length || !Number.isSafeInteger(s.draws) || s.draws < 0) {
      throw new ArgumentError(`lisa: checkpoint sampler state is malformed; expected {rng, queue: at most ${n} distinct block indices in [0, ${n}), draws: an integer >= 0}`);
    }
    this.rng.setState(s.rng);
    this.queue = [...s.queue];
    this.draws = s.draws;
  }
}

/** Sequential draws proportional to the remaining weights (numpy's choice(replace=False, p=...)). */
function weightedWithoutReplacement(probs: number[], k: number, rng: Rng): number[] {
  const w = [...probs];
  const out: number[] = [];
  for (let j = 0; j < k; j++) {
    const total = w.reduce((a, b) => a + b, 0);
    let r = rng.uniform() * total;
    let pick = w.findIndex((x) => x > 0);
    for (let i = 0; i < w.length; i++) {
      if (w[i] <= 0) continue;
      pick = i;
      r -= w[i];
      if (r < 0) break;
    }
    out.push(pick);
    w[pick] = 0;
  }
  return out;
}

function validateProbabilities(p: unknown, n: number, gamma: number): number[] {
  if (!Array.isArray(p) || !p.every((x) => typeof x === 'number' && Number.isFinite(x) && x >= 0)) {
    throw new ArgumentError('lisa: probabilities must be an array of non-negative numbers');
  }
  if (p.length !== n) throw new ArgumentError(`lisa: probabilities have ${p.length} entries, expected one per block (${n})`);
  const sum = p.reduce((a: number, b: number) => a + b, 0);
  if (Math.abs(sum - 1) > 1e-6) throw new ArgumentError(`lisa: probabilities sum to ${sum}, expected 1`);
  if (p.filter((x) => x > 0).length < gamma) throw new ArgumentError(`lisa: fewer than gamma=${gamma} blocks have a non-zero probability`);
  return p as number[];
}

function validateSchedule(s: unknown, n: number): void {
  if (!Array.isArray(s) || s.length === 0) throw new ArgumentError('lisa: schedule must be a non-empty list of block lists');
  s.forEach((set, i) => {
    if (!Array.isArray(set) || !set.every((b) => Number.isInteger(b) && b >= 0 && b < n) || new Set(set).size !== set.length) {
      throw new ArgumentError(`lisa: schedule[${i}] must be distinct block indices in [0, ${n}), got ${JSON.stringify(set)}`);
    }
  });
}

/** The norms profile that `lisa norms --profile` writes and 'weighted' sampling reads (a bare array of per-block
 *  norms is read too). */
export interface NormsProfile {
  format: typeof PROFILE_FORMAT;
  version: 1;
  /** Where the norms come from: a run name, its method and the statistic (updateNorm). */
  run?: string;
  method?: string;
  statistic?: string;
  numBlocks: number;
  norms: number[];
  /** profileProbabilities(norms), written for readers; checked against the norms when present. */
  probabilities?: number[];
}

export const PROFILE_FORMAT = 'lisa-norms-profile';

/** Block i is drawn with probability p_i = n_i / sum_j n_j: proportional to its measured norm. This is the
 *  paper's importance idea: a block whose LoRA update norm is larger changed more under fine-tuning, so it is
 *  sampled more often, in proportion to that norm (gamma blocks are then drawn without replacement). */
export function profileProbabilities(norms: readonly number[]): number[] {
  const total = norms.reduce((a, b) => a + b, 0);
  return norms.map((x) => x / total);
}

/** Reads per-block weights from a norms profile and normalises them to probabilities; n is the model's blocks. */
function readProfile(path: string | undefined, n: number): number[] {
  if (!path) throw new ArgumentError("lisa: sampling 'weighted' needs probabilities or a profile file");
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ArgumentError(`lisa: cannot read profile ${path}: ${(e as Error).message}`);
  }
  const obj = raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? (raw as Partial<NormsProfile>) : null;
  const norms = Array.isArray(raw) ? raw : obj?.norms;
  if (!Array.isArray(norms) || !norms.every((x) => typeof x === 'number' && Number.isFinite(x) && x >= 0)) {
    throw new ArgumentError(`lisa: profile ${path} must hold an array of non-negative numbers, or {"norms": [...]} (as lisa norms --profile writes)`);
  }
  if (obj?.numBlocks !== undefined && obj.numBlocks !== n) {
    throw new ArgumentError(`lisa: profile ${path} was measured on a model with ${JSON.stringify(obj.numBlocks)} blocks, but this model has ${n}`);
  }
  if (norms.length !== n) throw new ArgumentError(`lisa: profile ${path} has ${norms.length} block norms, but this model has ${n} blocks`);
  const total = norms.reduce((a: number, b: number) => a + b, 0);
  if (!(total > 0)) throw new ArgumentError(`lisa: profile ${path} has no positive weight`);
  const probs = profileProbabilities(norms);
  if (obj?.probabilities !== undefined) {
    const p = obj.probabilities;
    if (!Array.isArray(p) || p.length !== n || p.some((x, i) => typeof x !== 'number' || Math.abs(x - probs[i]) > 1e-9)) {
      throw new ArgumentError(`lisa: profile ${path}: 'probabilities' do not follow from 'norms' (p_i = norm_i / sum of norms); fix or remove them`);
    }
  }
  return probs;
}
