import { test } from "node:test";
import assert from "node:assert/strict";
import { loadConfig, redactedConfig, ConfigError } from "./config.schema.js";

test("defaults give a working single-process setup on SQLite", () => {
  const config = loadConfig({});
  assert.equal(config.dataDir, "./data");
  assert.equal(config.http.port, 8080);
  assert.equal(config.databaseUrl, null);
  assert.equal(config.smtpRelay, null);
  assert.deepEqual(config.roles, ["api", "mta", "smtp", "worker"]);
  assert.equal(config.smtp.port, 2525);
  assert.equal(config.inbound.port, null, "the inbound MX listener is off unless configured");
  assert.deepEqual(config.delivery.retryScheduleMs, [300_000, 600_000, 1_200_000, 2_400_000, 3_600_000, 7_200_000, 14_400_000]);
  assert.equal(config.delivery.maxQueueAgeMs, 5 * 86_400_000);
  assert.ok(Object.isFrozen(config) && Object.isFrozen(config.delivery));
});

test("every bad key is reported in one error", () => {
  assert.throws(
    () =>
      loadConfig({
        POSTHORN_HTTP_PORT: "eighty",
        DATABASE_URL: "mysql://x",
        POSTHORN_SMTP_RELAY: "relay.example.com",
        POSTHORN_ROLES: "api,teleport",
        POSTHORN_RETRY_SCHEDULE: "5m,soon",
      }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      const keys = err.problems.map((p) => p.split(":")[0]).sort();
      assert.deepEqual(keys, ["DATABASE_URL", "POSTHORN_HTTP_PORT", "POSTHORN_RETRY_SCHEDULE", "POSTHORN_ROLES", "POSTHORN_SMTP_RELAY"]);
      return true;
    },
  );
});

test("unknown roles are refused with the list of known ones", () => {
  assert.throws(() => loadConfig({ POSTHORN_ROLES: "api,journeys" }), /unknown role\(s\) journeys; known: api, mta, smtp, worker/);
});

test("SMTP ports and the inbound domain", () => {
  const config = loadConfig({ POSTHORN_HOSTNAME: "MX.Example.com", POSTHORN_SMTP_SUBMISSION_PORT: "587", POSTHORN_SMTP_TLS_PORT: "465", POSTHORN_INBOUND_PORT: "25" });
  assert.equal(config.smtp.submissionPort, 587);
  assert.equal(config.smtp.implicitTlsPort, 465);
  assert.equal(config.inbound.port, 25);
  assert.equal(config.inbound.domain, "inbound.mx.example.com");
  assert.equal(loadConfig({ POSTHORN_INBOUND_DOMAIN: "in.example.org" }).inbound.domain, "in.example.org");
});

test("the relay URL and roles are parsed", () => {
  const config = loadConfig({ POSTHORN_SMTP_RELAY: "smtp://127.0.0.1:2525", POSTHORN_ROLES: "mta" });
  assert.deepEqual(config.smtpRelay, { host: "127.0.0.1", port: 2525 });
  assert.deepEqual(config.roles, ["mta"]);
});

test("the encryption key is accepted as base64 or hex, and nothing else", () => {
  const key = Buffer.alloc(32, 7);
  assert.deepEqual(loadConfig({ POSTHORN_ENCRYPTION_KEY: key.toString("base64") }).encryptionKey, key);
  assert.deepEqual(loadConfig({ POSTHORN_ENCRYPTION_KEY: key.toString("hex") }).encryptionKey, key);
  assert.throws(() => loadConfig({ POSTHORN_ENCRYPTION_KEY: "short" }), /POSTHORN_ENCRYPTION_KEY: must be 32 bytes/);
});

test("printing the config redacts the database password and the encryption key", () => {
  const key = Buffer.alloc(32, 9).toString("hex");
  const config = loadConfig({ DATABASE_URL: "postgres://posthorn:s3cret@db:5432/posthorn", POSTHORN_ENCRYPTION_KEY: key });
  const printed = JSON.stringify(redactedConfig(config));
  assert.equal(printed.includes("s3cret"), false);
  assert.equal(printed.includes(key), false);
  assert.match(printed, /"encryptionKey":"REDACTED"/);
  assert.match(printed, /postgres:\/\/posthorn:REDACTED@db:5432\/posthorn/);
});

test("SMTP settings: trusted networks as CIDR=workspace pairs, certificate and key together", () => {
  const config = loadConfig({ POSTHORN_SMTP_TRUSTED_NETWORKS: "127.0.0.0/8=default, ::1/128=default" });
  assert.deepEqual(config.smtp.trustedNetworks, [
    { cidr: "127.0.0.0/8", workspace: "default" },
    { cidr: "::1/128", workspace: "default" },
  ]);
  assert.equal(config.smtp.port, 2525);
  assert.throws(() => loadConfig({ POSTHORN_SMTP_TRUSTED_NETWORKS: "10.0.0.0/8" }), /POSTHORN_SMTP_TRUSTED_NETWORKS: expected CIDR=workspace/);
  assert.throws(() => loadConfig({ POSTHORN_SMTP_TLS_CERT: "/x.pem" }), /set both or neither/);
});
