// A configuration fragment: the environment keys one domain or edge owns, declared beside its code
// (<domain>.config.ts), and how they become its part of Config. config.schema.ts composes every
// fragment into one schema and parses the environment once; this file holds what fragments share.
//
// What a fragment may read: its own keys, and the process-wide part (process.config.ts: host
// name, roles, ...), handed to it the way shared/ is to every domain. A default that depends on
// the host name (the inbound domain, the return-path domain) is therefore written beside the key
// it defaults, in its own fragment, where the domain's knowledge is. A fragment never reads
// another domain's keys: that would tie two domains through configuration, which the dependency
// rule (DESIGN.md) forbids through code.
import { z } from "zod";
import { parseDuration, parseDurationList } from "../shared/durations.js";
import type { ProcessConfigPart } from "./process.config.js";

/** The parsed values of a fragment's keys (defaults applied, transforms run). */
export type ParsedKeys<Keys extends z.ZodRawShape> = z.output<z.ZodObject<Keys>>;

export interface ConfigFragment<Keys extends z.ZodRawShape, Part extends object, Context = ProcessConfigPart> {
  /** Names the fragment in errors about the composition itself ("declared by both mta and smtp"). */
  readonly name: string;
  /** Its environment keys: each with its schema, default and doc comment. */
  readonly keys: Keys;
  /**
   * Rules across its own keys (a certificate needs its key). They run once every key of every
   * fragment parsed, since they need parsed values; each problem names its keys.
   */
  check?(env: ParsedKeys<Keys>): string[];
  /** Its part of Config. Method syntax on purpose: fragments of every shape fit one list. */
  toConfig(env: ParsedKeys<Keys>, context: Context): Part;
  /** The printable form of the parts of its Config that are secrets (for --print-config). */
  redact?(part: Part): { [K in keyof Part]?: unknown };
}

/** Declares a fragment; the identity function, there for the types. */
export function configFragment<Keys extends z.ZodRawShape, Part extends object, Context = ProcessConfigPart>(
  fragment: ConfigFragment<Keys, Part, Context>,
): ConfigFragment<Keys, Part, Context> {
  return fragment;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a list of fragments of every shape
export type AnyConfigFragment = ConfigFragment<z.ZodRawShape, object, any>;

/**
 * One schema over the keys of all fragments, and which fragment owns each key. Throws when two
 * fragments declare the same key: which of them would configure it is a question to settle in the
 * code, and the composition runs when config.schema.ts loads, so the start fails at once.
 */
export function composeFragments(fragments: readonly AnyConfigFragment[]): { schema: z.ZodObject<z.ZodRawShape>; owners: ReadonlyMap<string, string> } {
  const owners = new Map<string, string>();
  const shape: Record<string, z.core.$ZodType> = {};
  for (const fragment of fragments) {
    for (const [key, field] of Object.entries(fragment.keys)) {
      const owner = owners.get(key);
      if (owner !== undefined) throw new Error(`configuration key ${key} is declared by both the ${owner} and the ${fragment.name} fragments`);
      owners.set(key, fragment.name);
      shape[key] = field;
    }
  }
  return { schema: z.object(shape), owners };
}

/** The values of a fragment's own keys, out of the values of all keys. */
export function keysOf<Keys extends z.ZodRawShape>(fragment: { keys: Keys }, parsed: Record<string, unknown>): ParsedKeys<Keys> {
  const own: Record<string, unknown> = {};
  for (const key of Object.keys(fragment.keys)) own[key] = parsed[key];
  return own as ParsedKeys<Keys>;
}

// Field types that several fragments use.

export const port = z.coerce.number().int().min(0).max(65535);

/** "5m", "30s", "250ms" → milliseconds. */
export const duration = z.string().transform((value, ctx) => {
  try {
    return parseDuration(value);
  } catch (err) {
    ctx.addIssue({ code: "custom", message: (err as Error).message });
    return z.NEVER;
  }
});

/** "5m,10m,1h" → milliseconds each. */
export const durationList = z.string().transform((value, ctx) => {
  try {
    return parseDurationList(value);
  } catch (err) {
    ctx.addIssue({ code: "custom", message: (err as Error).message });
    return z.NEVER;
  }
});

/** true/false/1/0 → a boolean. */
export function flag(defaultValue: boolean) {
  return z
    .enum(["true", "false", "1", "0"])
    .default(defaultValue ? "true" : "false")
    .transform((value) => value === "true" || value === "1");
}

export const hostName = z.string().regex(/^[A-Za-z0-9.-]+$/, "must be a host name");
export const domainName = z.string().regex(/^[A-Za-z0-9.-]+$/, "must be a domain name");

/** A URL with its password replaced, for printing. */
export function redactUrl(raw: string): string {
  try {
    const url = new URL(raw);
    if (url.password) url.password = "REDACTED";
    return url.toString();
  } catch {
    return "REDACTED";
  }
}
