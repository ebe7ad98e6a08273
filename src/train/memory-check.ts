// Before a run allocates anything: its memory estimate (the engine's own accounting of two training steps on
// the meta backend) against the memory this machine has available. When it does not fit, the warning names
// the settings that would, each with its own estimate.
import { readFileSync } from 'node:fs';
import type { ModelConfig } from '../models/index.js';
import { estimateMemory, type MemoryMethod, type RunOptions } from '../finetune/memory-estimate.js';
import { dataMaxLength, modelContext, type TrainConfig } from './config.js';

const GiB = 1024 ** 3;
/** Node, V8 and the addon besides the tensors (measured: about 0.1 GiB; kept generous). */
const RUNTIME_BYTES = 0.25 * GiB;

/** Bytes this process may still use: LISA_MEMORY_LIMIT (e.g. "20GiB", to plan for another machine), else
 *  MemAvailable from /proc/meminfo; null when unknown. */
export function availableMemory(): number | null {
  const limit = process.env.LISA_MEMORY_LIMIT;
  if (limit) {
    const m = /^(\d+(?:\.\d+)?)\s*(GiB|MiB|G|M)?$/i.exec(limit.trim());
    if (m) return Number(m[1]) * (/^g/i.test(m[2] ?? 'G') ? GiB : 1024 ** 2);
  }
  try {
    const kb = /MemAvailable:\s+(\d+) kB/.exec(readFileSync('/proc/meminfo', 'utf8'));
    return kb ? Number(kb[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** The run's method as `lisa memory` describes it. */
export function memoryMethod(cfg: TrainConfig): MemoryMethod {
  const m = cfg.method;
  if (m.kind === 'lora') return { kind: 'lora', rank: m.rank, alpha: m.alpha, targets: m.targets, dropout: m.dropout };
  if (m.kind === 'lisa') return { kind: 'lisa', gamma: m.gamma, alwaysTrain: m.alwaysTrain };
  return { kind: 'full' };
}

interface Setting { label: string; batch: number; opts: RunOptions }

/** The estimate of the run's peak (bytes in use at once, plus the runtime) under a setting. */
function peak(model: ModelConfig, cfg: TrainConfig, s: Setting): number {
  const e = estimateMemory(model, memoryMethod(cfg), { batch: s.batch, seq: dataMaxLength(cfg, modelContext(model)) }, s.opts);
  return Math.max(e.peakTogether, e.worstPlacement?.peakTogether ?? 0) + RUNTIME_BYTES;
}

const fmt = (b: number) => `${(b / GiB).toFixed(1)} GiB`;

/** A warning when the run's estimate exceeds the available memory, naming settings that fit; null when it
 *  fits (or the available memory is unknown). */
export function memoryWarning(model: ModelConfig, cfg: TrainConfig, available = availableMemory()): string | null {
  if (available === null) return null;
  const t = cfg.train;
  const now: Setting = {
    label: 'as configured', batch: t.batchSize,
    opts: { gradientCheckpointing: t.gradientCheckpointing, updateInBackward: cfg.optim.updateInBackward, weightDtype: t.weightDtype },
  };
  const need = peak(model, cfg, now);
  if (need <= available) return null;
  const candidates: Setting[] = [];
  const add = (label: string, change: Partial<Setting['opts']>, batch = now.batch) => {
    const opts = { ...now.opts, ...change };
    if (label && !candidates.some((c) => c.label === label)) candidates.push({ label, batch, opts });
  };
  if (t.weightDtype !== 'bfloat16') add('train.weightDtype=bfloat16', { weightDtype: 'bfloat16' });
  if (!t.gradientCheckpointing) add('train.gradientCheckpointing=true', { gradientCheckpointing: true });
  // The update inside backward needs gradAccum 1; a smaller batch needs gradAccum > 1: never both.
  const accumFree = t.gradAccum === 1;
  if (!cfg.optim.updateInBackward && accumFree) add('optim.updateInBackward=true optim.maxGradNorm=null', { updateInBackward: true });
  if (t.batchSize > 1 && !cfg.optim.updateInBackward) {
    const b = Math.max(1, Math.floor(t.batchSize / 2));
    add(`train.batchSize=${b} train.gradAccum=${t.gradAccum * Math.ceil(t.batchSize / b)}`, {}, b);
  }
  if (accumFree) {
    add('train.weightDtype=bfloat16 train.gradientCheckpointing=true optim.updateInBackward=true optim.maxGradNorm=null',
      { weightDtype: 'bfloat16', gradientCheckpointing: true, updateInBackward: true });
  } else add('train.weightDtype=bfloat16 train.gradientCheckpointing=true', { weightDtype: 'bfloat16', gradientCheckpointing: true });
  const fits = candidates.map((c) => ({ c, need: peak(model, cfg, c) })).filter((x) => x.need <= available);
  return `this run needs about ${fmt(need)} (the memory estimate of two steps at batch ${t.batchSize} x ${dataMaxLength(cfg, modelContext(model))} ` +
    `tokens, plus the runtime) but ${fmt(available)} is available. ` +
    (fits.length > 0
      ? `These would fit: ${fits.map((x) => `--set ${x.c.label} (${fmt(x.need)})`).join('; ')}. `
      : 'None of bfloat16 weights, gradient checkpointing, the update inside backward or a smaller batch would fit it alone or together; try LISA with a smaller gamma, LoRA, or a shorter data.maxLength. ') +
    '`lisa memory` shows the estimate by category';
}
