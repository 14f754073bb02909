// deploy/helm/posthorn, tested without helm or a cluster (neither is on the build machine): the
// chart is rendered by test/support/helm-subset.ts (the documented subset of Helm's template
// language the chart keeps to), with its default values and with overrides, every document is
// parsed with `yaml`, and the facts are checked: kinds and apiVersions, selectors that match the
// pods they mean, probes on the paths Posthorn serves and on the port it listens on, a non-root
// read-only container, a grace period above the shutdown timeout, and env names and values that
// src/config reads and accepts. The same checks are shown to catch a broken override.
// NOT done here: `helm template` / `helm lint` and kubeconform against Kubernetes' schemas.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parse, parseAllDocuments } from "yaml";
import { loadConfig } from "../src/config/config.schema.js";
import { parseDuration } from "../src/shared/durations.js";
import { HelmSubset } from "./support/helm-subset.js";
import { unreadKeys } from "./support/deploy-keys.js";
import { startTestServer } from "./support/server.js";

const ROOT = resolve(import.meta.dirname, "../..");
const CHART = resolve(ROOT, "deploy/helm/posthorn");
const TEMPLATES = resolve(CHART, "templates");

// Parsed Kubernetes objects are walked field by field and each step is checked; typing every kind
// would copy much of the Kubernetes API into a test.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
type Doc = { apiVersion: string; kind: string; metadata: { name: string; labels: Record<string, string> }; spec: Json; stringData?: Record<string, string> };

const chartYaml = parse(readFileSync(resolve(CHART, "Chart.yaml"), "utf8")) as { name: string; version: string; appVersion: string; apiVersion: string };
const defaults = parse(readFileSync(resolve(CHART, "values.yaml"), "utf8")) as Record<string, unknown>;
const renderer = new HelmSubset(Object.fromEntries(readdirSync(TEMPLATES).map((f) => [f, readFileSync(resolve(TEMPLATES, f), "utf8")])));

/** Helm's merge of user values over the chart's: maps merge key by key, anything else replaces. */
function merge(base: unknown, over: unknown): unknown {
  if (!over || typeof over !== "object" || Array.isArray(over) || !base || typeof base !== "object" || Array.isArray(base)) return over === undefined ? base : over;
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(over)) out[k] = merge(out[k], v);
  return out;
}

function render(overrides: Record<string, unknown> = {}): Doc[] {
  const root = {
    Values: merge(defaults, overrides),
    Release: { Name: "acme", Namespace: "mail", Service: "Helm" },
    Chart: { Name: chartYaml.name, Version: chartYaml.version, AppVersion: chartYaml.appVersion },
  };
  return Object.values(renderer.render(root)).flatMap((text) =>
    parseAllDocuments(text).flatMap((doc) => {
      if (doc.errors.length > 0) throw new Error(`${doc.errors[0]!.message}\n${text}`);
      const value = doc.toJS() as Doc | null;
      return value ? [value] : [];
    }),
  );
}

const API_VERSIONS: Record<string, string> = { Deployment: "apps/v1", Service: "v1", PodDisruptionBudget: "policy/v1", HorizontalPodAutoscaler: "autoscaling/v2", Secret: "v1" };
const SECRET_VALUES = { DATABASE_URL: "postgres://posthorn:pw@db:5432/posthorn", POSTHORN_ENCRYPTION_KEY: Buffer.alloc(32, 1).toString("base64") };
const uid = Number(/useradd --system --uid (\d+)/.exec(readFileSync(resolve(ROOT, "deploy/Dockerfile"), "utf8"))![1]);

const matches = (selector: Record<string, string>, labels: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);

