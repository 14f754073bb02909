// Label values from open sets (recipient domains, workspaces) made into a bounded set: Prometheus
// keeps one series per label value for as long as the process runs, so a label fed by input must
// stop growing. The first `most` distinct values seen keep their own name, every later one is
// `rest`. First seen rather than "top N by volume": a series whose name changed with the ranking
// would break every rate() over it, and at start the busiest destinations are the first seen.
export class BoundedLabels {
  private readonly kept = new Set<string>();

  constructor(
    private readonly most: number,
    private readonly rest = "other",
  ) {}

  of(value: string): string {
    if (this.kept.has(value)) return value;
    if (this.kept.size >= this.most || value === this.rest) return this.rest;
    this.kept.add(value);
    return value;
  }
}

/**
 * Children of a labelled metric by their label values, found with one Map lookup: prom-client's
 * own labels() builds a sorted key string per call, which would cost every message that much.
 */
export class Children<T> {
  private readonly byKey = new Map<string, T>();

  constructor(private readonly make: (...values: string[]) => T) {}

  of(a: string, b = "", c = ""): T {
    const key = `${a}\u0000${b}\u0000${c}`;
    let child = this.byKey.get(key);
    if (child === undefined) {
      child = this.make(a, b, c);
      this.byKey.set(key, child);
    }
    return child;
  }
}
