// The port through which domains report spans of a trace (src/observability/tracing.ts implements
// it over OpenTelemetry). Domains take it as an optional dependency: absent, tracing is off, and
// they must then do no tracing work at all (the mail path's cost with tracing off is nil).
import type { Attributes } from "@opentelemetry/api";

export interface SpanOptions<T> {
  kind?: "internal" | "server" | "client";
  /** A stored W3C traceparent to continue (a message's, a run's); absent or null: the current context. */
  parent?: string | null;
  /** Ids, counts, domains: never an address's local part, a body or a secret. */
  attributes?: Attributes;
  /** Attributes read from the result (ids assigned, outcomes). */
  after?: (result: T) => Attributes;
  /** Whether the result is a failure (the span's status says so). */
  failed?: (result: T) => boolean;
}

export interface Spans {
  /** Runs `work` in a span and gives it the span's W3C traceparent, to store with what it writes. */
  inSpan<T>(name: string, options: SpanOptions<T>, work: (traceparent: string) => Promise<T>): Promise<T>;
  /** The current span's traceparent, or null outside any span. */
  current(): string | null;
}