/** Every fact the chart's output must hold, as a list of what is wrong (empty: all hold). */
function problems(docs: Doc[]): string[] {
  const found: string[] = [];
  const deployments = docs.filter((d) => d.kind === "Deployment");
  const secrets = docs.filter((d) => d.kind === "Secret");
  for (const doc of docs) {
    if (API_VERSIONS[doc.kind] !== doc.apiVersion) found.push(`${doc.kind} ${doc.metadata.name}: apiVersion ${doc.apiVersion}`);
    if (doc.metadata.labels["app.kubernetes.io/instance"] !== "acme") found.push(`${doc.kind} ${doc.metadata.name}: no instance label`);
  }
  for (const d of deployments) {
    const name = d.metadata.name;
    const pod = d.spec.template;
    if (!matches(d.spec.selector.matchLabels, pod.metadata.labels)) found.push(`${name}: selector does not match its pods`);
    if (deployments.filter((o) => matches(d.spec.selector.matchLabels, o.spec.template.metadata.labels)).length !== 1) found.push(`${name}: selector matches other Deployments' pods`);
    const [container, ...more] = pod.spec.containers as Json[];
    if (more.length > 0) found.push(`${name}: more than one container`);
    const env = Object.fromEntries((container.env as Array<{ name: string; value?: string; valueFrom?: Json }>).map((e) => [e.name, e]));
    const unread = unreadKeys(Object.keys(env));
    if (unread.length > 0) found.push(`${name}: env ${unread.join(", ")} is not read by Posthorn`);
    for (const e of Object.values(env)) {
      const ref = e.valueFrom?.secretKeyRef;
      if (!ref) continue;
      const secret = secrets.find((s) => s.metadata.name === ref.name);
      if (ref.name !== "posthorn" && !secret) found.push(`${name}: secret ${ref.name} is not rendered`);
      if (secret && !(ref.key in secret.stringData!)) found.push(`${name}: secret ${ref.name} has no key ${ref.key}`);
    }
    // The values are valid Posthorn settings (secrets stand in for the Secret's).
    const values = Object.fromEntries(Object.entries(env).map(([k, e]) => [k, e.value ?? SECRET_VALUES[k as keyof typeof SECRET_VALUES]]));
    let config: ReturnType<typeof loadConfig>;
    try {
      config = loadConfig(values);
    } catch (err) {
      found.push(`${name}: ${(err as Error).message}`);
      continue;
    }
    const role = pod.metadata.labels["app.kubernetes.io/component"];
    if (config.roles.join() !== role) found.push(`${name}: runs roles ${config.roles.join()} (label ${role})`);
    if (pod.spec.terminationGracePeriodSeconds * 1000 <= config.shutdownTimeoutMs) found.push(`${name}: grace ${pod.spec.terminationGracePeriodSeconds}s is not above the shutdown timeout ${config.shutdownTimeoutMs} ms`);

    // Probes: the metrics listener's paths, on the container port POSTHORN_METRICS_LISTEN binds.
    const ports = Object.fromEntries((container.ports as Array<{ name: string; containerPort: number }>).map((p) => [p.name, p.containerPort]));
    const listenPort = Number(String(env.POSTHORN_METRICS_LISTEN?.value ?? "").split(":").at(-1));
    for (const [probe, path] of [["startupProbe", "/healthz"], ["livenessProbe", "/healthz"], ["readinessProbe", "/readyz"]] as const) {
      const get = container[probe]?.httpGet;
      if (get?.path !== path) found.push(`${name}: ${probe} is not GET ${path}`);
      else if (ports[get.port] !== listenPort) found.push(`${name}: ${probe} port ${get.port} is not the metrics listener's ${listenPort}`);
    }
    if (role === "api" && ports.http !== config.http.port) found.push(`${name}: http port ${ports.http} is not POSTHORN_HTTP_PORT ${config.http.port}`);
    if (role === "smtp" && ports.smtp !== config.smtp.port) found.push(`${name}: smtp port ${ports.smtp} is not POSTHORN_SMTP_PORT ${config.smtp.port}`);
    if (config.smtp.tls) {
      const mounts = (container.volumeMounts as Array<{ name: string; mountPath: string }>).map((m) => m.mountPath);
      if (!mounts.some((m) => config.smtp.tls!.certFile.startsWith(`${m}/`))) found.push(`${name}: the TLS certificate's directory is not mounted`);
    }

    const security = { ...pod.spec.securityContext, ...container.securityContext };
    if (security.runAsNonRoot !== true || security.runAsUser !== uid) found.push(`${name}: not running as the image's user ${uid}`);
    if (security.readOnlyRootFilesystem !== true || security.allowPrivilegeEscalation !== false) found.push(`${name}: root filesystem writable or privilege escalation allowed`);
    if (!container.resources?.requests?.cpu || !container.resources?.requests?.memory) found.push(`${name}: no resource requests`);
    const hpa = docs.find((o) => o.kind === "HorizontalPodAutoscaler" && o.spec.scaleTargetRef.name === name);
    if (hpa && "replicas" in d.spec) found.push(`${name}: sets replicas although an HPA scales it`);
    if (!hpa && !(d.spec.replicas >= 1)) found.push(`${name}: no replicas`);
    if (docs.filter((o) => o.kind === "PodDisruptionBudget" && matches(o.spec.selector.matchLabels, pod.metadata.labels)).length !== 1) found.push(`${name}: not covered by one PodDisruptionBudget`);
  }
  for (const s of docs.filter((o) => o.kind === "Service")) {
    const selected = deployments.filter((d) => matches(s.spec.selector, d.spec.template.metadata.labels));
    if (selected.length !== 1) {
      found.push(`Service ${s.metadata.name}: selects ${selected.length} Deployments`);
      continue;
    }
    const containerPorts = (selected[0]!.spec.template.spec.containers[0].ports as Array<{ name: string }>).map((p) => p.name);
    for (const p of s.spec.ports as Array<{ targetPort: string }>) if (!containerPorts.includes(p.targetPort)) found.push(`Service ${s.metadata.name}: no container port ${p.targetPort}`);
  }
  for (const h of docs.filter((o) => o.kind === "HorizontalPodAutoscaler")) {
    if (!deployments.some((d) => d.metadata.name === h.spec.scaleTargetRef.name)) found.push(`HPA ${h.metadata.name}: no Deployment ${h.spec.scaleTargetRef.name}`);
    if (!(h.spec.minReplicas >= 1 && h.spec.maxReplicas >= h.spec.minReplicas)) found.push(`HPA ${h.metadata.name}: replicas ${h.spec.minReplicas}..${h.spec.maxReplicas}`);
  }
  return found;
}

