// Test helpers: seeded leaves, finite-difference gradient checks, shared-data location.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Backend, DType } from '../src/backends/backend.js';
import { Tensor } from '../src/tensor/tensor.js';
import { backward } from '../src/autograd/backward.js';
import { noGrad } from '../src/autograd/tape.js';
import { randn, mul, sum, transpose } from '../src/ops/index.js';
import { Rng } from '../src/util/rng.js';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
/** The shared data folder: LISA_SHARED_DATA if set, else ../shared/data beside this checkout, else beside the
 *  local repository this checkout was cloned from (a fresh clone in a temp folder still finds it). */
export const sharedData = locateSharedData();

function locateSharedData(): string {
  if (process.env.LISA_SHARED_DATA) return process.env.LISA_SHARED_DATA;
  const beside = join(repoRoot, '..', 'shared', 'data');
  if (existsSync(beside)) return beside;
  try {
    const origin = execFileSync('git', ['-C', repoRoot, 'config', '--get', 'remote.origin.url'], { encoding: 'utf8' }).trim();
    const fromOrigin = join(origin, '..', 'shared', 'data');
    if (origin.startsWith('/') && existsSync(fromOrigin)) return fromOrigin;
  } catch {
    // not a git checkout, or no origin
  }
  return beside;
}

/** True when ../shared/data is present. Under CI=true its absence is a failure, elsewhere a visible skip. */
export function haveSharedData(): boolean {
  if (existsSync(sharedData)) return true;
  if (process.env.CI === 'true') throw new Error(`shared data missing at ${sharedData} (required under CI=true)`);
  console.warn(`NOTICE: skipping tests that read ${sharedData}: folder not found`);
  return false;
}

export interface LeafSpec {
  shape: number[];
  /** Make the op see a non-contiguous view (the transpose of a leaf of the swapped shape). */
  transposed?: boolean;
  /** Shift values away from 0 (for log, sqrt, div). */
  positive?: boolean;
  requiresGrad?: boolean;
}

/** Creates leaves: returns the leaves (what gradients land on) and the views the op receives. */
export function makeInputs(specs: LeafSpec[], rng: Rng, dtype: DType, backend: Backend): { leaves: Tensor[]; views: Tensor[] } {
  const leaves: Tensor[] = [];
  const views: Tensor[] = [];
  for (const s of specs) {
    const shape = s.transposed ? [...s.shape.slice(0, -2), s.shape[s.shape.length - 1], s.shape[s.shape.length - 2]] : s.shape;
    const leaf = randn(shape, rng, { dtype, backend });
    if (s.positive) for (let i = 0; i < leaf.buf.length; i++) leaf.buf[i] = 0.5 + Math.abs(leaf.buf[i]);
    leaf.requiresGrad = s.requiresGrad ?? true;
    leaves.push(leaf);
    views.push(s.transposed ? transpose(leaf, -1, -2) : leaf);
  }
  return { leaves, views };
}

/** Checks analytic gradients of sum(f(inputs) * cotangent) against central differences (float64). */
export function gradcheck(f: (xs: Tensor[]) => Tensor, specs: LeafSpec[], backend: Backend,
  opts: { seed?: number; h?: number; rtol?: number; atol?: number } = {}): void {
  const rng = new Rng(opts.seed ?? 1);
  const { leaves } = makeInputs(specs, rng, 'float64', backend);
  const viewsOf = () => leaves.map((l, i) => (specs[i].transposed ? transpose(l, -1, -2) : l));
  const out0 = noGrad(() => f(viewsOf()));
  const cot = randn(out0.shape, rng, { dtype: 'float64', backend });
  const loss = () => sum(mul(f(viewsOf()), cot));
  const l = loss();
  backward(l);
  const h = opts.h ?? 1e-6;
  const rtol = opts.rtol ?? 1e-5;
  const atol = opts.atol ?? 1e-7;
  leaves.forEach((leaf, li) => {
    if (!leaf.requiresGrad) return;
    if (!leaf.grad) throw new Error(`input ${li}: no gradient`);
    const g = leaf.grad.toArray();
    const b = leaf.buf;
    for (let i = 0; i < b.length; i++) {
      const orig = b[i];
      b[i] = orig + h;
      const lp = noGrad(() => loss().item());
      b[i] = orig - h;
      const lm = noGrad(() => loss().item());
      b[i] = orig;
      const num = (lp - lm) / (2 * h);
      if (Math.abs(num - g[i]) > atol + rtol * Math.abs(num)) {
        throw new Error(`input ${li}[${i}]: analytic ${g[i]} vs numeric ${num}`);
      }
    }
  });
}
