// Configuration of sending domains: DKIM signing and the recheck of their DNS records.
import { parseDuration } from "../shared/durations.js";
import { configFragment, duration, flag } from "../config/config.fragment.js";

export interface SendingDomainsConfigPart {
  dkim: { ed25519: boolean; recheckIntervalMs: number };
}

export const sendingDomainsConfig = configFragment({
  name: "sending-domains",
  keys: {
    /** Also sign with an Ed25519 key (RFC 8463) next to the RSA signature. */
    POSTHORN_DKIM_ED25519: flag(false),
    /** How often sending domains' DNS records are checked again. */
    POSTHORN_DOMAIN_RECHECK_INTERVAL: duration.default(parseDuration("1h")),
  },
  toConfig: (e): SendingDomainsConfigPart => ({
    dkim: { ed25519: e.POSTHORN_DKIM_ED25519, recheckIntervalMs: e.POSTHORN_DOMAIN_RECHECK_INTERVAL },
  }),
});
