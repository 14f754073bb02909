// Traces for real: a server started with OTEL_EXPORTER_OTLP_ENDPOINT pointing at a tiny OTLP/HTTP
// receiver (test/support/otlp-receiver.ts) sends through the API and SMTP to an SMTP sink; the
// spans that arrive make one trace from acceptance to the delivery attempt, named by route and
// carrying no address, body or token. Without the setting, the SDK is never loaded and nothing
// is stored or sent. The order matters: the first test must run before any SDK module is loaded.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { register } from "node:module";
import { MessageChannel } from "node:worker_threads";
import nodemailer from "nodemailer";
import type SMTPTransport from "nodemailer/lib/smtp-transport/index.js";
import { trace } from "@opentelemetry/api";
import { startTestServer, type TestServer } from "./support/server.js";
import { startSmtpSink, type SmtpSink } from "./support/smtp-sink.js";
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from "./support/otlp-receiver.js";
import { serverDatabases } from "./support/stores.js";

// Every module URL resolved from here on that belongs to the OpenTelemetry SDK (not the API).
const sdkModules: string[] = [];
const { port1, port2 } = new MessageChannel();
port1.on("message", (url: string) => sdkModules.push(url));
port1.unref();
const HOOK = `
let port;
export function initialize(data) { port = data.port; }
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  if (/@opentelemetry\\/(sdk-|exporter-|resources|core|otlp-)/.test(result.url)) port.postMessage(result.url);
  return result;
}`;
register(`data:text/javascript,${encodeURIComponent(HOOK)}`, import.meta.url, { data: { port: port2 }, transferList: [port2] });

let sink: SmtpSink;
let receiver: OtlpReceiver;

before(async () => {
  sink = await startSmtpSink();
  receiver = await startOtlpReceiver();
});

after(async () => {
  await sink.close();
  await receiver.close();
});

function serverEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    POSTHORN_SMTP_RELAY: `smtp://127.0.0.1:${sink.port}`,
    POSTHORN_SMTP_HOST: "127.0.0.1",
    POSTHORN_SMTP_ALLOW_INSECURE_AUTH: "true",
    ...extra,
  };
}

async function sendApi(server: TestServer, token: string, to: string, headers: Record<string, string> = {}): Promise<string> {
  const response = await fetch(`${server.url}/email`, {
    method: "POST",
    headers: { accept: "application/json", "content-type": "application/json", "x-postmark-server-token": token, ...headers },
    body: JSON.stringify({ From: "sender@origin.example", To: to, Subject: "subject-secret-1b7e", TextBody: "body-secret-9a41" }),
  });
  const json = (await response.json()) as { MessageID: string; ErrorCode: number };
  assert.equal(json.ErrorCode, 0);
  return json.MessageID;
}

async function sendSmtp(server: TestServer, token: string, to: string): Promise<string> {
  const transport = nodemailer.createTransport({ host: "127.0.0.1", port: server.app.smtp!.submission[0]!.port, secure: false, ignoreTLS: true, auth: { user: token, pass: token } } as SMTPTransport.Options);
  const info = await transport.sendMail({ from: "sender@origin.example", to, subject: "subject-secret-1b7e", text: "body-secret-9a41" });
  return /queued as ([0-9a-f-]{36})/.exec(info.response)![1]!;
}

async function storedTraceparent(server: TestServer, messageId: string): Promise<string | null> {
  const row = await server.app.services.store.db.selectFrom("messages").select("traceparent").where("id", "=", messageId).executeTakeFirstOrThrow();
  return row.traceparent ?? null;
}

test("without an OTLP endpoint no SDK module is loaded, no span is made and no trace context is stored", async () => {
  const server = await startTestServer(serverEnv());
  try {
    const token = await server.createWorkspace("untraced");
    const apiId = await sendApi(server, token, "reader@dest.example");
    await sink.waitForMessages(1, 30_000);
    assert.equal(trace.getTracer("probe").startSpan("probe").isRecording(), false, "the API is the no-op one");
    assert.equal(await storedTraceparent(server, apiId), null);
  } finally {
    await server.close();
  }
  assert.deepEqual(sdkModules, []);
  assert.deepEqual(receiver.requests, []);
  sink.messages.length = 0;
});

