// Small numeric helpers for the benchmark's figures.
import type { LatencySummary } from "./protocol.js";

/** Nearest-rank percentile of an ascending-sorted array. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export function summarizeLatencies(samples: Float64Array): LatencySummary {
  const sorted = Float64Array.from(samples).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.length > 0 ? sorted[sorted.length - 1]! : NaN,
    mean: sorted.length > 0 ? sum / sorted.length : NaN,
  };
}

/** 12345.6 → "12,346" */
export function int(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

/** Milliseconds with one decimal. */
export function ms(n: number): string {
  return n.toFixed(1);
}

export function seconds(msValue: number): string {
  return (msValue / 1000).toFixed(2);
}

export function percent(fraction: number | null): string {
  return fraction === null ? "n/a" : `${Math.round(fraction * 100)}%`;
}