const kinds = (docs: Doc[]) => docs.map((d) => `${d.kind}/${d.metadata.name}`).sort();

test("with default values the chart renders one Deployment, PodDisruptionBudget per role and a Service for api and smtp, all consistent", () => {
  assert.equal(chartYaml.apiVersion, "v2");
  const docs = render();
  assert.deepEqual(kinds(docs), [
    ...["api", "mta", "smtp", "worker"].map((r) => `Deployment/acme-posthorn-${r}`),
    ...["api", "mta", "smtp", "worker"].map((r) => `PodDisruptionBudget/acme-posthorn-${r}`),
    "Service/acme-posthorn-api",
    "Service/acme-posthorn-smtp",
  ]);
  assert.deepEqual(problems(docs), []);
  // The Secret is the operator's (values.yaml's default existingSecret) and is referenced, not made.
  const env = docs.find((d) => d.metadata.name === "acme-posthorn-mta")!.spec.template.spec.containers[0].env as Array<{ name: string; valueFrom?: Json }>;
  assert.deepEqual(env.find((e) => e.name === "DATABASE_URL")!.valueFrom, { secretKeyRef: { name: "posthorn", key: "DATABASE_URL" } });
  assert.equal(docs.find((d) => d.metadata.name === "acme-posthorn-smtp" && d.kind === "Service")!.spec.type, "LoadBalancer");
});

test("with overrides: the chart's own Secret, HPAs for api and worker, a TLS secret for smtp, a longer shutdown and extra settings", () => {
  const docs = render({
    database: { existingSecret: "", url: SECRET_VALUES.DATABASE_URL },
    encryptionKey: SECRET_VALUES.POSTHORN_ENCRYPTION_KEY,
    roles: { api: { autoscaling: { enabled: true } }, worker: { autoscaling: { enabled: true } }, smtp: { replicas: 3 } },
    smtpTlsSecret: "smtp-cert",
    shutdownTimeoutSeconds: 45,
    terminationGracePeriodSeconds: 60,
    env: { POSTHORN_LEASE_DURATION: "30s", LOG_LEVEL: "debug" },
  });
  assert.deepEqual(problems(docs), []);
  const hpas = docs.filter((d) => d.kind === "HorizontalPodAutoscaler");
  assert.deepEqual(hpas.map((h) => h.spec.scaleTargetRef.name).sort(), ["acme-posthorn-api", "acme-posthorn-worker"]);
  assert.equal(hpas[0]!.spec.metrics[0].resource.target.averageUtilization, 70);
  const secret = docs.find((d) => d.kind === "Secret")!;
  assert.deepEqual(secret.stringData, SECRET_VALUES);
  const smtp = docs.find((d) => d.kind === "Deployment" && d.metadata.name === "acme-posthorn-smtp")!;
  assert.equal(smtp.spec.replicas, 3);
  assert.deepEqual(smtp.spec.template.spec.volumes.at(-1), { name: "smtp-tls", secret: { secretName: "smtp-cert" } });
  const env = Object.fromEntries((smtp.spec.template.spec.containers[0].env as Array<{ name: string; value?: string }>).map((e) => [e.name, e.value]));
  assert.equal(env.POSTHORN_SHUTDOWN_TIMEOUT, "45s");
  assert.equal(env.POSTHORN_LEASE_DURATION, "30s");
  assert.equal(env.POSTHORN_SMTP_TLS_CERT, "/etc/posthorn/tls/tls.crt");
});

