// Configuration of the process as a whole: which roles it runs, its name, its logs, its shutdown
// and the key that seals secrets. Every other fragment may build on this part (it is handed to
// their toConfig), as every domain may use shared/; none may read another domain's keys.
import { z } from "zod";
import { hostname as osHostname } from "node:os";
import { parseDuration } from "../shared/durations.js";
import { configFragment, duration, hostName } from "./config.fragment.js";

export const ROLES = ["api", "mta", "smtp", "worker"] as const;
export type Role = (typeof ROLES)[number];
/** Roles this version can run; the others are named in DESIGN.md and arrive with their issues. */
export const AVAILABLE_ROLES: readonly Role[] = ["api", "mta", "smtp", "worker"];

/** A 32-byte key from its base64 or hex text, or null when it is neither. */
export function decodeKey(text: string): Buffer | null {
  const trimmed = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return Buffer.from(trimmed, "hex");
  const bytes = Buffer.from(trimmed, "base64");
  return bytes.length === 32 && /^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed) ? bytes : null;
}

export interface ProcessConfigPart {
  hostname: string;
  roles: readonly Role[];
  logLevel: string;
  /** From LOG_FORMAT; null: pretty when stdout is a terminal, JSON lines otherwise (decided by `start`). */
  logFormat: "json" | "pretty" | null;
  shutdownTimeoutMs: number;
  /** From POSTHORN_ENCRYPTION_KEY; when null, a key file in the data directory is used (created on first start). */
  encryptionKey: Buffer | null;
}

export const processConfig = configFragment({
  name: "process",
  keys: {
    /** Name used in EHLO and Message-IDs; the default of the inbound and return-path domains. */
    POSTHORN_HOSTNAME: hostName.default(osHostname() || "localhost"),
    /** Which roles this process runs, comma-separated. */
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
    /** pino log level. */
    LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
    /** Log lines as JSON (for collectors) or pretty (for a person); unset: pretty on a terminal, JSON otherwise. */
    LOG_FORMAT: z.enum(["json", "pretty"]).optional(),
    /** How long SIGTERM waits for in-flight work before the process exits. */
    POSTHORN_SHUTDOWN_TIMEOUT: duration.default(parseDuration("20s")),
    /** 32-byte key (base64 or hex) that encrypts secrets at rest, such as DKIM private keys. */
    POSTHORN_ENCRYPTION_KEY: z
      .string()
      .refine((v) => decodeKey(v) !== null, "must be 32 bytes, base64 or hex encoded")
      .optional(),
  },
  toConfig: (e, _context: void): ProcessConfigPart => ({
    hostname: e.POSTHORN_HOSTNAME,
    roles: e.POSTHORN_ROLES,
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT ?? null,
    shutdownTimeoutMs: e.POSTHORN_SHUTDOWN_TIMEOUT,
    encryptionKey: e.POSTHORN_ENCRYPTION_KEY ? decodeKey(e.POSTHORN_ENCRYPTION_KEY) : null,
  }),
  redact: (part) => ({ encryptionKey: part.encryptionKey ? "REDACTED" : null }),
});
