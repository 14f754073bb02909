// One schema over the environment, parsed once at start. Every bad key is reported in one error;
// the result is frozen and passed down. Nothing else reads process.env.
import { z } from "zod";
import { hostname as osHostname } from "node:os";
import { parseDurationList, parseDuration } from "../shared/durations.js";

export const ROLES = ["api", "mta", "smtp", "worker"] as const;
export type Role = (typeof ROLES)[number];
/** Roles this version can run; the others are named in DESIGN.md and arrive with their issues. */
export const AVAILABLE_ROLES: readonly Role[] = ["api", "mta", "smtp", "worker"];

const port = z.coerce.number().int().min(0).max(65535);
const duration = z.string().transform((value, ctx) => {
  try {
    return parseDuration(value);
  } catch (err) {
    ctx.addIssue({ code: "custom", message: (err as Error).message });
    return z.NEVER;
  }
});

const schema = z.object({
  POSTHORN_DATA_DIR: z.string().min(1).default("./data"),
  POSTHORN_HTTP_PORT: port.default(8080),
  POSTHORN_HTTP_HOST: z.string().min(1).default("0.0.0.0"),
  POSTHORN_HOSTNAME: z
    .string()
    .regex(/^[A-Za-z0-9.-]+$/, "must be a host name")
    .default(osHostname() || "localhost"),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "must be a postgres:// URL (leave unset for the embedded SQLite)")
    .optional(),
  POSTHORN_SMTP_RELAY: z
    .string()
    .regex(/^smtp:\/\/[^:/]+(:\d+)?\/?$/, "must look like smtp://host:port")
    .optional(),
  POSTHORN_ROLES: z
    .string()
    .default(AVAILABLE_ROLES.join(","))
    .transform((value, ctx) => {
      const roles = value.split(",").map((r) => r.trim()).filter(Boolean);
      const unknown = roles.filter((r) => !(ROLES as readonly string[]).includes(r));
      const unavailable = roles.filter((r) => (ROLES as readonly string[]).includes(r) && !(AVAILABLE_ROLES as readonly string[]).includes(r));
      if (unknown.length > 0 || roles.length === 0) {
        ctx.addIssue({ code: "custom", message: `unknown role(s) ${unknown.join(", ")}; known: ${AVAILABLE_ROLES.join(", ")}` });
        return z.NEVER;
      }
      if (unavailable.length > 0) {
        ctx.addIssue({ code: "custom", message: `role(s) ${unavailable.join(", ")} are not available in this version; available: ${AVAILABLE_ROLES.join(", ")}` });
        return z.NEVER;
      }
      return [...new Set(roles)] as Role[];
    }),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** Delay before each retry after a deferral; the last value repeats until the give-up age. */
  POSTHORN_RETRY_SCHEDULE: z
    .string()
    .default("5m,10m,20m,40m,1h,2h,4h")
    .transform((value, ctx) => {
      try {
        return parseDurationList(value);
      } catch (err) {
        ctx.addIssue({ code: "custom", message: (err as Error).message });
        return z.NEVER;
      }
    }),
  POSTHORN_MAX_QUEUE_AGE: duration.default(parseDuration("5d")),
  /** SMTP port used when delivering to MX hosts; 25 except in tests. */
  POSTHORN_DELIVERY_PORT: port.default(25),
  POSTHORN_DNS_SERVERS: z
    .string()
    .optional()
    .transform((value) => (value ? value.split(",").map((s) => s.trim()).filter(Boolean) : undefined)),
  POSTHORN_MTA_CONCURRENCY: z.coerce.number().int().min(1).max(10000).default(200),
  POSTHORN_MAX_CONNECTIONS_PER_DESTINATION: z.coerce.number().int().min(1).max(1000).default(10),
  POSTHORN_MAX_MESSAGES_PER_CONNECTION: z.coerce.number().int().min(1).max(100000).default(100),
  POSTHORN_SHUTDOWN_TIMEOUT: duration.default(parseDuration("20s")),
  POSTHORN_LEASE_DURATION: duration.default(parseDuration("5m")),
  /** 32-byte key (base64 or hex) that encrypts secrets at rest, such as DKIM private keys. */
  POSTHORN_ENCRYPTION_KEY: z
    .string()
    .refine((v) => decodeKey(v) !== null, "must be 32 bytes, base64 or hex encoded")
    .optional(),
  /** Also sign with an Ed25519 key (RFC 8463) next to the RSA signature. */
  POSTHORN_DKIM_ED25519: z.enum(["true", "false", "1", "0"]).default("false"),
  /** How often sending domains' DNS records are checked again. */
  POSTHORN_DOMAIN_RECHECK_INTERVAL: duration.default(parseDuration("1h")),
  /** Envelope senders that name each delivery (VERP), so that asynchronous bounces can be matched. */
  POSTHORN_VERP: z.enum(["true", "false", "1", "0"]).default("true"),
  /** Domain of the VERP return paths when the From domain has no verified return-path domain of its own. */
  POSTHORN_RETURN_PATH_DOMAIN: z.string().regex(/^[A-Za-z0-9.-]+$/, "must be a domain name").optional(),
  /** Send RFC 3464 failure notices to the From address of API mail too (SMTP mail asks per message). */
  POSTHORN_DSN_FOR_API: z.enum(["true", "false", "1", "0"]).default("false"),
  /** SMTP submission (role smtp): port with STARTTLS. */
  POSTHORN_SMTP_PORT: port.default(2525),
  POSTHORN_SMTP_HOST: z.string().min(1).default("0.0.0.0"),
  /** PEM files; when unset, a self-signed certificate is generated in the data directory. */
  POSTHORN_SMTP_TLS_CERT: z.string().min(1).optional(),
  POSTHORN_SMTP_TLS_KEY: z.string().min(1).optional(),
  /** Allow AUTH without TLS (loopback tests only). */
  POSTHORN_SMTP_ALLOW_INSECURE_AUTH: z.enum(["true", "false", "1", "0"]).default("false"),
  /** CIDR=workspace pairs, comma-separated: clients there may submit without AUTH (like Postfix's mynetworks). */
  POSTHORN_SMTP_TRUSTED_NETWORKS: z
    .string()
    .optional()
    .transform((value, ctx) => {
      if (!value) return [];
      const pairs = value.split(",").map((p) => p.trim()).filter(Boolean);
      const parsed = pairs.map((p) => /^([0-9a-fA-F:.]+\/\d{1,3})=([A-Za-z0-9._-]{1,64})$/.exec(p));
      const bad = pairs.filter((_, i) => !parsed[i]);
      if (bad.length > 0) {
        ctx.addIssue({ code: "custom", message: `expected CIDR=workspace pairs, e.g. 127.0.0.0/8=default; got ${bad.join(", ")}` });
        return z.NEVER;
      }
      return parsed.map((m) => ({ cidr: m![1]!, workspace: m![2]! }));
    }),
  /** Optional second submission port with STARTTLS (587, RFC 6409). */
  POSTHORN_SMTP_SUBMISSION_PORT: port.optional(),
  /** Optional implicit-TLS submission port (465, RFC 8314). */
  POSTHORN_SMTP_TLS_PORT: port.optional(),
  /** Inbound MX listener (role smtp): bounces, complaints and inbound streams. Off unless set. */
  POSTHORN_INBOUND_PORT: port.optional(),
  POSTHORN_INBOUND_HOST: z.string().min(1).default("0.0.0.0"),
  /** The shared inbound domain: <workspace inbound hash>@<this> reaches that workspace's inbound stream. */
  POSTHORN_INBOUND_DOMAIN: z.string().regex(/^[A-Za-z0-9.-]+$/, "must be a domain name").optional(),
  /** Largest inbound message, in bytes (Postmark accepts 35 MB inbound). */
  POSTHORN_INBOUND_MAX_MESSAGE_SIZE: z.coerce.number().int().min(1024).max(100 * 1024 * 1024).default(35 * 1024 * 1024),
  /** Wait before the first retry of a failed inbound webhook; it doubles per attempt (10 attempts in all). */
  POSTHORN_INBOUND_HOOK_BACKOFF: duration.default(parseDuration("1m")),
  /** How long one inbound webhook post may take; a claim is held for three times this. */
  POSTHORN_INBOUND_HOOK_TIMEOUT: duration.default(parseDuration("10s")),
  /** Largest message accepted over SMTP, in bytes (announced with SIZE; 552 5.3.4 beyond). */
  POSTHORN_SMTP_MAX_MESSAGE_SIZE: z.coerce.number().int().min(1024).max(100 * 1024 * 1024).default(10 * 1024 * 1024),
  /** JSON file of per-destination limits (connections, rates, TLS), reloaded when it changes. */
  POSTHORN_DESTINATIONS_FILE: z.string().min(1).optional(),
});

