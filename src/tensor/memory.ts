// Exact byte accounting of live tensor storage by category, with per-category and total peaks.
// 'weights' counts each parameter's storage as it is now: 2 bytes/element for a bf16-stored weight, 4 for fp32,
// and an fp32 master (weightDtype bfloat16) replaces its bf16 copy, so it counts here too (src/tensor/precision.ts).

export type MemoryCategory = 'weights' | 'gradients' | 'optimizer' | 'activations' | 'other';
export const CATEGORIES: readonly MemoryCategory[] = ['weights', 'gradients', 'optimizer', 'activations', 'other'];

export interface MemoryReport {
  live: Record<MemoryCategory, number>;
  peak: Record<MemoryCategory, number>;
  liveTotal: number;
  peakTotal: number;
  liveStorages: number;
}

const zeros = (): Record<MemoryCategory, number> =>
  ({ weights: 0, gradients: 0, optimizer: 0, activations: 0, other: 0 });

const live = zeros();
const peak = zeros();
let liveTotal = 0;
let peakTotal = 0;
let liveStorages = 0;

export function trackAlloc(category: MemoryCategory, bytes: number): void {
  live[category] += bytes;
  liveTotal += bytes;
  liveStorages++;
  if (live[category] > peak[category]) peak[category] = live[category];
  if (liveTotal > peakTotal) peakTotal = liveTotal;
}

export function trackFree(category: MemoryCategory, bytes: number): void {
  live[category] -= bytes;
  liveTotal -= bytes;
  liveStorages--;
}

/** Moves live bytes from one category to another (a temporary adopted as a gradient, say). */
export function trackRecategorize(from: MemoryCategory, to: MemoryCategory, bytes: number): void {
  live[from] -= bytes;
  live[to] += bytes;
  if (live[to] > peak[to]) peak[to] = live[to];
}

export function memoryReport(): MemoryReport {
  return { live: { ...live }, peak: { ...peak }, liveTotal, peakTotal, liveStorages };
}

/** Resets peaks to the current live figures (start of a measured region). */
export function resetPeaks(): void {
  for (const c of CATEGORIES) peak[c] = live[c];
  peakTotal = liveTotal;
}

/** Puts the peaks back to a saved report's (never below what is live): after a meta run, whose bytes were
 *  counted exactly but never held. */
export function restorePeaks(saved: MemoryReport): void {
  for (const c of CATEGORIES) peak[c] = Math.max(saved.peak[c], live[c]);
  peakTotal = Math.max(saved.peakTotal, liveTotal);
}
