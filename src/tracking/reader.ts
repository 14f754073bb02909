// Who fetched a tracking URL: the user agent parsed into Postmark's Client, OS and Platform
// (ua-parser-js 1.0.41, MIT; its 2.x is AGPL and is not used), whether the fetch was an image
// proxy's or a privacy prefetcher's rather than a person's, and where, from a local MaxMind-format
// database when one is configured (geo.ts). Nothing leaves the machine to find any of this.
import { createRequire } from "node:module";
import type { GeoData, ReaderData, UserAgentPart } from "../events/event-map.js";
import { PROXY_RULES, type ProxyRule } from "./proxy-rules.js";

interface UaResult {
  browser: { name?: string; version?: string };
  engine: { name?: string };
  os: { name?: string; version?: string };
  device: { type?: string; vendor?: string; model?: string };
}
const UAParser = createRequire(import.meta.url)("ua-parser-js") as new (ua: string) => { getResult(): UaResult };

/** User agents longer than this are cut before parsing and storing: no real one comes close. */
export const MAX_USER_AGENT_CHARS = 512;

const CLIENT_COMPANIES: Record<string, string> = {
  Chrome: "Google",
  "Chrome WebView": "Google",
  "Mobile Chrome": "Google",
  Firefox: "Mozilla",
  "Mobile Firefox": "Mozilla",
  Thunderbird: "Mozilla",
  Safari: "Apple Inc.",
  "Mobile Safari": "Apple Inc.",
  "Apple Mail": "Apple Inc.",
  Edge: "Microsoft",
  IE: "Microsoft",
  Outlook: "Microsoft",
  Opera: "Opera Software",
  "Samsung Browser": "Samsung",
};

const OS_COMPANIES: Record<string, string> = {
  Windows: "Microsoft Corporation",
  "Mac OS": "Apple Inc.",
  macOS: "Apple Inc.",
  iOS: "Apple Inc.",
  Android: "Google",
  "Chrome OS": "Google",
};

const DESKTOP_OS = new Set(["Windows", "Mac OS", "macOS", "Linux", "Ubuntu", "Debian", "Fedora", "Chrome OS", "FreeBSD"]);

export function readerOf(userAgentHeader: string | undefined, ip: string | null, geo: GeoData | null): ReaderData {
  const userAgent = (userAgentHeader ?? "").slice(0, MAX_USER_AGENT_CHARS);
  const proxy = PROXY_RULES.find((rule) => matches(rule, userAgent, ip));
  if (proxy) {
    // A proxy's own user agent and address say nothing about the reader: Gmail's claims to be
    // Firefox on Windows XP. Its place is the proxy's data centre, so no geo either.
    return { userAgent, client: proxy.client, os: unknownPart(), platform: proxy.platform, ip, geo: null, proxied: true };
  }
  const ua = new UAParser(userAgent).getResult();
  return { userAgent, client: clientOf(ua, userAgent), os: osOf(ua), platform: platformOf(ua), ip, geo, proxied: false };
}

function matches(rule: ProxyRule, userAgent: string, ip: string | null): boolean {
  if (rule.userAgent && !rule.userAgent.test(userAgent)) return false;
  if (rule.ipPrefix && !(ip && rule.ipPrefix.some((p) => ip.replace(/^::ffff:/i, "").startsWith(p)))) return false;
  return Boolean(rule.userAgent ?? rule.ipPrefix);
}

function clientOf(ua: UaResult, raw: string): UserAgentPart {
  // Outlook for Windows names itself only in its own token; the parser sees no browser in it.
  const outlook = /Microsoft Outlook ([\d.]+)/.exec(raw);
  if (outlook) return { name: `Outlook ${outlook[1]}`, company: "Microsoft", family: "Outlook" };
  let family = ua.browser.name ?? "";
  let version = ua.browser.version ?? "";
  // Apple Mail (macOS, iOS) sends WebKit's user agent with no browser token after it.
  if (family === "WebKit" && (ua.os.name === "iOS" || ua.os.name === "Mac OS") && !/Safari\//.test(raw)) {
    family = "Apple Mail";
    version = "";
  }
  if (!family) return unknownPart();
  return { name: version ? `${family} ${version}` : family, company: CLIENT_COMPANIES[family] ?? "unknown", family };
}

function osOf(ua: UaResult): UserAgentPart {
  const family = ua.os.name ?? "";
  if (!family) return unknownPart();
  const version = ua.os.version ?? "";
  return { name: version ? `${family} ${version}` : family, company: OS_COMPANIES[family] ?? "unknown", family };
}

function platformOf(ua: UaResult): ReaderData["platform"] {
  if (ua.device.type === "mobile" || ua.device.type === "tablet" || ua.device.type === "wearable") return "mobile";
  if (ua.os.name === "iOS" || ua.os.name === "Android") return "mobile";
  if (ua.os.name && DESKTOP_OS.has(ua.os.name)) return "desktop";
  return "unknown";
}

function unknownPart(): UserAgentPart {
  return { name: "unknown", company: "unknown", family: "unknown" };
}
