// Per-destination limits as data: connection cap, messages per connection, message rate, TLS
// requirement, SMTP timeouts and how hard to back off when throttled. A table has defaults and
// named entries; an entry applies to a delivery when its recipient domain or one of its MX hosts
// matches the entry's patterns, so every domain hosted at Google (MX *.google.com) gets the
// "google" entry whatever its own name. The shipped table (destination-limits.defaults.ts) and
// the operator's file (POSTHORN_DESTINATIONS_FILE, destination-limits.loader.ts) are both written
// in the form parsed here; the operator's entries merge field by field over the shipped ones.
import { z } from "zod";
import { parseDuration } from "../../shared/durations.js";
import { DEFAULT_SMTP_TIMEOUTS, type SmtpTimeouts } from "../smtp-client/smtp.timeouts.js";

export interface ThrottleSettings {
  /** First pause after a rate-limit reply; doubles with each further one, up to maxPauseMs. */
  pauseMs: number;
  maxPauseMs: number;
  /** Deliveries that must succeed before the reduced connection limit grows by one again. */
  recoveryMessages: number;
}

export interface DestinationLimits {
  maxConnections: number;
  maxMessagesPerConnection: number;
  /** A token bucket: `messages` per `perMs`, bursts of up to `burst`; null for no cap. */
  messageRate: { messages: number; perMs: number; burst: number } | null;
  /** No STARTTLS, or a failed one, defers rather than falling back to cleartext. */
  requireTls: boolean;
  timeouts: SmtpTimeouts;
  throttle: ThrottleSettings;
}

/** The limits that apply to one delivery, and who shares them. */
export interface AppliedLimits {
  /** The matching entry's name, or null for the defaults. */
  entry: string | null;
  limits: DestinationLimits;
}

export const BUILT_IN_LIMITS: Readonly<DestinationLimits> = Object.freeze({
  maxConnections: 10,
  maxMessagesPerConnection: 100,
  messageRate: null,
  requireTls: false,
  timeouts: DEFAULT_SMTP_TIMEOUTS,
  throttle: Object.freeze({ pauseMs: 60_000, maxPauseMs: 30 * 60_000, recoveryMessages: 20 }),
});

// ---- the file format --------------------------------------------------------------------------

// Written as a transform over unknown rather than a union, so the error says what is wrong with
// the value ("\"soon\" is not a duration") instead of zod's "Invalid input" for a failed union.
const durationMs = z.unknown().transform((value, ctx) => {
  if (typeof value === "number" && Number.isInteger(value) && value >= 1) return value;
  try {
    if (typeof value === "string") return parseDuration(value);
    throw new Error(`${JSON.stringify(value)} is not a duration (milliseconds, or e.g. 30s, 5m)`);
  } catch (err) {
    ctx.addIssue({ code: "custom", message: (err as Error).message });
    return z.NEVER;
  }
});

const RATE_UNITS_MS: Record<string, number> = { s: 1_000, sec: 1_000, second: 1_000, m: 60_000, min: 60_000, minute: 60_000, h: 3_600_000, hour: 3_600_000 };

/** "50/s", "600/min", "1000/h", or null for no cap. */
export function parseRate(text: string): { messages: number; perMs: number } {
  const match = /^\s*(\d+(?:\.\d+)?)\s*\/\s*([a-z]+)\s*$/i.exec(text);
  const perMs = match ? RATE_UNITS_MS[match[2]!.toLowerCase()] : undefined;
  if (!match || !perMs || Number(match[1]) <= 0) throw new Error(`"${text}" is not a rate (e.g. 50/s, 600/min, 1000/h)`);
  return { messages: Number(match[1]), perMs };
}

const rate = z.unknown().transform((value, ctx): { messages: number; perMs: number } | null => {
  if (value === null) return null;
  try {
    if (typeof value === "string") return parseRate(value);
    throw new Error(`${JSON.stringify(value)} is not a rate (e.g. "50/s", or null for none)`);
  } catch (err) {
    ctx.addIssue({ code: "custom", message: (err as Error).message });
    return z.NEVER;
  }
});