test("the checks catch a broken chart: an unknown setting, a grace period under the shutdown timeout, a root user, an invalid value", () => {
  const docs = render({ env: { POSTHORN_NO_SUCH_SETTING: "1", LOG_LEVEL: "loud" }, shutdownTimeoutSeconds: 40, terminationGracePeriodSeconds: 30, podSecurityContext: { runAsUser: 0 } });
  const found = problems(docs).filter((p) => p.startsWith("acme-posthorn-api:"));
  assert.equal(found.length, 2, found.join("\n"));
  assert.equal(found[0], "acme-posthorn-api: env POSTHORN_NO_SUCH_SETTING is not read by Posthorn");
  assert.match(found[1]!, /^acme-posthorn-api: invalid configuration:\n {2}- LOG_LEVEL: /);
  const valid = problems(render({ shutdownTimeoutSeconds: 40, terminationGracePeriodSeconds: 30, podSecurityContext: { runAsUser: 0 } }));
  assert.ok(valid.includes("acme-posthorn-worker: grace 30s is not above the shutdown timeout 40000 ms"), valid.join("\n"));
  assert.ok(valid.includes("acme-posthorn-worker: not running as the image's user 10001"), valid.join("\n"));
});

test("the chart refuses to render its own Secret without a database URL and an encryption key", () => {
  assert.throws(() => render({ database: { existingSecret: "" } }), /required: database\.url \(postgres:\/\/…\) or database\.existingSecret is required/);
  assert.throws(() => render({ database: { existingSecret: "", url: SECRET_VALUES.DATABASE_URL } }), /required: encryptionKey/);
});

test("the subset renderer refuses what it does not implement, rather than render it wrong", () => {
  const root = { Values: { a: { b: 1 } } };
  assert.throws(() => new HelmSubset({ "x.yaml": "{{ with .Values.a }}{{ .b }}{{ end }}" }).render(root), /outside the supported subset: \{\{ with \.Values\.a \}\}/);
  assert.throws(() => new HelmSubset({ "x.yaml": "{{ .Values.a | b64enc }}" }).render(root), /function "b64enc" is outside the supported subset/);
  assert.throws(() => new HelmSubset({ "x.yaml": "{{ .Values.a }}" }).render(root), /use toYaml/);
  assert.equal(new HelmSubset({ "x.yaml": "a:\n  {{- toYaml .Values.a | nindent 2 }}\n{{- range $k, $v := .Values.a }}\n{{ $k }}={{ $v | quote }}{{ end }}" }).render(root)["x.yaml"], 'a:\n  b: 1\nb="1"');
});

test("the probes' paths are served: /healthz answers 200 and /readyz 200 or 503, never 404", async () => {
  const server = await startTestServer({ POSTHORN_ROLES: "api" });
  try {
    const paths = new Set(render().flatMap((d) => (d.kind === "Deployment" ? ["startupProbe", "livenessProbe", "readinessProbe"].map((p) => d.spec.template.spec.containers[0][p].httpGet.path as string) : [])));
    assert.deepEqual([...paths].sort(), ["/healthz", "/readyz"]);
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    assert.ok([200, 503].includes((await fetch(`${server.url}/readyz`)).status));
  } finally {
    await server.close();
  }
});

test("the grace period of the default values is above the shutdown timeout Posthorn uses when none is set", () => {
  const unset = loadConfig({}).shutdownTimeoutMs;
  assert.equal(unset, parseDuration(`${String(defaults.shutdownTimeoutSeconds)}s`), "values.yaml states Posthorn's own default");
  assert.ok(Number(defaults.terminationGracePeriodSeconds) * 1000 > unset);
});
