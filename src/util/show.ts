// A value shown in an error message: JSON, cut to a short length, and safe for cyclic, deeply nested or BigInt values.

export function showValue(v: unknown, max = 60): string {
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  let s: string | undefined;
  try {
    s = JSON.stringify(v);
  } catch {
    s = Array.isArray(v) ? '[...] (too deeply nested or cyclic)' : v !== null && typeof v === 'object' ? '{...} (too deeply nested or cyclic)' : String(v);
  }
  if (s === undefined) s = String(v);
  return s.length > max ? `${s.slice(0, max - 3)}...` : s;
}
