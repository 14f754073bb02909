// Durations written as people write them in config ("5m", "4h", "5d", "250ms"), in milliseconds.

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseDuration(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(text);
  if (!match) throw new Error(`"${text}" is not a duration (e.g. 250ms, 30s, 5m, 4h, 5d)`);
  return Math.round(Number(match[1]) * UNIT_MS[match[2]!]!);
}

export function parseDurationList(text: string): number[] {
  const parts = text.split(",").map((s) => s.trim()).filter(Boolean);
  if (parts.length === 0) throw new Error("expected a comma-separated list of durations");
  return parts.map(parseDuration);
}
