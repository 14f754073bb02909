// Fetches that are not a person reading: mail providers that fetch images through their own
// proxies, and privacy features that fetch every image of every message as it arrives. Policy as
// data: each rule names what it recognizes, and reader.ts applies the first that matches. Such a
// fetch is recorded (with proxied = true) but is never a delivery's first open or first click, so
// the unique-open counts and PostFirstOpenOnly webhooks follow people.
//
// - Gmail (web and apps) fetches images through GoogleImageProxy when the message is opened, so
//   its fetch does mean an open, but by a proxy that hides the reader's client, OS and place.
// - Yahoo Mail's proxy (YahooMailProxy) likewise.
// - Apple Mail Privacy Protection (iOS 15+, macOS 12+) prefetches images on Apple's servers when
//   mail arrives, opened or not. Its fetches come from Apple's network (17.0.0.0/8) with a bare
//   "Mozilla/5.0" user agent; either sign marks one. A person whose own Mac sits in 17.0.0.0/8
//   (Apple's staff) is counted as prefetched: a false "not human" is preferred to a false open.
// - Microsoft and other link scanners are not recognized: they present browser user agents.
import type { ReaderData, UserAgentPart } from "../events/event-map.js";

export interface ProxyRule {
  name: string;
  /** All given conditions must hold. */
  userAgent?: RegExp;
  /** IPv4 prefixes as text ("17."), the simplest form that covers the /8s used. */
  ipPrefix?: string[];
  client: UserAgentPart;
  platform: ReaderData["platform"];
}

export const PROXY_RULES: readonly ProxyRule[] = [
  { name: "Gmail image proxy", userAgent: /GoogleImageProxy|ggpht\.com/i, client: { name: "Gmail", company: "Google", family: "Gmail" }, platform: "webmail" },
  { name: "Yahoo Mail proxy", userAgent: /YahooMailProxy/i, client: { name: "Yahoo Mail", company: "Yahoo", family: "Yahoo Mail" }, platform: "webmail" },
  { name: "Apple Mail Privacy Protection (user agent)", userAgent: /^Mozilla\/5\.0$/, client: appleMpp(), platform: "unknown" },
  { name: "Apple Mail Privacy Protection (Apple's network)", ipPrefix: ["17."], client: appleMpp(), platform: "unknown" },
];

function appleMpp(): UserAgentPart {
  return { name: "Apple Mail Privacy Protection", company: "Apple Inc.", family: "Apple Mail Privacy Protection" };
}
