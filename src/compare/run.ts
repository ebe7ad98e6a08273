// Runs a comparison's train runs one after another, resumably: a finished run (its compare-run.json matches
// its config) is kept, a run with a checkpoint resumes from it (the trainer's --resume), any other starts afresh.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { train, type StepMetrics } from '../train/trainer.js';
import { findCheckpoint } from '../train/checkpoint.js';
import { comparableConfig, configDifferences, RunFolderError } from '../train/run-folder.js';
import { writeRunReport } from '../report/run-report.js';
import { computeLayerNorms } from '../analysis/layer-norms.js';
import { writeNormsProfile } from '../analysis/profile.js';
import type { ComparePlan, PlannedRun } from './config.js';
import { prepareBase } from './base.js';

const DONE = 'compare-run.json';

export interface CompareEvents {
  onRun?(run: PlannedRun, how: 'kept' | 'fresh' | 'resume', index: number, total: number): void;
  onStep?(run: PlannedRun, m: StepMetrics, totalSteps: number): void;
  onWarning?(message: string): void;
}

export interface CompareRunOptions extends CompareEvents {
  /** Start every run afresh, replacing earlier results in OUT. */
  overwrite?: boolean;
  /** Checked after each step: true stops the current run with a checkpoint, and the comparison. */
  shouldStop?: () => boolean;
}

/** True when the run finished with this very config. */
function isFinished(run: PlannedRun): boolean {
  const path = join(run.dir, DONE);
  if (!existsSync(path)) return false;
  let saved: { config?: unknown };
  try {
    saved = JSON.parse(readFileSync(path, 'utf8')) as { config?: unknown };
  } catch {
    return false;
  }
  const now = comparableConfig(run.config);
  const stepsOf = (c: unknown) => JSON.stringify((c as { train?: { steps?: unknown } } | undefined)?.train?.steps);
  const differ = [...configDifferences(saved.config, now), ...(stepsOf(saved.config) !== stepsOf(now) ? ['train.steps'] : [])];
  if (differ.length > 0) {
    throw new RunFolderError(`${run.dir} finished with a different config (${differ.map((k) => `'${k}'`).join(', ')}); ` +
      'rerun with --overwrite to replace it, or give another --out');
  }
  return true;
}

/** Runs every planned run not yet finished; returns 'interrupted' when shouldStop stopped one. */
export async function runCompare(plan: ComparePlan, opts: CompareRunOptions = {}): Promise<'done' | 'interrupted'> {
  mkdirSync(plan.out, { recursive: true });
  const baseDir = await prepareBase(plan.base);
  writeFileSync(join(plan.out, 'plan.json'), `${JSON.stringify({ source: plan.source, seeds: plan.seeds, methods: plan.methods,
    base: plan.base.ref, runs: plan.runs.map((r) => ({ method: r.method, seed: r.seed, dir: r.dir })) }, null, 2)}\n`);
  for (const [i, run] of plan.runs.entries()) {
    if (!opts.overwrite && isFinished(run)) {
      opts.onRun?.(run, 'kept', i, plan.runs.length);
      continue;
    }
    if (run.profileFrom) {
      // Weighted LISA: each block's update norm in the same seed's LoRA run (`lisa norms --profile`).
      mkdirSync(run.dir, { recursive: true });
      writeNormsProfile(run.profileFrom.profile, computeLayerNorms(baseDir, [run.profileFrom.dir]).runs[0]);
    }
    rmSync(join(run.dir, DONE), { force: true });
    const resume = !opts.overwrite && findCheckpoint(run.dir) !== null;
    opts.onRun?.(run, resume ? 'resume' : 'fresh', i, plan.runs.length);
    const r = await train(run.config, {
      resume, overwrite: !resume,
      shouldStop: opts.shouldStop,
      onStep: (m, total) => opts.onStep?.(run, m, total),
      onWarning: (msg) => opts.onWarning?.(`${run.method} seed ${run.seed}: ${msg}`),
    });
    await writeRunReport(run.dir, `lisa compare: ${run.method}, seed ${run.seed}`);
    if (r.stopped === 'interrupted') return 'interrupted';
    writeFileSync(join(run.dir, DONE), `${JSON.stringify({ finished: new Date().toISOString(), steps: r.steps, config: comparableConfig(run.config) })}\n`);
  }
  return 'done';
}
