// The domain of each delivery's VERP return path: the From domain's own verified return-path
// domain (its pm-bounces CNAME to us, which aligns SPF with the From domain for DMARC), or the
// installation's default. Answers are cached for a minute: this runs for every delivery.
import type { Clock } from "../shared/clock.js";
import type { SendingDomainsService } from "./sending-domains.service.js";
import { domainOf } from "../shared/email-address.js";

const CACHE_MS = 60_000;
const CACHE_MAX = 10_000;

export function returnPathDomains(
  domains: Pick<SendingDomainsService, "verifiedReturnPath">,
  fallback: string,
  clock: Clock,
): (fromAddress: string) => Promise<string> {
  const cache = new Map<string, { domain: string; until: number }>();
  return async (fromAddress) => {
    const fromDomain = domainOf(fromAddress);
    const now = clock.now();
    const hit = cache.get(fromDomain);
    if (hit && hit.until > now) return hit.domain;
    const domain = (await domains.verifiedReturnPath(fromDomain)) ?? fallback;
    if (cache.size >= CACHE_MAX) cache.clear();
    cache.set(fromDomain, { domain, until: now + CACHE_MS });
    return domain;
  };
}
