// Stable random numbers for journeys: the same inputs give the same number in [0, 1) on every
// worker and every run of the simulator, so a person's cohort (A/B path) and a run's random delay
// never change when a run is retried, moved between workers or replayed by `posthorn journeys test`.
import { createHash } from "node:crypto";

/** A number in [0, 1) from the text's SHA-256 (48 bits: enough for any weight a journey gives). */
export function stableFraction(text: string): number {
  const digest = createHash("sha256").update(text).digest();
  return digest.readUIntBE(0, 6) / 2 ** 48;
}

/** The index of the path whose share of the cumulative weights holds `fraction`. */
export function pickByWeight(weights: readonly number[], fraction: number): number {
  const total = weights.reduce((a, b) => a + b, 0);
  let cumulative = 0;
  for (let i = 0; i < weights.length; i += 1) {
    cumulative += weights[i]! / total;
    if (fraction < cumulative) return i;
  }
  // Rounding can leave the sum a hair under 1.
  return weights.length - 1;
}
