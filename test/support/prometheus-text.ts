// Reading Prometheus' text exposition in tests: every sample by its name and labels as written.

/** One sample per series of the exposition text, keyed by its name and labels as written. */
export function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const space = line.lastIndexOf(" ");
    out.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return out;
}

/** The value of `name` with exactly these labels (in prom-client's order: as declared), 0 when absent. */
export function value(all: Map<string, number>, name: string, labels: Record<string, string> = {}): number {
  const inner = Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(",");
  return all.get(inner ? `${name}{${inner}}` : name) ?? 0;
}
