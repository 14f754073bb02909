// deploy/docker-compose.yml, tested without Docker: parsed with `yaml`, its ${…} interpolation
// resolved as compose does, and its facts checked — PostgreSQL with a healthcheck that Posthorn
// waits for, a DATABASE_URL that names that service, user and database, settings that Posthorn
// reads and accepts (loadConfig), ports and volume that match the image, a stop grace period above
// the shutdown timeout. Then the posthorn service's environment is given to the image's command
// against this machine's PostgreSQL (the host name swapped for 127.0.0.1) and it serves.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parse } from "yaml";
import { loadConfig } from "../src/config/config.schema.js";
import { parseDuration } from "../src/shared/durations.js";
import { tempDir } from "./support/server.js";
import { unreadKeys } from "./support/deploy-keys.js";
import { createTempDatabase } from "./support/stores.js";
import { startDeployed } from "./support/deployed-process.js";

const ROOT = resolve(import.meta.dirname, "../..");
const COMPOSE_FILE = resolve(ROOT, "deploy/docker-compose.yml");

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[]; interval: string; retries: number };
  ports?: string[];
  volumes?: string[];
  stop_grace_period?: string;
}

/** Compose's interpolation: ${VAR}, ${VAR:-default}, ${VAR:?error} from `vars` (a missing required one throws, as compose does). */
function interpolate(text: string, vars: Record<string, string>): string {
  return text.replace(/\$\{([A-Z0-9_]+)(?::([-?])([^}]*))?\}/g, (_m, name: string, kind: string | undefined, rest: string) => {
    const value = vars[name];
    if (value !== undefined && value !== "") return value;
    if (kind === "-") return rest;
    if (kind === "?") throw new Error(`${name}: ${rest}`);
    return "";
  });
}

const SECRETS = { POSTGRES_PASSWORD: "s3cret-pw", POSTHORN_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString("base64") };
const raw = readFileSync(COMPOSE_FILE, "utf8");
const compose = parse(interpolate(raw, SECRETS)) as { services: Record<string, Service>; volumes: Record<string, unknown> };
const { postgres, posthorn } = compose.services as { postgres: Service; posthorn: Service };

test("the compose file refuses to start without its two secrets", () => {
  assert.throws(() => interpolate(raw, { POSTHORN_ENCRYPTION_KEY: SECRETS.POSTHORN_ENCRYPTION_KEY }), /POSTGRES_PASSWORD: set POSTGRES_PASSWORD/);
  assert.throws(() => interpolate(raw, { POSTGRES_PASSWORD: "x" }), /POSTHORN_ENCRYPTION_KEY: set POSTHORN_ENCRYPTION_KEY/);
});

test("compose runs PostgreSQL with a healthcheck that Posthorn waits for, and Posthorn from deploy/Dockerfile", () => {
  assert.deepEqual(Object.keys(compose.services).sort(), ["postgres", "posthorn"]);
  assert.match(postgres.image!, /^postgres:\d+/);
  assert.deepEqual(postgres.healthcheck!.test, ["CMD-SHELL", `pg_isready -U ${postgres.environment!.POSTGRES_USER} -d ${postgres.environment!.POSTGRES_DB}`]);
  assert.deepEqual(posthorn.depends_on, { postgres: { condition: "service_healthy" } });
  assert.ok(existsSync(resolve(ROOT, "deploy", posthorn.build!.context, posthorn.build!.dockerfile)), "the build names the Dockerfile, relative to its context");
  // Both data stores are named volumes, declared; Posthorn's at the image's data directory.
  assert.ok(postgres.volumes!.includes("postgres-data:/var/lib/postgresql/data"));
  const dataDir = /POSTHORN_DATA_DIR=(\S+)/.exec(readFileSync(resolve(ROOT, "deploy/Dockerfile"), "utf8"))![1];
  assert.ok(posthorn.volumes!.includes(`posthorn-data:${dataDir}`));
  assert.deepEqual(Object.keys(compose.volumes).sort(), ["postgres-data", "posthorn-data"]);
});

test("Posthorn's environment in compose is settings it reads, valid, pointing at the postgres service", () => {
  const env = posthorn.environment!;
  assert.deepEqual(unreadKeys(Object.keys(env)), []);
  const config = loadConfig(env);
  const url = new URL(config.databaseUrl!);
  assert.equal(url.hostname, "postgres", "the service's name on compose's network");
  assert.equal(url.username, postgres.environment!.POSTGRES_USER);
  assert.equal(decodeURIComponent(url.password), postgres.environment!.POSTGRES_PASSWORD);
  assert.equal(url.pathname, `/${postgres.environment!.POSTGRES_DB}`);
  assert.deepEqual([...config.roles].sort(), ["api", "mta", "smtp", "worker"]);
  assert.ok(config.encryptionKey, "a key shared by every process, not a file in one container");

  // Published ports are the ones the process listens on (the image's defaults, or these settings).
  const containerPorts = posthorn.ports!.map((p) => p.split(":").at(-1));
  assert.ok(containerPorts.includes(String(config.http.port)));
  assert.ok(containerPorts.includes(String(config.smtp.port)));
  assert.ok(containerPorts.includes(env.POSTHORN_METRICS_LISTEN!.split(":").at(-1)));
  assert.ok(posthorn.ports!.includes("127.0.0.1:9464:9464"), "metrics are not published to the world");

  // Docker sends SIGKILL after stop_grace_period: it must exceed the drain Posthorn is allowed.
  assert.ok(parseDuration(posthorn.stop_grace_period!) > config.shutdownTimeoutMs, `${posthorn.stop_grace_period} > ${config.shutdownTimeoutMs} ms`);
});

test("the compose service's environment, given to the image's command, serves on this machine's PostgreSQL", { timeout: 60_000, skip: process.env.TEST_DATABASE_URL ? false : "TEST_DATABASE_URL is not set" }, async () => {
  const database = await createTempDatabase(process.env.TEST_DATABASE_URL!);
  const dir = tempDir();
  const cmd = /^CMD (\[.*\])$/m.exec(readFileSync(resolve(ROOT, "deploy/Dockerfile"), "utf8"))![1]!;
  const [command, ...args] = JSON.parse(cmd) as string[];
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "",
    ...posthorn.environment!,
    // The service's host name is compose's; here the same database server is on loopback.
    DATABASE_URL: database.url,
    POSTHORN_DATA_DIR: dir.path,
    POSTHORN_HTTP_PORT: "0",
    POSTHORN_HTTP_HOST: "127.0.0.1",
    POSTHORN_SMTP_PORT: "0",
    POSTHORN_SMTP_HOST: "127.0.0.1",
    POSTHORN_DNS_SERVERS: "127.0.0.1:9",
    POSTHORN_METRICS_LISTEN: "127.0.0.1:0",
  };
  const deployed = await startDeployed(command!, args, ROOT, env).catch(async (err: unknown) => {
    dir.remove();
    await database.drop();
    throw err;
  });
  const { child, exited } = deployed;
  try {
    assert.match(deployed.output(), /database: PostgreSQL/);
    assert.equal((await fetch(`${deployed.apiUrl}/healthz`)).status, 200);
    child.kill("SIGTERM");
    assert.equal(await exited, 0, deployed.output());
  } finally {
    child.kill("SIGKILL");
    dir.remove();
    await database.drop();
  }
});
