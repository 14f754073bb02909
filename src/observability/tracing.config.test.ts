import { test } from "node:test";
import assert from "node:assert/strict";
import { loadConfig } from "../config/config.schema.js";

test("tracing is off without an OTLP endpoint, and traces go to <endpoint>/v1/traces or the traces endpoint as given", () => {
  assert.equal(loadConfig({}).tracing.tracesUrl, null);
  assert.equal(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318/" }).tracing.tracesUrl, "http://collector:4318/v1/traces");
  assert.equal(
    loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318", OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "https://traces.example/otlp/traces" }).tracing.tracesUrl,
    "https://traces.example/otlp/traces",
  );
});

test("service name, resource attributes, headers and sampler are read as OpenTelemetry's SDKs read them", () => {
  const { tracing } = loadConfig({
    OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318",
    OTEL_SERVICE_NAME: "posthorn-mta",
    OTEL_RESOURCE_ATTRIBUTES: "deployment.environment=prod, team=mail%20ops",
    OTEL_EXPORTER_OTLP_HEADERS: "x-api-key=secret%3D1",
    OTEL_EXPORTER_OTLP_TRACES_HEADERS: "x-tenant=a",
    OTEL_TRACES_SAMPLER: "parentbased_traceidratio",
    OTEL_TRACES_SAMPLER_ARG: "0.25",
  });
  assert.equal(tracing.serviceName, "posthorn-mta");
  assert.deepEqual(tracing.resourceAttributes, { "deployment.environment": "prod", team: "mail ops" });
  assert.deepEqual(tracing.headers, { "x-api-key": "secret=1", "x-tenant": "a" });
  assert.equal(tracing.sampler, "parentbased_traceidratio");
  assert.equal(tracing.samplerRatio, 0.25);
});

test("what cannot be honoured is refused at start, each key named", () => {
  assert.throws(() => loadConfig({ OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf" }), /OTEL_EXPORTER_OTLP_PROTOCOL: only http\/json is supported/);
  assert.throws(() => loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "grpc://collector:4317" }), /OTEL_EXPORTER_OTLP_ENDPOINT/);
  assert.throws(() => loadConfig({ OTEL_TRACES_SAMPLER: "sometimes" }), /OTEL_TRACES_SAMPLER/);
  assert.throws(() => loadConfig({ OTEL_RESOURCE_ATTRIBUTES: "novalue" }), /OTEL_RESOURCE_ATTRIBUTES: must be key=value pairs/);
});
