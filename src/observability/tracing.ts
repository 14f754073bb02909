// OpenTelemetry traces, on only when an OTLP endpoint is configured (tracing.config.ts). Off, the
// SDK is never imported (tracing.otel.ts, which holds it, is loaded only when on) and nothing here
// is wired: acceptance and the MTA get no tracer, the HTTP server no wrapper, so the mail path
// allocates no span and asks no context.
//
// What is traced, and how the pieces of one message join one trace:
// - `HTTP <method> <route>` (server): each API request, named by its route pattern, never its raw
//   URL (paths carry ids and tracking tokens); an incoming W3C traceparent is its parent.
// - `message.accept`: one acceptance (API, SMTP, a journey's or a bulk send's batch), a child of
//   the request's span when there is one. Its W3C traceparent is stored with the message
//   (messages.traceparent, migration 044), because the delivery attempt may run later, in another
//   process (an mta role), after a restart.
// - `message.deliver` (client): each delivery attempt of a message to one destination domain, a
//   child of the stored acceptance context: acceptance and every attempt, retries included, are
//   one trace.
// - `journey.step` (src/journeys): a run advanced by the worker, a child of the Track API request
//   whose event started or moved it when that is known; the acceptance of the mail it sends is
//   its child, and so on to the attempts.
// Attributes name ids, counts, domains and outcomes; never addresses' local parts, bodies, subjects
// or credentials (a route pattern, not a URL).
import type { IncomingMessage, ServerResponse } from "node:http";
import type { TracingConfigPart } from "./tracing.config.js";
import type { Spans } from "../shared/spans.js";

type TracingConfig = TracingConfigPart["tracing"];

/** The spans port (src/shared/spans.ts) and the HTTP server's wrapper, over an OTel tracer. */
export interface Tracing extends Spans {
  /** Wraps node:http's request handler: each request in a server span of its own. */
  http(handler: (req: IncomingMessage, res: ServerResponse) => void): (req: IncomingMessage, res: ServerResponse) => void;
  /** Names the current request's span by its route pattern (called from a Fastify hook). */
  route(method: string, pattern: string | undefined): void;
  /** Sends what is still buffered and stops. */
  shutdown(): Promise<void>;
}

/** Starts the SDK and returns the tracing, or null (nothing loaded) when no endpoint is configured. */
export async function startTracing(config: TracingConfig): Promise<Tracing | null> {
  if (config.tracesUrl === null) return null;
  return (await import("./tracing.otel.js")).startOtelTracing({ ...config, tracesUrl: config.tracesUrl });
}