for (const target of serverDatabases()) test(`with OTEL_EXPORTER_OTLP_ENDPOINT, API and SMTP acceptance and each delivery attempt are one trace per message, and a Track API event, the journey step it triggers and the mail it sends another (${target.name})`, async () => {
  const database = await target.open();
  sink.messages.length = 0;
  receiver.spans.length = 0;
  const server = await startTestServer(
    serverEnv({ ...database.env, POSTHORN_JOURNEYS_POLL: "100ms", OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SERVICE_NAME: "posthorn-under-test", OTEL_RESOURCE_ATTRIBUTES: "deployment.environment=test,team=mail%20ops" }),
  );
  let token = "";
  let apiId = "";
  let smtpId = "";
  let callerId = "";
  const callerTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
  let journeyId = "";
  try {
    token = await server.createWorkspace("traced");
    journeyId = await trackIntoJourney(server, "traced");
    apiId = await sendApi(server, token, "api-reader@dest.example");
    smtpId = await sendSmtp(server, token, "smtp-reader@dest.example");
    // A caller's own trace (W3C traceparent) is continued.
    callerId = await sendApi(server, token, "caller-reader@dest.example", { traceparent: `00-${callerTrace}-00f067aa0ba902b7-01` });
    await sink.waitForMessages(4, 30_000);
    assert.match((await storedTraceparent(server, apiId)) ?? "", /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  } finally {
    // Stopping flushes the batch of spans still buffered.
    await server.close();
    await database.drop();
  }
  assert.ok(sdkModules.length > 0, "the SDK was loaded");
  const spans = receiver.spans;
  const named = (name: string, messageId: string) => spans.filter((s) => s.name === name && s.attributes["posthorn.message.id"] === messageId);
  const one = (list: ReceivedSpan[], what: string) => {
    assert.equal(list.length, 1, `one ${what} span (spans: ${spans.map((s) => s.name).join(", ")})`);
    return list[0]!;
  };

  // API: HTTP request → acceptance → attempt, parent to child, one trace id.
  const apiAccept = one(named("message.accept", apiId), "API acceptance");
  const request = one(spans.filter((s) => s.spanId === apiAccept.parentSpanId), "HTTP request");
  assert.equal(request.name, "HTTP POST /email");
  assert.equal(request.attributes["http.route"], "/email");
  assert.equal(request.attributes["http.response.status_code"], 200);
  assert.equal(request.kind, 2);
  assert.equal(apiAccept.traceId, request.traceId);
  assert.equal(apiAccept.attributes["posthorn.door"], "api");
  const apiAttempt = one(named("message.deliver", apiId), "API delivery attempt");
  assert.equal(apiAttempt.traceId, apiAccept.traceId);
  assert.equal(apiAttempt.parentSpanId, apiAccept.spanId);
  assert.equal(apiAttempt.attributes["posthorn.delivery.outcome"], "delivered");
  assert.equal(apiAttempt.attributes["posthorn.delivery.domain"], "dest.example");
  assert.equal(apiAttempt.kind, 3);

  // SMTP: acceptance (the root: no request span) → attempt.
  const smtpAccept = one(named("message.accept", smtpId), "SMTP acceptance");
  assert.equal(smtpAccept.attributes["posthorn.door"], "smtp");
  assert.equal(smtpAccept.kind, 2);
  const smtpAttempt = one(named("message.deliver", smtpId), "SMTP delivery attempt");
  assert.equal(smtpAttempt.traceId, smtpAccept.traceId);
  assert.equal(smtpAttempt.parentSpanId, smtpAccept.spanId);
  assert.notEqual(smtpAccept.traceId, apiAccept.traceId);

  // The caller's trace continues through acceptance to the attempt.
  assert.equal(one(named("message.deliver", callerId), "caller's attempt").traceId, callerTrace);

  // The resource says who sent them.
  assert.equal(apiAttempt.resource["service.name"], "posthorn-under-test");
  assert.equal(apiAttempt.resource["deployment.environment"], "test");
  assert.equal(apiAttempt.resource["team"], "mail ops");

  // Nothing that identifies a person or holds a secret: local parts, subject, body, token.
  const everything = JSON.stringify(spans);
  for (const secret of ["api-reader", "smtp-reader", "caller-reader", "sender@", "subject-secret-1b7e", "body-secret-9a41", token]) assert.ok(!everything.includes(secret), `a span holds ${secret}`);
  assert.ok(receiver.requests.every((r) => r.path === "/v1/traces" && r.contentType.startsWith("application/json")));

  // Track API event → journey step → the message it sends → its delivery attempt: one trace.
  const trackRequest = one(spans.filter((s) => s.name === "HTTP POST /api/v1/customers/:identifier/events"), "Track API event request");
  const steps = spans.filter((s) => s.name === "journey.step" && s.attributes["posthorn.journey.id"] === journeyId);
  const sending = one(steps.filter((s) => s.attributes["posthorn.journey.effect"] === "email"), "journey step that sends");
  assert.equal(sending.traceId, trackRequest.traceId);
  const journeyAttempt = one(spans.filter((s) => s.name === "message.deliver" && s.parentSpanId === sending.spanId), "journey mail's attempt");
  assert.equal(journeyAttempt.traceId, trackRequest.traceId);
  assert.equal(journeyAttempt.attributes["posthorn.delivery.outcome"], "delivered");
  assert.ok(!everything.includes("journey-reader"), "a span holds the person's address");
});

/** A live journey sending one email on `ordered`, and a person who then orders, through the Track API (plain HTTP, Basic auth). */
async function trackIntoJourney(server: TestServer, workspace: string): Promise<string> {
  const workspaceId = (await server.app.services.workspaces.get(workspace)).id;
  const journey = await server.app.services.journeys.create(
    workspaceId,
    { name: "Thanks", trigger: { event: { name: "ordered" } }, defaults: { from: "shop@origin.example" }, steps: [{ id: "thanks", type: "email", subject: "Thanks", text: "body-secret-9a41" }] },
    { state: "live" },
  );
  const creds = await server.app.services.workspaces.createTrackCredentials(workspace);
  const headers = { authorization: `Basic ${Buffer.from(`${creds.siteId}:${creds.apiKey}`).toString("base64")}`, "content-type": "application/json" };
  const identify = await fetch(`${server.url}/api/v1/customers/p1`, { method: "PUT", headers, body: JSON.stringify({ email: "journey-reader@dest.example" }) });
  assert.equal(identify.status, 200);
  const ordered = await fetch(`${server.url}/api/v1/customers/p1/events`, { method: "POST", headers, body: JSON.stringify({ name: "ordered", data: { total: 3 } }) });
  assert.equal(ordered.status, 200);
  return journey.journeyId;
}

test("a collector that never answers neither holds acceptance nor the shutdown past its bound", async () => {
  const { createServer } = await import("node:http");
  const held: import("node:http").ServerResponse[] = [];
  const silent = createServer((_req, res) => void held.push(res));
  await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
  const port = (silent.address() as import("node:net").AddressInfo).port;
  sink.messages.length = 0;
  const server = await startTestServer(serverEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}` }));
  try {
    const token = await server.createWorkspace("unheard");
    await sendApi(server, token, "unheard-reader@dest.example");
    await sink.waitForMessages(1, 30_000);
  } finally {
    const started = performance.now();
    await server.close();
    const took = performance.now() - started;
    assert.ok(took < 9_000, `the shutdown took ${Math.round(took)} ms`);
    for (const res of held) res.destroy();
    silent.close();
  }
});
