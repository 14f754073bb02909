// The tracing over OpenTelemetry's SDK (see tracing.ts): loaded only when traces are configured,
// so that a process without them loads no part of the SDK. (The API itself is small, and
// prom-client loads it anyway for its exemplars.)
import type { IncomingMessage, ServerResponse } from "node:http";
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Span, type Tracer } from "@opentelemetry/api";
import type { TracingConfigPart } from "./tracing.config.js";
import type { SpanOptions } from "../shared/spans.js";
import type { Tracing } from "./tracing.js";

type TracingConfig = TracingConfigPart["tracing"];

/** The most the shutdown waits for the last spans to be exported. */
const SHUTDOWN_FLUSH_MS = 5_000;

const KINDS = { internal: SpanKind.INTERNAL, server: SpanKind.SERVER, client: SpanKind.CLIENT } as const;

/** Starts the SDK (tracing.ts has checked that an endpoint is configured). */
export async function startOtelTracing(config: TracingConfig & { tracesUrl: string }): Promise<Tracing> {
  const [node, base, exporter, resources] = await Promise.all([
    import("@opentelemetry/sdk-trace-node"),
    import("@opentelemetry/sdk-trace-base"),
    import("@opentelemetry/exporter-trace-otlp-http"),
    import("@opentelemetry/resources"),
  ]);
  const ratio = new base.TraceIdRatioBasedSampler(config.samplerRatio);
  const root = { always_on: new base.AlwaysOnSampler(), always_off: new base.AlwaysOffSampler(), traceidratio: ratio };
  const sampler =
    config.sampler === "always_on" || config.sampler === "always_off" || config.sampler === "traceidratio"
      ? root[config.sampler]
      : new base.ParentBasedSampler({ root: root[config.sampler.slice("parentbased_".length) as "always_on" | "always_off" | "traceidratio"] });
  const provider = new node.NodeTracerProvider({
    resource: resources.defaultResource().merge(resources.resourceFromAttributes({ ...config.resourceAttributes, "service.name": config.serviceName })),
    sampler,
    spanProcessors: [new base.BatchSpanProcessor(new exporter.OTLPTraceExporter({ url: config.tracesUrl, headers: config.headers }))],
  });
  // Global: the AsyncLocalStorage context manager (a span's children find it across awaits) and
  // the W3C trace-context propagator.
  provider.register();
  return new OtelTracing(provider.getTracer("posthorn"), async () => {
    // The buffered spans are sent, but a collector that does not answer must not hold the shutdown
    // (POSTHORN_SHUTDOWN_TIMEOUT, the orchestrator's grace period): the exporter alone waits 30 s.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([provider.shutdown().catch(() => undefined), new Promise<void>((resolve) => (timer = setTimeout(resolve, SHUTDOWN_FLUSH_MS)))]);
    clearTimeout(timer);
    // The globals go with it, so that a later app in the same process (tests) can register its own.
    trace.disable();
    context.disable();
    propagation.disable();
  });
}

class OtelTracing implements Tracing {
  constructor(
    private readonly tracer: Tracer,
    private readonly stop: () => Promise<void>,
  ) {}

  http(handler: (req: IncomingMessage, res: ServerResponse) => void): (req: IncomingMessage, res: ServerResponse) => void {
    return (req, res) => {
      const parent = propagation.extract(ROOT_CONTEXT, req.headers);
      const method = req.method ?? "GET";
      const span = this.tracer.startSpan(`HTTP ${method}`, { kind: SpanKind.SERVER, attributes: { "http.request.method": method, "network.protocol.version": req.httpVersion } }, parent);
      res.once("close", () => {
        span.setAttribute("http.response.status_code", res.statusCode);
        if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
        span.end();
      });
      context.with(trace.setSpan(parent, span), () => handler(req, res));
    };
  }

  route(method: string, pattern: string | undefined): void {
    const span = trace.getActiveSpan();
    if (!span || !pattern) return;
    span.updateName(`HTTP ${method} ${pattern}`);
    span.setAttribute("http.route", pattern);
  }

  async inSpan<T>(name: string, options: SpanOptions<T>, work: (traceparent: string) => Promise<T>): Promise<T> {
    const parent: Context = options.parent ? propagation.extract(ROOT_CONTEXT, { traceparent: options.parent }) : context.active();
    const span = this.tracer.startSpan(name, { kind: KINDS[options.kind ?? "internal"], ...(options.attributes ? { attributes: options.attributes } : {}) }, parent);
    try {
      const result = await context.with(trace.setSpan(parent, span), () => work(traceparentOf(span)));
      if (options.after) span.setAttributes(options.after(result));
      if (options.failed?.(result)) span.setStatus({ code: SpanStatusCode.ERROR });
      return result;
    } catch (err) {
      // The error's code, not its message: messages may quote addresses.
      span.setStatus({ code: SpanStatusCode.ERROR, message: codeOf(err) });
      throw err;
    } finally {
      span.end();
    }
  }

  current(): string | null {
    const span = trace.getActiveSpan();
    return span ? traceparentOf(span) : null;
  }

  shutdown(): Promise<void> {
    return this.stop();
  }
}

/** W3C trace-context (version 00): the form stored with a message and put in a traceparent header. */
export function traceparentOf(span: Span): string {
  const { traceId, spanId, traceFlags } = span.spanContext();
  return `00-${traceId}-${spanId}-${(traceFlags & 0xff).toString(16).padStart(2, "0")}`;
}

function codeOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : err instanceof Error ? err.name : "error";
}