/** A 32-byte key from its base64 or hex text, or null when it is neither. */
export function decodeKey(text: string): Buffer | null {
  const trimmed = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return Buffer.from(trimmed, "hex");
  const bytes = Buffer.from(trimmed, "base64");
  return bytes.length === 32 && /^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed) ? bytes : null;
}

export type Config = Readonly<{
  dataDir: string;
  http: { port: number; host: string };
  hostname: string;
  databaseUrl: string | null;
  smtpRelay: { host: string; port: number } | null;
  roles: readonly Role[];
  logLevel: string;
  delivery: {
    retryScheduleMs: readonly number[];
    maxQueueAgeMs: number;
    port: number;
    dnsServers: readonly string[] | null;
    concurrency: number;
    maxConnectionsPerDestination: number;
    maxMessagesPerConnection: number;
    leaseMs: number;
  };
  shutdownTimeoutMs: number;
  /** From POSTHORN_ENCRYPTION_KEY; when null, a key file in the data directory is used (created on first start). */
  encryptionKey: Buffer | null;
  dkim: { ed25519: boolean; recheckIntervalMs: number };
  destinationsFile: string | null;
  envelope: { verp: boolean; returnPathDomain: string };
  dsnForApi: boolean;
  smtp: {
    port: number;
    host: string;
    tls: { certFile: string; keyFile: string } | null;
    allowInsecureAuth: boolean;
    trustedNetworks: ReadonlyArray<{ cidr: string; workspace: string }>;
    maxMessageBytes: number;
    submissionPort: number | null;
    implicitTlsPort: number | null;
  };
  inbound: {
    /** null: no inbound listener. */
    port: number | null;
    host: string;
    domain: string;
    maxMessageBytes: number;
    hookBackoffMs: number;
    hookTimeoutMs: number;
  };
}>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/** Parses the environment once; throws ConfigError listing every bad key. */
export function loadConfig(env: NodeJS.ProcessEnv): Config {
  const input: Record<string, string> = {};
  for (const key of Object.keys(schema.shape)) {
    const value = env[key];
    if (value !== undefined && value !== "") input[key] = value;
  }
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`));
  }
  const e = parsed.data;
  if (Boolean(e.POSTHORN_SMTP_TLS_CERT) !== Boolean(e.POSTHORN_SMTP_TLS_KEY)) {
    throw new ConfigError(["POSTHORN_SMTP_TLS_CERT and POSTHORN_SMTP_TLS_KEY: set both or neither"]);
  }
  let relay: Config["smtpRelay"] = null;
  if (e.POSTHORN_SMTP_RELAY) {
    const url = new URL(e.POSTHORN_SMTP_RELAY);
    relay = { host: url.hostname, port: url.port ? Number(url.port) : 25 };
  }
  return deepFreeze({
    dataDir: e.POSTHORN_DATA_DIR,
    http: { port: e.POSTHORN_HTTP_PORT, host: e.POSTHORN_HTTP_HOST },
    hostname: e.POSTHORN_HOSTNAME,
    databaseUrl: e.DATABASE_URL ?? null,
    smtpRelay: relay,
    roles: e.POSTHORN_ROLES,
    logLevel: e.LOG_LEVEL,
    delivery: {
      retryScheduleMs: e.POSTHORN_RETRY_SCHEDULE,
      maxQueueAgeMs: e.POSTHORN_MAX_QUEUE_AGE,
      port: e.POSTHORN_DELIVERY_PORT,
      dnsServers: e.POSTHORN_DNS_SERVERS ?? null,
      concurrency: e.POSTHORN_MTA_CONCURRENCY,
      maxConnectionsPerDestination: e.POSTHORN_MAX_CONNECTIONS_PER_DESTINATION,
      maxMessagesPerConnection: e.POSTHORN_MAX_MESSAGES_PER_CONNECTION,
      leaseMs: e.POSTHORN_LEASE_DURATION,
    },
    shutdownTimeoutMs: e.POSTHORN_SHUTDOWN_TIMEOUT,
    encryptionKey: e.POSTHORN_ENCRYPTION_KEY ? decodeKey(e.POSTHORN_ENCRYPTION_KEY) : null,
    dkim: { ed25519: e.POSTHORN_DKIM_ED25519 === "true" || e.POSTHORN_DKIM_ED25519 === "1", recheckIntervalMs: e.POSTHORN_DOMAIN_RECHECK_INTERVAL },
    destinationsFile: e.POSTHORN_DESTINATIONS_FILE ?? null,
    dsnForApi: e.POSTHORN_DSN_FOR_API === "true" || e.POSTHORN_DSN_FOR_API === "1",
    smtp: {
      port: e.POSTHORN_SMTP_PORT,
      host: e.POSTHORN_SMTP_HOST,
      tls: e.POSTHORN_SMTP_TLS_CERT && e.POSTHORN_SMTP_TLS_KEY ? { certFile: e.POSTHORN_SMTP_TLS_CERT, keyFile: e.POSTHORN_SMTP_TLS_KEY } : null,
      allowInsecureAuth: e.POSTHORN_SMTP_ALLOW_INSECURE_AUTH === "true" || e.POSTHORN_SMTP_ALLOW_INSECURE_AUTH === "1",
      trustedNetworks: e.POSTHORN_SMTP_TRUSTED_NETWORKS,
      maxMessageBytes: e.POSTHORN_SMTP_MAX_MESSAGE_SIZE,
      submissionPort: e.POSTHORN_SMTP_SUBMISSION_PORT ?? null,
      implicitTlsPort: e.POSTHORN_SMTP_TLS_PORT ?? null,
    },
    inbound: {
      port: e.POSTHORN_INBOUND_PORT ?? null,
      host: e.POSTHORN_INBOUND_HOST,
      domain: (e.POSTHORN_INBOUND_DOMAIN ?? `inbound.${e.POSTHORN_HOSTNAME}`).toLowerCase(),
      maxMessageBytes: e.POSTHORN_INBOUND_MAX_MESSAGE_SIZE,
      hookBackoffMs: e.POSTHORN_INBOUND_HOOK_BACKOFF,
      hookTimeoutMs: e.POSTHORN_INBOUND_HOOK_TIMEOUT,
    },
    envelope: {
      verp: e.POSTHORN_VERP === "true" || e.POSTHORN_VERP === "1",
      returnPathDomain: (e.POSTHORN_RETURN_PATH_DOMAIN ?? e.POSTHORN_HOSTNAME).toLowerCase(),
    },
  });
}

/** The config as printed by --print-config: credentials in URLs replaced. */
export function redactedConfig(config: Config): Record<string, unknown> {
  const copy = JSON.parse(JSON.stringify({ ...config, encryptionKey: config.encryptionKey ? "REDACTED" : null })) as Record<string, unknown>;
  if (typeof copy.databaseUrl === "string") copy.databaseUrl = redactUrl(copy.databaseUrl);
  return copy;
}

export function redactUrl(raw: string): string {
  try {
    const url = new URL(raw);
    if (url.password) url.password = "REDACTED";
    return url.toString();
  } catch {
    return "REDACTED";
  }
}

function deepFreeze<T>(value: T): T {
  // Typed arrays (the key Buffer) cannot be frozen; they are never handed out for writing.
  if (value && typeof value === "object" && !ArrayBuffer.isView(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
