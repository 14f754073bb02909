// Configuration of traces: OpenTelemetry's own environment variables (the names every OTel SDK
// reads, so an operator's existing settings apply), parsed here once like every other key. Tracing
// is on only when an OTLP endpoint is set; src/observability/tracing.ts explains what is traced.
import { z } from "zod";
import { configFragment } from "../config/config.fragment.js";

export type SamplerName = "always_on" | "always_off" | "traceidratio" | "parentbased_always_on" | "parentbased_always_off" | "parentbased_traceidratio";

export interface TracingConfigPart {
  tracing: {
    /** Where spans are posted (OTLP/HTTP, JSON); null: tracing is off and no SDK is loaded. */
    tracesUrl: string | null;
    /** Headers sent with each export (an API key for a hosted collector, say): a secret. */
    headers: Record<string, string>;
    serviceName: string;
    /** Resource attributes (`deployment.environment=prod,…`). */
    resourceAttributes: Record<string, string>;
    sampler: SamplerName;
    /** The ratio of the *traceidratio samplers, 0–1. */
    samplerRatio: number;
  };
}

/** "k1=v1,k2=v2" (W3C Baggage-like, values percent-encoded), as OTel's SDKs read it. */
const keyValueList = z.string().transform((value, ctx) => {
  const out: Record<string, string> = {};
  for (const item of value.split(",")) {
    if (item.trim() === "") continue;
    const at = item.indexOf("=");
    if (at <= 0) {
      ctx.addIssue({ code: "custom", message: "must be key=value pairs separated by commas" });
      return z.NEVER;
    }
    try {
      out[item.slice(0, at).trim()] = decodeURIComponent(item.slice(at + 1).trim());
    } catch {
      ctx.addIssue({ code: "custom", message: `the value of ${item.slice(0, at).trim()} is not percent-encoded properly` });
      return z.NEVER;
    }
  }
  return out;
});

const httpUrl = z.url({ protocol: /^https?$/, error: "must be an http:// or https:// URL" });

export const tracingConfig = configFragment({
  name: "tracing",
  keys: {
    /** OTLP/HTTP base URL (e.g. http://collector:4318); spans go to its /v1/traces. Set: tracing is on. */
    OTEL_EXPORTER_OTLP_ENDPOINT: httpUrl.optional(),
    /** The full URL spans are posted to; wins over OTEL_EXPORTER_OTLP_ENDPOINT. */
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: httpUrl.optional(),
    /**
     * The protocol: only http/json is spoken (@opentelemetry/exporter-trace-otlp-http); another
     * value is refused at start rather than silently exported in a form the collector did not expect.
     */
    OTEL_EXPORTER_OTLP_PROTOCOL: z.enum(["http/json"], { error: "only http/json is supported" }).optional(),
    OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: z.enum(["http/json"], { error: "only http/json is supported" }).optional(),
    /** Headers for every export, `key=value,…` (percent-encoded values), e.g. a collector's API key. */
    OTEL_EXPORTER_OTLP_HEADERS: keyValueList.optional(),
    OTEL_EXPORTER_OTLP_TRACES_HEADERS: keyValueList.optional(),
    /** service.name of the spans. */
    OTEL_SERVICE_NAME: z.string().min(1).default("posthorn"),
    /** More resource attributes, `key=value,…`. */
    OTEL_RESOURCE_ATTRIBUTES: keyValueList.optional(),
    /** Which traces are recorded (OTel's names); the default records all, or what the caller's traceparent decided. */
    OTEL_TRACES_SAMPLER: z.enum(["always_on", "always_off", "traceidratio", "parentbased_always_on", "parentbased_always_off", "parentbased_traceidratio"]).default("parentbased_always_on"),
    /** The ratio (0–1) for the traceidratio samplers. */
    OTEL_TRACES_SAMPLER_ARG: z.coerce.number().min(0).max(1).default(1),
  },
  toConfig: (e): TracingConfigPart => {
    const base = e.OTEL_EXPORTER_OTLP_ENDPOINT;
    const tracesUrl = e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? (base ? `${base.replace(/\/+$/, "")}/v1/traces` : null);
    return {
      tracing: {
        tracesUrl,
        headers: { ...e.OTEL_EXPORTER_OTLP_HEADERS, ...e.OTEL_EXPORTER_OTLP_TRACES_HEADERS },
        serviceName: e.OTEL_SERVICE_NAME,
        resourceAttributes: e.OTEL_RESOURCE_ATTRIBUTES ?? {},
        sampler: e.OTEL_TRACES_SAMPLER,
        samplerRatio: e.OTEL_TRACES_SAMPLER_ARG,
      },
    };
  },
  redact: (part) => ({ tracing: { ...part.tracing, headers: Object.fromEntries(Object.keys(part.tracing.headers).map((k) => [k, "REDACTED"])) } }),
});
