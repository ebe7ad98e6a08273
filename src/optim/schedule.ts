// Learning-rate schedules as pure functions of the 0-based optimizer step (HF transformers' semantics):
// constant, linear and cosine, each with linear warmup. Never restarted (LISA switches do not touch it).
import { ArgumentError } from '../util/errors.js';

export const SCHEDULE_KINDS = ['constant', 'linear', 'cosine'] as const;
export type ScheduleKind = (typeof SCHEDULE_KINDS)[number];

export interface Schedule {
  kind: ScheduleKind;
  lr: number;
  warmupSteps?: number;
  /** Needed by linear and cosine. */
  totalSteps?: number;
  /** Floor for cosine, as a fraction of lr (default 0). */
  minLrRatio?: number;
}

export function validateSchedule(s: Schedule): void {
  if (!SCHEDULE_KINDS.includes(s.kind)) throw new ArgumentError(`schedule: unknown kind '${s.kind}' (${SCHEDULE_KINDS.join(', ')})`);
  if (!(s.lr >= 0)) throw new ArgumentError(`schedule: lr must be >= 0, got ${s.lr}`);
  const w = s.warmupSteps ?? 0;
  if (!Number.isInteger(w) || w < 0) throw new ArgumentError(`schedule: warmupSteps must be a non-negative integer, got ${w}`);
  if (s.kind !== 'constant' && (!Number.isInteger(s.totalSteps) || (s.totalSteps ?? 0) < 1)) {
    throw new ArgumentError(`schedule: ${s.kind} needs totalSteps >= 1, got ${String(s.totalSteps)}`);
  }
}

/** The learning rate used by update number step + 1 (step is 0-based). */
export function lrAt(s: Schedule, step: number): number {
  const warmup = s.warmupSteps ?? 0;
  if (step < warmup) return (s.lr * step) / warmup;
  if (s.kind === 'constant') return s.lr;
  const total = s.totalSteps ?? 1;
  const progress = Math.min(1, (step - warmup) / Math.max(1, total - warmup));
  if (s.kind === 'linear') return s.lr * Math.max(0, 1 - progress);
  const floor = s.minLrRatio ?? 0;
  return s.lr * (floor + (1 - floor) * 0.5 * (1 + Math.cos(Math.PI * progress)));
}