/** "example.com" or "*.example.com" (any subdomain, not the name itself). */
const pattern = z
  .string()
  .transform((s) => s.trim().toLowerCase().replace(/\.$/, ""))
  .pipe(z.string().regex(/^(\*\.)?[a-z0-9_-]+(\.[a-z0-9_-]+)*$/, "must be a domain name, optionally starting with *."));

const limitFields = {
  maxConnections: z.number().int().min(1).max(1000).optional(),
  maxMessagesPerConnection: z.number().int().min(1).max(100_000).optional(),
  messageRate: rate.optional(),
  /** Tokens the bucket holds, i.e. how many messages may leave at once; default one second's worth. */
  messageBurst: z.number().int().min(1).optional(),
  requireTls: z.boolean().optional(),
  timeouts: z
    .object({
      connect: durationMs.optional(),
      greeting: durationMs.optional(),
      mail: durationMs.optional(),
      rcpt: durationMs.optional(),
      dataInit: durationMs.optional(),
      dataBlock: durationMs.optional(),
      dataEnd: durationMs.optional(),
    })
    .strict()
    .optional(),
  throttle: z
    .object({ pause: durationMs.optional(), maxPause: durationMs.optional(), recoveryMessages: z.number().int().min(1).optional() })
    .strict()
    .optional(),
};

const entrySchema = z
  .object({
    /** Recipient domains this entry is for; an entry with neither list is for the domain it is named after. */
    domains: z.array(pattern).optional(),
    /** MX host names: a delivery whose route has a matching MX host uses this entry. */
    mx: z.array(pattern).optional(),
    ...limitFields,
  })
  .strict();

export const destinationsFileSchema = z
  .object({
    defaults: z.object(limitFields).strict().optional(),
    destinations: z.record(z.string().min(1), entrySchema).optional(),
  })
  .strict();

export type LimitsSpec = z.input<typeof destinationsFileSchema>;
type ParsedSpec = z.output<typeof destinationsFileSchema>;
type ParsedFields = z.output<z.ZodObject<typeof limitFields>>;
type ParsedEntry = NonNullable<ParsedSpec["destinations"]>[string];

