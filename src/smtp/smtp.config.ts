// Configuration of SMTP submission (role smtp): its ports, TLS, AUTH and trusted networks. The MX
// listener's keys belong to the inbound fragment (src/inbound/inbound.config.ts), except the two
// session deadlines, which hold for every SMTP listener of the edge (session-deadlines.ts).
import { z } from "zod";
import { configFragment, duration, flag, port } from "../config/config.fragment.js";
import { parseDuration } from "../shared/durations.js";

export interface SmtpConfigPart {
  smtp: {
    port: number;
    host: string;
    tls: { certFile: string; keyFile: string } | null;
    allowInsecureAuth: boolean;
    trustedNetworks: ReadonlyArray<{ cidr: string; workspace: string }>;
    maxMessageBytes: number;
    submissionPort: number | null;
    implicitTlsPort: number | null;
    thread: boolean;
    /** Concurrent sessions per client address on the submission ports. */
    sessionsPerClient: number;
    /** Every SMTP listener (submission and MX): a command line, and the whole DATA, must arrive within these. */
    commandTimeoutMs: number;
    dataTimeoutMs: number;
  };
}

export const smtpConfig = configFragment({
  name: "smtp",
  keys: {
    /** SMTP submission port with STARTTLS (0 picks a free one). */
    POSTHORN_SMTP_PORT: port.default(2525),
    /** Listen address of the submission ports. */
    POSTHORN_SMTP_HOST: z.string().min(1).default("0.0.0.0"),
    /** PEM files; when unset, a self-signed certificate is generated in the data directory. */
    POSTHORN_SMTP_TLS_CERT: z.string().min(1).optional(),
    POSTHORN_SMTP_TLS_KEY: z.string().min(1).optional(),
    /** Allow AUTH without TLS (loopback tests only). */
    POSTHORN_SMTP_ALLOW_INSECURE_AUTH: flag(false),
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
    /** Run the submission listeners in their own thread (their protocol work on another core). */
    POSTHORN_SMTP_THREAD: flag(true),
    /** Largest message accepted over SMTP, in bytes (announced with SIZE; 552 5.3.4 beyond). */
    POSTHORN_SMTP_MAX_MESSAGE_SIZE: z.coerce.number().int().min(1024).max(100 * 1024 * 1024).default(10 * 1024 * 1024),
    /** Concurrent submission sessions per client address (an IPv6 /64 counts as one); 421 4.7.0 beyond. */
    POSTHORN_SMTP_SESSIONS_PER_CLIENT: z.coerce.number().int().min(1).max(100_000).default(100),
    /** Every SMTP listener: a command line must be complete within this of our previous reply (RFC 5321 §4.5.3.2.7); 421 4.4.2 beyond. */
    POSTHORN_SMTP_COMMAND_TIMEOUT: duration.default(parseDuration("5m")),
    /** Every SMTP listener: the whole message after DATA must arrive within this (RFC 5321 §4.5.3.2); 421 4.4.2 beyond. */
    POSTHORN_SMTP_DATA_TIMEOUT: duration.default(parseDuration("10m")),
  },
  check: (e) =>
    Boolean(e.POSTHORN_SMTP_TLS_CERT) !== Boolean(e.POSTHORN_SMTP_TLS_KEY) ? ["POSTHORN_SMTP_TLS_CERT and POSTHORN_SMTP_TLS_KEY: set both or neither"] : [],
  toConfig: (e): SmtpConfigPart => ({
    smtp: {
      port: e.POSTHORN_SMTP_PORT,
      host: e.POSTHORN_SMTP_HOST,
      tls: e.POSTHORN_SMTP_TLS_CERT && e.POSTHORN_SMTP_TLS_KEY ? { certFile: e.POSTHORN_SMTP_TLS_CERT, keyFile: e.POSTHORN_SMTP_TLS_KEY } : null,
      allowInsecureAuth: e.POSTHORN_SMTP_ALLOW_INSECURE_AUTH,
      trustedNetworks: e.POSTHORN_SMTP_TRUSTED_NETWORKS,
      maxMessageBytes: e.POSTHORN_SMTP_MAX_MESSAGE_SIZE,
      submissionPort: e.POSTHORN_SMTP_SUBMISSION_PORT ?? null,
      implicitTlsPort: e.POSTHORN_SMTP_TLS_PORT ?? null,
      thread: e.POSTHORN_SMTP_THREAD,
      sessionsPerClient: e.POSTHORN_SMTP_SESSIONS_PER_CLIENT,
      commandTimeoutMs: e.POSTHORN_SMTP_COMMAND_TIMEOUT,
      dataTimeoutMs: e.POSTHORN_SMTP_DATA_TIMEOUT,
    },
  }),
});
