// The comparison's layerwise norms (`lisa norms` statistics against the base): every method's run of the first
// seed (for the chart) and every LoRA run (for claim (a)), each named "METHOD seed S".
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { computeLayerNorms, type NormsReport } from '../analysis/layer-norms.js';
import type { ComparePlan } from './config.js';

/** Norms of the finished runs (a run without its final/ or adapter/ result is left out). */
export function collectNorms(plan: ComparePlan, baseDir: string): NormsReport {
  const runs = plan.runs.filter((r) => (r.seed === plan.seeds[0] || r.config.method.kind === 'lora') &&
    (existsSync(join(r.dir, 'final', 'config.json')) || existsSync(join(r.dir, 'adapter', 'adapter_config.json'))));
  if (runs.length === 0) return { runs: [] };
  const report = computeLayerNorms(baseDir, runs.map((r) => r.dir));
  return { runs: report.runs.map((n, i) => ({ ...n, run: `${runs[i].method} seed ${runs[i].seed}` })) };
}
