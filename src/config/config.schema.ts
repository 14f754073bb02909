// One schema over the environment, composed from the fragments that domains and edges declare
// beside their code (<domain>.config.ts; see config.fragment.ts for what a fragment may read).
// Parsed once at start: every bad key is reported in one error; the result is frozen and passed
// down. Nothing else reads process.env.
import { composeFragments, keysOf, type AnyConfigFragment } from "./config.fragment.js";
import { processConfig, type ProcessConfigPart } from "./process.config.js";
import { storeConfig, type StoreConfigPart } from "../store/store.config.js";
import { httpConfig, type HttpConfigPart } from "../api/http.config.js";
import { mtaConfig, type MtaConfigPart } from "../mta/mta.config.js";
import { sendingDomainsConfig, type SendingDomainsConfigPart } from "../sending-domains/sending-domains.config.js";
import { smtpConfig, type SmtpConfigPart } from "../smtp/smtp.config.js";
import { inboundConfig, type InboundConfigPart } from "../inbound/inbound.config.js";
import { sendersConfig, type SendersConfigPart } from "../senders/senders.config.js";
import { trackingConfig, type TrackingConfigPart } from "../tracking/tracking.config.js";
import { webhooksConfig, type WebhooksConfigPart } from "../webhooks/webhooks.config.js";
import { trackApiConfig, type TrackApiConfigPart } from "../api/track/track.config.js";
import { peopleConfig, type PeopleConfigPart } from "../people/people.config.js";
import { segmentsConfig, type SegmentsConfigPart } from "../segments/segments.config.js";
import { journeysConfig, type JourneysConfigPart } from "../journeys/journeys.config.js";
import { observabilityConfig, type ObservabilityConfigPart } from "../observability/observability.config.js";
import { retentionConfig, type RetentionConfigPart } from "../retention/retention.config.js";
import { tracingConfig, type TracingConfigPart } from "../observability/tracing.config.js";

export { ROLES, AVAILABLE_ROLES, decodeKey, type Role } from "./process.config.js";
export { redactUrl } from "./config.fragment.js";

/** The fragments built on the process-wide part, in the order their parts appear in Config. */
const DOMAIN_FRAGMENTS = [storeConfig, httpConfig, mtaConfig, sendingDomainsConfig, smtpConfig, inboundConfig, sendersConfig, trackingConfig, webhooksConfig, trackApiConfig, peopleConfig, segmentsConfig, journeysConfig, observabilityConfig, retentionConfig, tracingConfig] as const;

/** Every fragment, the process-wide one first. */
export const CONFIG_FRAGMENTS: readonly AnyConfigFragment[] = [processConfig, ...DOMAIN_FRAGMENTS];

/** Fails at start when two fragments declare the same key. */
const { schema, owners } = composeFragments(CONFIG_FRAGMENTS);

/** Every configuration key and the fragment that declares it. */
export const CONFIG_KEYS: ReadonlyMap<string, string> = owners;

export type Config = Readonly<
  ProcessConfigPart & StoreConfigPart & HttpConfigPart & MtaConfigPart & SendingDomainsConfigPart & SmtpConfigPart & InboundConfigPart & SendersConfigPart & TrackingConfigPart & WebhooksConfigPart & TrackApiConfigPart & PeopleConfigPart & SegmentsConfigPart & JourneysConfigPart & ObservabilityConfigPart & RetentionConfigPart & TracingConfigPart
>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/** Parses the environment once; throws ConfigError listing every bad key. */
export function loadConfig(env: NodeJS.ProcessEnv): Config {
  const input: Record<string, string> = {};
  for (const key of owners.keys()) {
    const value = env[key];
    if (value !== undefined && value !== "") input[key] = value;
  }
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`));
  }
  const values = parsed.data as Record<string, unknown>;
  const problems = CONFIG_FRAGMENTS.flatMap((fragment) => fragment.check?.(keysOf(fragment, values)) ?? []);
  if (problems.length > 0) throw new ConfigError(problems);

  const processPart = processConfig.toConfig(keysOf(processConfig, values), undefined);
  const config: Record<string, unknown> = { ...processPart };
  const builtBy = new Map<string, string>(Object.keys(processPart).map((key) => [key, processConfig.name]));
  for (const fragment of DOMAIN_FRAGMENTS as readonly AnyConfigFragment[]) {
    const part = fragment.toConfig(keysOf(fragment, values), processPart);
    for (const [key, value] of Object.entries(part)) {
      // Two fragments building one part of Config would silently overwrite each other.
      const other = builtBy.get(key);
      if (other !== undefined) throw new Error(`Config.${key} is built by both the ${other} and the ${fragment.name} fragments`);
      builtBy.set(key, fragment.name);
      config[key] = value;
    }
  }
  return deepFreeze(config as Config);
}

/** The config as printed by --print-config: each fragment replaces its secrets (credentials in URLs, keys). */
export function redactedConfig(config: Config): Record<string, unknown> {
  const printable: Record<string, unknown> = { ...config };
  for (const fragment of CONFIG_FRAGMENTS) Object.assign(printable, fragment.redact?.(config));
  return JSON.parse(JSON.stringify(printable)) as Record<string, unknown>;
}

function deepFreeze<T>(value: T): T {
  // Typed arrays (the key Buffer) cannot be frozen; they are never handed out for writing.
  if (value && typeof value === "object" && !ArrayBuffer.isView(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