export class DestinationLimitsError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`invalid destination limits in ${source}:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "DestinationLimitsError";
  }
}

/** Validates one table; throws DestinationLimitsError listing every problem. */
export function parseLimitsSpec(input: unknown, source: string): ParsedSpec {
  const parsed = destinationsFileSchema.safeParse(input);
  if (!parsed.success) {
    throw new DestinationLimitsError(source, parsed.error.issues.map((i) => `${i.path.join(".") || "(top level)"}: ${i.message}`));
  }
  const problems: string[] = [];
  for (const [name, entry] of Object.entries(parsed.data.destinations ?? {})) {
    if (!entry.domains && !entry.mx && !pattern.safeParse(name).success) {
      problems.push(`destinations.${name}: give "domains" or "mx", or name the entry after a domain`);
    }
  }
  if (problems.length > 0) throw new DestinationLimitsError(source, problems);
  return parsed.data;
}

// ---- compiled table ---------------------------------------------------------------------------

interface CompiledEntry {
  name: string;
  domains: string[];
  mx: string[];
  limits: DestinationLimits;
}

function matches(patternText: string, name: string): boolean {
  if (patternText.startsWith("*.")) return name.endsWith(patternText.slice(1));
  return name === patternText;
}

function applyFields(base: DestinationLimits, fields: ParsedFields): DestinationLimits {
  const t = fields.timeouts ?? {};
  const rateSpec = fields.messageRate === undefined ? undefined : fields.messageRate;
  let messageRate = base.messageRate;
  if (rateSpec === null) messageRate = null;
  else if (rateSpec) messageRate = { ...rateSpec, burst: Math.max(1, Math.round((rateSpec.messages * 1000) / rateSpec.perMs)) };
  if (messageRate && fields.messageBurst) messageRate = { ...messageRate, burst: fields.messageBurst };
  return {
    maxConnections: fields.maxConnections ?? base.maxConnections,
    maxMessagesPerConnection: fields.maxMessagesPerConnection ?? base.maxMessagesPerConnection,
    messageRate,
    requireTls: fields.requireTls ?? base.requireTls,
    timeouts: {
      connectMs: t.connect ?? base.timeouts.connectMs,
      greetingMs: t.greeting ?? base.timeouts.greetingMs,
      mailMs: t.mail ?? base.timeouts.mailMs,
      rcptMs: t.rcpt ?? base.timeouts.rcptMs,
      dataInitMs: t.dataInit ?? base.timeouts.dataInitMs,
      dataBlockMs: t.dataBlock ?? base.timeouts.dataBlockMs,
      dataEndMs: t.dataEnd ?? base.timeouts.dataEndMs,
    },
    throttle: {
      pauseMs: fields.throttle?.pause ?? base.throttle.pauseMs,
      maxPauseMs: fields.throttle?.maxPause ?? base.throttle.maxPauseMs,
      recoveryMessages: fields.throttle?.recoveryMessages ?? base.throttle.recoveryMessages,
    },
  };
}

/** Later layers win field by field; an entry's `domains` and `mx` lists are replaced, not merged. */
function mergeSpecs(layers: ParsedSpec[]): { defaults: ParsedFields[]; entries: Map<string, ParsedEntry[]> } {
  const defaults: ParsedFields[] = [];
  const entries = new Map<string, ParsedEntry[]>();
  for (const layer of layers) {
    if (layer.defaults) defaults.push(layer.defaults);
    for (const [name, entry] of Object.entries(layer.destinations ?? {})) {
      const key = name.toLowerCase();
      entries.set(key, [...(entries.get(key) ?? []), entry]);
    }
  }
  return { defaults, entries };
}

export class DestinationLimitsTable {
  private readonly entries: CompiledEntry[];
  private readonly byDomain = new Map<string, CompiledEntry>();
  private readonly cache = new Map<string, AppliedLimits>();
  readonly defaults: DestinationLimits;

  /** Layers in order of precedence, lowest first: built-in, shipped, environment, operator file. */
  constructor(layers: ParsedSpec[]) {
    const { defaults, entries } = mergeSpecs(layers);
    this.defaults = defaults.reduce(applyFields, BUILT_IN_LIMITS as DestinationLimits);
    this.entries = [...entries].map(([name, parts]) => {
      const last = <K extends "domains" | "mx">(key: K) => parts.reduce<string[] | undefined>((found, p) => p[key] ?? found, undefined);
      const domains = last("domains");
      const mx = last("mx");
      return {
        name,
        domains: domains ?? (mx ? [] : [name]),
        mx: mx ?? [],
        limits: parts.reduce(applyFields, this.defaults),
      };
    });
    for (const entry of this.entries) {
      for (const domain of entry.domains) if (!domain.startsWith("*.") && !this.byDomain.has(domain)) this.byDomain.set(domain, entry);
    }
  }

  get entryNames(): string[] {
    return this.entries.map((e) => e.name);
  }

  /**
   * The limits for mail to `domain` routed to `mxHosts`: an exact domain entry first, then a
   * wildcard domain entry, then the first entry (in table order) naming one of the MX hosts.
   */
  lookup(domain: string, mxHosts: readonly string[]): AppliedLimits {
    const name = domain.toLowerCase();
    const cacheKey = `${name} ${mxHosts.join(",")}`;
    const cached = this.cache.get(cacheKey);
    if (cached) return cached;
    const entry =
      this.byDomain.get(name) ??
      this.entries.find((e) => e.domains.some((p) => p.startsWith("*.") && matches(p, name))) ??
      this.entries.find((e) => e.mx.some((p) => mxHosts.some((host) => matches(p, host))));
    const applied: AppliedLimits = entry ? { entry: entry.name, limits: entry.limits } : { entry: null, limits: this.defaults };
    // Bounded: a busy MTA sees many domains; dropping the cache costs one scan per domain.
    if (this.cache.size >= 10_000) this.cache.clear();
    this.cache.set(cacheKey, applied);
    return applied;
  }
}
